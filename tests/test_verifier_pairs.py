"""The verifier's training pairs: a rewording trained as a support keeps the claim it rewords."""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from evaluator import Evaluator
from evaluator.bank.statements import reference_units

ROOT = Path(__file__).resolve().parent.parent
_NEGATION = re.compile(r"不(?!过|同|一样)|[没无未]|非(?!常)")  # 「不过」 is "but", 「非常」 "very"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _pairs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_verifier_pairs", ROOT / "scripts" / "build_verifier_pairs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.xfail(
    strict=True,
    reason="the shipped verifier was trained with 「不足」 among the words for 缺点 (44 of 9,766 rewordings "
    "garbled); the script stays as it was so that the weights can be rebuilt: drop it when retraining",
)
def test_a_rewording_keeps_every_negation_and_adds_no_number(evaluator: Evaluator) -> None:
    pairs = _pairs_script()
    rng = random.Random(17)
    texts = [u for q in evaluator.bank for u in reference_units(q)]
    reworded = [(t, pairs.reword(t, rng)) for t in texts]
    changed = [(t, r) for t, r in reworded if r]
    assert len(changed) > 0.6 * len(texts)  # most statements can be said another way
    for text, new in changed:
        assert len(_NEGATION.findall(new)) == len(_NEGATION.findall(text)), (text, new)
        assert set(_NUMBER.findall(new)) <= set(_NUMBER.findall(text)), (text, new)


def test_a_word_is_never_exchanged_right_after_a_negation() -> None:
    pairs = _pairs_script()
    for seed in range(50):
        assert pairs._swap_word("这一步不需要梯度", random.Random(seed)) in (None, "这一步不需要gradient")

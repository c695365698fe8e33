"""Every seed interview question lands on its bank entry through the real matcher."""

from __future__ import annotations

from pathlib import Path

from evaluator import Evaluator
from evaluator.bank_check import COVERAGE_FILE, load_coverage

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_file_is_valid_and_large() -> None:
    items, problems = load_coverage(ROOT / COVERAGE_FILE)
    assert problems == []
    assert len(items) >= 300
    assert {i.seed for i in items} >= {"000_3098d3cab1b04b1f.txt", "001_a9495fbc5b202c4d.txt",
                                       "002_4fb3e7b75989c964.txt", "003_320f2a8836ad91d3.txt",
                                       "004_753eb5d5f78c85d7.txt"}  # fmt: skip


def test_every_seed_question_matches_its_entry(evaluator: Evaluator) -> None:
    items, _ = load_coverage(ROOT / COVERAGE_FILE)
    wrong = []
    for item in items:
        m = evaluator.match(question=item.text)
        if not m.confident or m.candidates[0].id != item.id:
            wrong.append(f"{item.text!r} -> {m.candidates[0].id} (confident={m.confident}), expected {item.id}")
    assert wrong == []


def test_every_coverage_text_is_an_alias_of_its_entry(evaluator: Evaluator) -> None:
    """Seed phrasings are listed as aliases, so the bank keeps them even if matching changes."""
    items, _ = load_coverage(ROOT / COVERAGE_FILE)
    squash = lambda t: "".join(t.split()).rstrip("?？")  # noqa: E731
    missing = [
        (i.id, i.text) for i in items if squash(i.text) not in {squash(p) for p in evaluator.bank.get(i.id).phrasings}
    ]
    assert missing == []

"""The blind set: user-typed variants of bank questions, written by someone who saw only each entry's
canonical question (not its aliases, reference or rubric), plus questions the bank does not have.
It was committed before the matcher was tuned and is never fitted on; this test only measures."""

from __future__ import annotations

from pathlib import Path

from evaluator import Evaluator
from evaluator.matching.quality import load_cases, measure

BLIND = Path(__file__).resolve().parent / "data" / "matching_blind.jsonl"


def test_blind_set_is_large_and_varied() -> None:
    cases = load_cases(BLIND)
    in_bank = [c for c in cases if c.expected]
    assert len(in_bank) >= 200 and len({c.expected for c in in_bank}) >= 100
    assert sum(c.lang == "en" for c in in_bank) >= len(in_bank) / 4
    assert sum(c.expected is None for c in cases) >= 40


def test_user_typed_questions_are_matched_as_a_user_expects(evaluator: Evaluator) -> None:
    report = measure(lambda text: evaluator.match(question=text), load_cases(BLIND))
    rates = report.rates()
    for o in report.out_of_bank():
        if o.confident:
            print(f"out-of-bank question matched: {o.case.text!r} -> {o.top}")
    for o in report.in_bank():
        if o.wrong:
            print(f"confidently wrong: {o.case.text!r} -> {o.top} (expected {o.case.expected})")
    print(rates)
    assert rates["zh_confident_right"] >= 0.95
    assert rates["en_confident_right"] >= 0.85
    assert rates["confident_wrong"] <= 0.01
    assert rates["right_among_shown"] >= 0.99
    assert rates["out_of_bank_confident"] <= 0.05

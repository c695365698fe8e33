"""Checks applied to every verdict, whichever judge produced it."""

from __future__ import annotations

from evaluator.models import CriterionVerdict, JudgeVerdict, Level, Rubric
from evaluator.text import contains_quote

_DROP = {Level.met: Level.partial, Level.partial: Level.missing, Level.missing: Level.missing}


def criteria_problems(verdict: JudgeVerdict, rubric: Rubric) -> list[str]:
    """Every rubric criterion exactly once, no invented ids. Empty list = the verdict is complete."""
    expected = [c.id for c in rubric.criteria]
    got = [v.criterion_id for v in verdict.criteria]
    problems = []
    missing = [cid for cid in expected if cid not in got]
    if missing:
        problems.append(f"missing criteria: {', '.join(missing)}")
    invented = sorted({cid for cid in got if cid not in expected})
    if invented:
        problems.append(f"unknown criteria: {', '.join(invented)}")
    dupes = sorted({cid for cid in got if got.count(cid) > 1})
    if dupes:
        problems.append(f"criteria given more than once: {', '.join(dupes)}")
    return problems


def verify_evidence(verdict: JudgeVerdict, answer: str) -> JudgeVerdict:
    """A quote that is not in the answer is no evidence: the level drops one step and is marked."""
    checked: list[CriterionVerdict] = []
    for v in verdict.criteria:
        if v.level is Level.missing or (v.evidence and contains_quote(answer, v.evidence)):
            checked.append(v)
            continue
        checked.append(v.model_copy(update={"level": _DROP[v.level], "evidence": "", "evidence_verified": False}))
    return verdict.model_copy(update={"criteria": checked})

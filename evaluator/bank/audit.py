"""The bank checked by its own judge: correct texts never accused, anchors graded as they cover.

A reference answer or an anchor graded 85 or more is correct by the bank's own account; if the
offline judge reads any of its sentences as a wrong claim, either the rubric (a common error that
is the negation of something correct answers say) or the judge is wrong, and a candidate who says
the same would be failed. An anchor whose grade is far from the rubric weight the judge finds it
covering teaches the anchor regression the wrong scale; each such gap is worth a reader's look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator.judges.offline import wrong_claims
from evaluator.scoring import rubric_score

if TYPE_CHECKING:
    from evaluator.core import Evaluator
    from evaluator.judges.offline import OfflineJudge
    from evaluator.models import Question

CORRECT_ANCHOR_MIN = 85
COVERAGE_GAP_MAX = 25.0


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)  # correct texts read as wrong claims
    warnings: list[str] = field(default_factory=list)  # anchors whose grade and coverage disagree
    texts_checked: int = 0
    anchors_checked: int = 0


def accused_correct_texts(judge: OfflineJudge, q: Question) -> list[str]:
    """The question's correct texts (its reference answer, anchors graded CORRECT_ANCHOR_MIN or more)
    that the judge reads as making a wrong claim: one line per claim, naming the text."""
    correct = [("reference answer", q.reference)] + [
        (f"anchor graded {a.score}", a.answer) for a in q.rubric.anchors if a.score >= CORRECT_ANCHOR_MIN
    ]
    found = []
    for label, text in correct:
        analysis = judge.analyze(q, text)
        for unit, statement in wrong_claims(analysis, judge.params).items():
            found.append(
                f"the {label} is read as a wrong claim: 「{analysis.units[unit]}」 "
                f"contradicts 「{analysis.statements[statement]}」"
            )
    return found


def audit_bank(ev: Evaluator, progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Run the offline judge over every reference answer and anchor of the bank."""
    judge = ev.offline_judge()
    report = AuditReport()
    root = ev.bank.root or Path(".")
    questions = list(ev.bank)
    for n, q in enumerate(questions, 1):
        rubric_file = root / "rubrics" / f"{q.id}.yaml"
        report.texts_checked += 1 + sum(a.score >= CORRECT_ANCHOR_MIN for a in q.rubric.anchors)
        report.problems += [f"{rubric_file}: {problem}" for problem in accused_correct_texts(judge, q)]
        weights = {c.id: c.weight for c in q.rubric.criteria}
        for anchor in q.rubric.anchors:
            verdict = judge.verdict(q, judge.analyze(q, anchor.answer), exclude_anchor=anchor.answer)
            coverage = rubric_score([(weights[v.criterion_id], v.level) for v in verdict.criteria])
            report.anchors_checked += 1
            if abs(coverage - anchor.score) > COVERAGE_GAP_MAX:
                report.warnings.append(
                    f"{rubric_file}: anchor graded {anchor.score} covers {coverage:.0f}% of the rubric weight "
                    f"by the judge: 「{anchor.answer[:40]}…」"
                )
        if progress is not None:
            progress(n, len(questions))
    return report

"""The bank checked by its own judge: correct texts never accused, anchors graded as they cover.

A reference answer or an anchor graded 85 or more is correct by the bank's own account. If the
offline judge reports one of its sentences as one of the rubric's common errors, the common error is
the negation of something correct answers say, and a candidate who says the same would be told of
a misconception they do not hold: that is a bank problem. If the judge reads a correct sentence as
contradicting a rubric point without it looking like a common error, the verifier misreads a
paraphrase: the candidate would be failed all the same, so it is reported, but the fix is the
verifier's. An anchor whose grade is far from the rubric weight the judge finds it covering teaches
the anchor regression the wrong scale; each such gap is read by a person (`anchor_review`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator.bank.anchor_review import AnchorReview, anchor_sha, load_anchor_reviews
from evaluator.judges.offline import common_error_of, rubric_coverage, wrong_claims

if TYPE_CHECKING:
    from evaluator.core import Evaluator
    from evaluator.judges.offline import Analysis, OfflineJudge
    from evaluator.models import Question

CORRECT_ANCHOR_MIN = 85
COVERAGE_GAP_MAX = 25.0


@dataclass(frozen=True)
class Accusation:
    """A sentence of a correct text that the judge reports as a wrong claim."""

    question_id: str
    text: str  # which correct text: "reference answer", "anchor graded 90"
    unit: str
    statement: str  # the rubric point or reference sentence it is read as contradicting
    common_error: str  # the rubric's common error it is reported as; "" when none is close

    def describe(self) -> str:
        claim = f"as the common error 「{self.common_error}」" if self.common_error else "as a wrong claim"
        return f"the {self.text} is read {claim}: 「{self.unit}」 contradicts 「{self.statement}」"


@dataclass(frozen=True)
class CoverageGap:
    """An anchor whose grade and judged rubric coverage are more than COVERAGE_GAP_MAX apart."""

    question_id: str
    anchor_sha: str
    grade: int
    coverage: float
    answer: str
    review: AnchorReview | None  # a reader's verdict on this text at this grade, if there is one

    def describe(self) -> str:
        return (
            f"anchor {self.anchor_sha} graded {self.grade} covers {self.coverage:.0f}% of the rubric weight "
            f"by the judge: 「{self.answer[:40]}…」"
        )


@dataclass
class AuditReport:
    accusations: list[Accusation] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)
    texts_checked: int = 0
    anchors_checked: int = 0

    @property
    def common_error_hits(self) -> list[Accusation]:
        """Correct sentences reported as a common error: the common error is wrong, not the sentence."""
        return [a for a in self.accusations if a.common_error]

    @property
    def misreadings(self) -> list[Accusation]:
        """Correct sentences read as contradicting a point they paraphrase: the verifier is wrong."""
        return [a for a in self.accusations if not a.common_error]

    @property
    def unread_gaps(self) -> list[CoverageGap]:
        return [g for g in self.gaps if g.review is None]


def accusations(judge: OfflineJudge, q: Question, analyses: dict[str, Analysis] | None = None) -> list[Accusation]:
    """Every wrong claim the judge reads in the question's correct texts (its reference answer and
    anchors graded CORRECT_ANCHOR_MIN or more). `analyses` reuses texts already analysed."""
    correct = [("reference answer", q.reference)] + [
        (f"anchor graded {a.score}", a.answer) for a in q.rubric.anchors if a.score >= CORRECT_ANCHOR_MIN
    ]
    found = []
    for label, text in correct:
        analysis = (analyses or {}).get(text) or judge.analyze(q, text)
        for unit, statement in wrong_claims(analysis, judge.params).items():
            found.append(
                Accusation(
                    q.id,
                    label,
                    analysis.units[unit],
                    analysis.statements[statement],
                    common_error_of(analysis, judge.params, unit),
                )
            )
    return found


def coverage_gaps(
    judge: OfflineJudge,
    q: Question,
    reviews: dict[tuple[str, str], AnchorReview],
    analyses: dict[str, Analysis] | None = None,
) -> list[CoverageGap]:
    """Anchors whose grade and weighted criterion coverage (by the judge) disagree by more than
    COVERAGE_GAP_MAX, each with its reading if one matches."""
    gaps = []
    for anchor in q.rubric.anchors:
        analysis = (analyses or {}).get(anchor.answer) or judge.analyze(q, anchor.answer)
        coverage, _ = rubric_coverage(q, analysis, judge.params)
        if abs(coverage - anchor.score) > COVERAGE_GAP_MAX:
            sha = anchor_sha(anchor.answer)
            review = reviews.get((q.id, sha))
            read = review if review is not None and review.grade == anchor.score else None
            gaps.append(CoverageGap(q.id, sha, anchor.score, coverage, anchor.answer, read))
    return gaps


def audit_bank(ev: Evaluator, progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Run the offline judge over every reference answer and anchor of the bank (each text once)."""
    judge = ev.offline_judge()
    reviews = load_anchor_reviews(ev.bank.root or Path("."))
    report = AuditReport()
    questions = list(ev.bank)
    for n, q in enumerate(questions, 1):
        analyses = {a.answer: judge.analyze(q, a.answer) for a in q.rubric.anchors}
        report.accusations += accusations(judge, q, analyses)
        report.gaps += coverage_gaps(judge, q, reviews, analyses)
        report.texts_checked += 1 + sum(a.score >= CORRECT_ANCHOR_MIN for a in q.rubric.anchors)
        report.anchors_checked += len(q.rubric.anchors)
        if progress is not None:
            progress(n, len(questions))
    return report

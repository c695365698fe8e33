"""The offline judge: deterministic, embedding-based, no network.

Each criterion is scored by how close the answer's best sentence comes to the criterion's
description, relative to how close the same answer comes to criteria of *other* questions: m3e
cosines are compressed (unrelated Chinese technical text still scores ~0.7), so an absolute cosine
says little, while the margin over that baseline separates "talks about this point" from "talks".
The nearest graded anchors of the question give a second, independent grade.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from ..calibration import OfflineParams
from ..index import BankIndex, criterion_text, error_claim
from ..models import Criterion, CriterionVerdict, JudgeVerdict, Level, Question
from ..scoring import anchor_estimate, level_from_signal
from ..text import is_chinese, negated, split_units, squash
from .base import JudgeRequest

NAME = "offline"
BASELINE_QUANTILE = 0.9


@dataclass
class CriterionSignal:
    id: str
    best_cosine: float
    keyword_fraction: float
    evidence: str


@dataclass
class ErrorHit:
    error: str
    cosine: float
    contrast: float  # cosine to the error minus the unit's best cosine to a rubric criterion
    unit: str


@dataclass
class Analysis:
    """Raw similarities for one answer; thresholds turn it into a verdict."""

    units: list[str]
    baseline: float
    criteria: list[CriterionSignal]
    error_hits: list[ErrorHit]
    anchor_cosines: list[float]
    anchor_scores: list[float]
    anchor_texts: list[str] = field(default_factory=list)
    reference_cosine: float = 0.0
    reference_lexical: float = 0.0


class OfflineJudge:
    name = NAME

    def __init__(self, index: BankIndex, params: OfflineParams):
        self.index = index
        self.params = params
        ids, rows = [], []
        for q in index.bank:
            for c in q.rubric.criteria:
                ids.append(q.id)
                rows.append(index.vector(criterion_text(c.description, c.keywords)))
        self._criterion_owner = np.array(ids)
        self._criterion_matrix = np.stack(rows) if rows else np.zeros((0, 1), np.float32)

    def analyze(self, question: Question, answer: str) -> Analysis:
        units = split_units(answer) or [answer.strip()]
        vecs = self.index.embedder.encode([*units, answer])
        unit_vecs, answer_vec = vecs[:-1], vecs[-1]
        baseline = self._baseline(question.id, unit_vecs)
        answer_sq = squash(answer)
        crit_vecs = [self.index.vector(criterion_text(c.description, c.keywords)) for c in question.rubric.criteria]
        crit_sims = np.stack([unit_vecs @ v for v in crit_vecs], axis=1)  # units x criteria
        criteria = []
        for col, c in enumerate(question.rubric.criteria):
            best = int(np.argmax(crit_sims[:, col]))
            kws = [k for k in c.keywords if squash(k)]
            frac = sum(squash(k) in answer_sq for k in kws) / len(kws) if kws else 0.0
            criteria.append(CriterionSignal(c.id, float(crit_sims[best, col]), frac, units[best]))
        # A sentence asserts a misconception when it is close to it AND closer to it than to every
        # correct point: a right statement about the same subject is close to both.
        closest_point = crit_sims.max(axis=1)
        hits = []
        for err in question.rubric.common_errors:
            sims = unit_vecs @ self.index.vector(error_claim(err))
            contrast = sims - closest_point
            best = int(np.argmax(contrast))
            hits.append(ErrorHit(err, float(sims[best]), float(contrast[best]), units[best]))
        anchors = question.rubric.anchors
        anchor_cos = [float(answer_vec @ self.index.vector(a.answer)) for a in anchors]
        return Analysis(
            units=units,
            baseline=baseline,
            criteria=criteria,
            error_hits=hits,
            anchor_cosines=anchor_cos,
            anchor_scores=[float(a.score) for a in anchors],
            anchor_texts=[a.answer for a in anchors],
            reference_cosine=float(answer_vec @ self.index.vector(question.reference)),
            reference_lexical=self.index.reference_lexical(question, answer),
        )

    def _baseline(self, qid: str, unit_vecs: np.ndarray) -> float:
        """How close this answer comes to criteria of other questions (a high quantile)."""
        others = self._criterion_matrix[self._criterion_owner != qid]
        if len(others) == 0:
            return 0.0
        best_per_criterion = (unit_vecs @ others.T).max(axis=0)
        return float(np.quantile(best_per_criterion, BASELINE_QUANTILE))

    def verdict(self, question: Question, analysis: Analysis, exclude_anchor: str | None = None) -> JudgeVerdict:
        return verdict_from_analysis(question, analysis, self.params, exclude_anchor)

    def judge(self, request: JudgeRequest) -> JudgeVerdict:
        return self.verdict(request.question, self.analyze(request.question, request.answer))

    async def ajudge(self, request: JudgeRequest) -> JudgeVerdict:
        return await asyncio.to_thread(self.judge, request)


def criterion_signal(sig: CriterionSignal, baseline: float, params: OfflineParams) -> float:
    return sig.best_cosine - baseline + params.keyword_bonus * sig.keyword_fraction


def anchor_grade(analysis: Analysis, k: int, temperature: float, exclude_anchor: str | None = None) -> float | None:
    """Similarity-weighted grade of the nearest anchors; `exclude_anchor` is never its own neighbour."""
    pairs = [
        (c, s)
        for c, s, t in zip(analysis.anchor_cosines, analysis.anchor_scores, analysis.anchor_texts, strict=True)
        if t != exclude_anchor
    ]
    return anchor_estimate([c for c, _ in pairs], [s for _, s in pairs], k, temperature)


def asserts_error(hit: ErrorHit, params: OfflineParams) -> bool:
    return hit.cosine >= params.error_threshold and hit.contrast >= params.error_margin and not negated(hit.unit)


def verdict_from_analysis(
    question: Question, analysis: Analysis, params: OfflineParams, exclude_anchor: str | None = None
) -> JudgeVerdict:
    """Thresholds applied to raw similarities. `exclude_anchor` leaves one anchor out (fitting)."""
    verdicts = []
    by_id = {c.id: c for c in question.rubric.criteria}
    for sig in analysis.criteria:
        level = level_from_signal(criterion_signal(sig, analysis.baseline, params), params.met, params.partial)
        verdicts.append(
            CriterionVerdict(
                criterion_id=sig.id,
                level=level,
                evidence=sig.evidence if level is not Level.missing else "",
                comment=f"最相近的句子与该要点的相似度 {sig.best_cosine:.2f}（基线 {analysis.baseline:.2f}）",
            )
        )
    errors = [f"{h.error}（原文：「{h.unit}」）" for h in analysis.error_hits if asserts_error(h, params)]
    estimate = anchor_grade(analysis, params.anchor_k, params.anchor_temperature, exclude_anchor)
    chinese = is_chinese(" ".join(analysis.units))
    return JudgeVerdict(
        feedback=_feedback(question, verdicts, by_id, errors, chinese),
        criteria=verdicts,
        errors=errors,
        anchor_estimate=estimate,
        judge=NAME,
    )


def _feedback(
    question: Question, verdicts: list[CriterionVerdict], by_id: dict[str, Criterion], errors: list[str], chinese: bool
) -> str:
    met = [v for v in verdicts if v.level is Level.met]
    gaps = sorted((v for v in verdicts if v.level is not Level.met), key=lambda v: -by_id[v.criterion_id].weight)
    if chinese:
        parts = [f"覆盖了 {len(met)}/{len(verdicts)} 个评分要点。"]
        if gaps:
            parts.append("建议补充：" + "；".join(by_id[v.criterion_id].description for v in gaps[:3]) + "。")
        if errors:
            parts.append("注意纠正可能的错误说法：" + "；".join(errors[:2]) + "。")
    else:
        parts = [f"Covered {len(met)} of {len(verdicts)} rubric points."]
        if gaps:
            parts.append("Add: " + "; ".join(by_id[v.criterion_id].description for v in gaps[:3]) + ".")
        if errors:
            parts.append("Possibly wrong claims: " + "; ".join(errors[:2]) + ".")
    return " ".join(parts)

"""The offline judge: deterministic, embedding-based, no network.

Each criterion is scored by how close the answer's best sentence comes to the criterion's
description, relative to how close the same answer comes to criteria of *other* questions: m3e
cosines are compressed (unrelated Chinese technical text still scores ~0.7), so an absolute cosine
says little, while the margin over that baseline separates "talks about this point" from "talks".
A bare list of terms earns at most partial; a sentence asserting one of the rubric's common errors
earns nothing and is reported. The question's graded anchors give a second, independent grade (a
regression over them, or their nearest neighbours).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from ..calibration import OfflineParams
from ..index import BankIndex, criterion_text, error_claim, reference_similarity, reference_units
from ..models import LEVEL_VALUE, Criterion, CriterionVerdict, JudgeVerdict, Level, Question
from ..scoring import anchor_estimate, anchor_regression, level_from_signal
from ..text import is_chinese, is_enumeration, mentions_any, names, negated, split_units, squash
from .base import JudgeRequest

NAME = "offline"
PROFILE_SIZE = 2
BASELINE_QUANTILE = 0.9


@dataclass
class Analysis:
    """Raw similarities for one answer, per unit; thresholds turn them into a verdict.

    Kept per unit (not just the best unit per criterion) because which units may serve as evidence
    depends on the thresholds: a unit that asserts a misconception earns no credit, and a bare list
    of terms earns at most a partial one.
    """

    units: list[str]
    enumeration: list[bool]  # unit is a bare list of terms
    negated: list[bool]  # unit contains a negation cue
    baseline: float
    criterion_ids: list[str]
    criterion_sims: np.ndarray  # units x criteria
    correct_sims: np.ndarray  # per unit: best cosine to a rubric point or a reference sentence
    keywords_in_prose: list[float]  # share of each criterion's keywords found outside enumerations
    keywords_anywhere: list[float]
    errors: list[str]
    error_negated: list[bool]  # the misconception itself is a negative claim (「FP16 不需要 loss scaling」)
    error_sims: np.ndarray  # units x common errors
    error_lexical: np.ndarray  # units x common errors, char n-gram cosine
    correct_lexical: np.ndarray  # per unit: best char n-gram cosine to a rubric point or reference sentence
    anchor_cosines: list[float]
    anchor_scores: list[float]
    anchor_texts: list[str] = field(default_factory=list)
    anchor_gram: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # anchor x anchor cosines
    anchor_lexical: np.ndarray = field(default_factory=lambda: np.zeros(0))  # char n-gram cosines to anchors
    anchor_lexical_gram: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # (log length, cosine to the reference) of the answer and of each anchor: where a question's
    # grades rise with how much is said and how close it comes to the reference, the regression
    # can follow that, which cosines between answers alone cannot.
    answer_profile: np.ndarray = field(default_factory=lambda: np.zeros(PROFILE_SIZE))
    anchor_profiles: np.ndarray = field(default_factory=lambda: np.zeros((0, PROFILE_SIZE)))
    reference_cosine: float = 0.0
    reference_lexical: float = 0.0
    # Per criterion: how close the question's own wording comes to it. Restating the question says
    # nothing the interviewer did not say, so evidence must come closer than this.
    question_sims: np.ndarray = field(default_factory=lambda: np.zeros(0))
    parents: list[int] = field(default_factory=list)  # per unit: its sentence (itself for sentences)
    # Units x common errors: the unit, read with its sentence and the one before, names what the
    # claim is about (True where the claim names nothing in Latin script).
    error_named: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    # Per common error: the rubric point it is a misconception about (closest criterion).
    error_criterion: list[int] = field(default_factory=list)

    @property
    def enumeration_share(self) -> float:
        """Share of the answer's characters in bare lists of terms."""
        total = sum(len(u) for u in self.units)
        return sum(len(u) for u, e in zip(self.units, self.enumeration, strict=True) if e) / total if total else 0.0


@dataclass
class CriterionFinding:
    id: str
    level: Level
    signal: float
    cosine: float
    unit: int  # index of the evidence unit, -1 when no unit may serve


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
        # A clause of a term list is part of the list: 「left padding 相关：」 explains nothing either.
        lists = [u for u in units if is_enumeration(u)]
        enumeration = [any(u in lst for lst in lists) for u in units]
        prose_sq = squash(" ".join(u for u, e in zip(units, enumeration, strict=True) if not e))
        answer_sq = squash(answer)
        criteria = question.rubric.criteria
        crit_vecs = [self.index.vector(criterion_text(c.description, c.keywords)) for c in criteria]
        errors = list(question.rubric.common_errors)
        claims = [error_claim(e) for e in errors]
        err_vecs = [self.index.vector(c) for c in claims]
        ref_units = reference_units(question)
        anchors = question.rubric.anchors
        crit_sims = np.stack([unit_vecs @ v for v in crit_vecs], axis=1)
        ref_vecs = np.stack([self.index.vector(t) for t in ref_units] or [np.zeros(unit_vecs.shape[1])])
        ref_sims = (unit_vecs @ ref_vecs.T).max(axis=1)
        ref_cos, ref_lex = reference_similarity(self.index, question, answer)
        correct_texts = [criterion_text(c.description, c.keywords) for c in criteria] + ref_units
        parents = parent_units(units)
        anchor_lex, anchor_lex_gram = self.index.anchor_lexical(question, answer)
        ref_vec = self.index.vector(question.reference)
        anchor_vecs = (
            np.stack([self.index.vector(a.answer) for a in anchors])
            if anchors
            else np.zeros((0, answer_vec.shape[0]), np.float32)
        )
        return Analysis(
            units=units,
            enumeration=enumeration,
            negated=[negated(u) for u in units],
            baseline=self._baseline(question.id, unit_vecs),
            criterion_ids=[c.id for c in criteria],
            criterion_sims=crit_sims,
            correct_sims=in_context(np.maximum(crit_sims.max(axis=1), ref_sims), parents),
            keywords_in_prose=[_keyword_share(c, prose_sq) for c in criteria],
            keywords_anywhere=[_keyword_share(c, answer_sq) for c in criteria],
            errors=errors,
            error_negated=[negated(c) for c in claims],
            error_sims=np.stack([unit_vecs @ v for v in err_vecs], axis=1) if errors else np.zeros((len(units), 0)),
            error_lexical=self.index.lexical(units, claims),
            correct_lexical=in_context(self.index.lexical(units, correct_texts).max(axis=1), parents),
            anchor_cosines=[float(c) for c in anchor_vecs @ answer_vec],
            anchor_scores=[float(a.score) for a in anchors],
            anchor_texts=[a.answer for a in anchors],
            anchor_gram=anchor_vecs @ anchor_vecs.T,
            anchor_lexical=anchor_lex,
            anchor_lexical_gram=anchor_lex_gram,
            reference_cosine=ref_cos,
            answer_profile=_profile(answer, answer_vec, ref_vec),
            anchor_profiles=_profiles([a.answer for a in anchors], anchor_vecs, ref_vec),
            reference_lexical=ref_lex,
            question_sims=np.array([float(self.index.vector(question.question) @ v) for v in crit_vecs]),
            parents=parents,
            error_named=_named(units, parents, claims),
            error_criterion=[int(np.argmax([v @ c for c in crit_vecs])) for v in err_vecs] if crit_vecs else [],
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


def _named(units: list[str], parents: list[int], claims: list[str]) -> np.ndarray:
    """Units x claims: whether the unit's context names one of the claim's Latin-script names.

    「稀疏、滑窗、线性 attention 把复杂度降下来」 cannot assert 「FlashAttention 把复杂度降成线性」: a
    claim about a named method needs the name, in the sentence or the one before (「它」 refers back).
    """
    sentences = sorted(set(parents))
    previous = {s: sentences[i - 1] for i, s in enumerate(sentences) if i > 0}
    out = np.ones((len(units), len(claims)), bool)
    for e, claim in enumerate(claims):
        wanted = names(claim)
        if not wanted:
            continue
        for u in range(len(units)):
            context = units[parents[u]] + " " + (units[previous[parents[u]]] if parents[u] in previous else "")
            out[u, e] = mentions_any(units[u] + " " + context, wanted)
    return out


def _profile(text: str, vec: np.ndarray, ref_vec: np.ndarray) -> np.ndarray:
    return np.array([np.log1p(len("".join(text.split()))), float(vec @ ref_vec)])


def _profiles(texts: list[str], vecs: np.ndarray, ref_vec: np.ndarray) -> np.ndarray:
    return np.array([_profile(t, v, ref_vec) for t, v in zip(texts, vecs, strict=True)]).reshape(-1, PROFILE_SIZE)


def parent_units(units: list[str]) -> list[int]:
    """For each unit, the longest unit containing it (a clause's sentence); itself for sentences."""
    return [max((v for v in range(len(units)) if u in units[v]), key=lambda v: len(units[v])) for u in units]


def in_context(per_unit: np.ndarray, parents: list[int]) -> np.ndarray:
    """A clause read with its sentence: how close it comes to a correct statement is the better of
    the two. 「把点积的方差拉回到 1 左右」 alone resembles 「点积的方差与维度无关」; its sentence is the
    reference's point."""
    return np.asarray(np.maximum(per_unit, per_unit[parents]))


def _keyword_share(c: Criterion, text_sq: str) -> float:
    kws = [squash(k) for k in c.keywords if squash(k)]
    return sum(k in text_sq for k in kws) / len(kws) if kws else 0.0


def error_units(analysis: Analysis, params: OfflineParams) -> dict[int, int]:
    """Common error index -> the unit asserting it.

    A unit asserts a misconception when it is close to it AND closer to it than to every correct
    statement — each rubric point and each sentence of the reference answer (a right statement about
    the same subject is close to both) — and has the claim's polarity: 「不是为了减少计算量」 corrects
    「是为了减少计算量」, and 「通信会变多」 contradicts 「各阶段都不增加通信量」. Among the units of the
    right polarity the most contrasting one is taken, so a negation elsewhere in the answer does not
    hide the claim.
    """
    if analysis.error_sims.shape[1] == 0:
        return {}
    closest_point = analysis.correct_sims
    unit_negated = np.array(analysis.negated)
    found = {}
    lexical_gap = analysis.error_lexical - analysis.correct_lexical[:, None]
    for e in range(analysis.error_sims.shape[1]):
        usable = unit_negated == analysis.error_negated[e]  # same polarity as the claim
        if analysis.error_named.shape == analysis.error_sims.shape:
            usable = usable & analysis.error_named[:, e]
        sims = analysis.error_sims[:, e]
        # Embeddings blur 上溢 / 下溢 or 成对 / 绝对; the claim's own characters do not.
        contrast = np.where(usable, sims - closest_point + params.error_lexical * lexical_gap[:, e], -np.inf)
        u = int(np.argmax(contrast))
        if usable[u] and sims[u] >= params.error_threshold and contrast[u] >= params.error_margin:
            found[e] = u
    return found


def discredited(analysis: Analysis, wrong: dict[int, int]) -> tuple[set[int], set[int]]:
    """(units that are no evidence, criteria that cannot be met) given the wrong claims found.

    A clause asserting a misconception taints its sentence: 「它是为了防止梯度上溢：……所以要把 loss
    乘一个系数」 reads close to the loss-scaling point only because it is about loss scaling. And an
    interviewer gives no credit for a point the candidate holds a misconception about, whatever else
    they say near it.
    """
    units = set(wrong.values())
    if analysis.parents:
        units |= {analysis.parents[u] for u in wrong.values()}
    criteria = {analysis.error_criterion[e] for e in wrong} if analysis.error_criterion else set()
    return units, criteria


def criterion_findings(
    analysis: Analysis, params: OfflineParams, wrong: dict[int, int] | None = None
) -> list[CriterionFinding]:
    """Each criterion's level and evidence unit (`wrong`: common error -> unit asserting it).

    Signal of a unit = its cosine to the criterion minus the answer's baseline (or, if higher, the
    question's own cosine to the criterion: a restated question is no evidence), plus a bonus for the
    criterion's keywords. A unit asserting a misconception is no evidence; a bare list of terms
    names a point without explaining it, so it earns at most partial (and its keywords count only
    there).
    """
    floor = analysis.baseline
    if len(analysis.question_sims):
        floor = np.maximum(floor, analysis.question_sims)[None, :]
    sims = analysis.criterion_sims - floor
    wrong_units, voided = discredited(analysis, wrong or {})
    findings = []
    for col, cid in enumerate(analysis.criterion_ids):
        best = CriterionFinding(cid, Level.missing, -np.inf, 0.0, -1)
        if col in voided:
            findings.append(best)
            continue
        for u in range(len(analysis.units)):
            if u in wrong_units:
                continue
            if analysis.enumeration[u]:
                signal = float(sims[u, col]) + params.keyword_bonus * analysis.keywords_anywhere[col]
                level = min_level(level_from_signal(signal, params.met, params.partial), Level.partial)
            else:
                signal = float(sims[u, col]) + params.keyword_bonus * analysis.keywords_in_prose[col]
                level = level_from_signal(signal, params.met, params.partial)
            if (LEVEL_VALUE[level], signal) > (LEVEL_VALUE[best.level], best.signal):
                best = CriterionFinding(cid, level, signal, float(analysis.criterion_sims[u, col]), u)
        findings.append(best)
    return findings


def min_level(a: Level, b: Level) -> Level:
    return a if LEVEL_VALUE[a] <= LEVEL_VALUE[b] else b


def anchor_grade(analysis: Analysis, params: OfflineParams, exclude_anchor: str | None = None) -> float | None:
    """Grade implied by the question's graded anchors; `exclude_anchor` is never its own neighbour."""
    keep = [i for i, t in enumerate(analysis.anchor_texts) if t != exclude_anchor]
    cosines = [analysis.anchor_cosines[i] for i in keep]
    scores = [analysis.anchor_scores[i] for i in keep]
    if params.anchor_method == "ridge":
        # Kernel: embedding cosine plus weighted char n-gram cosine (terms and numbers matter).
        mu = params.anchor_lexical
        kx = np.asarray(cosines) + mu * analysis.anchor_lexical[keep]
        gram = analysis.anchor_gram[np.ix_(keep, keep)] + mu * analysis.anchor_lexical_gram[np.ix_(keep, keep)]
        weights = np.array([params.anchor_length, params.anchor_reference])
        if weights.any() and len(keep) > 1 and analysis.anchor_profiles.shape[0] == len(analysis.anchor_texts):
            # Standardized over the anchors, so a weight means the same for every question.
            profiles = analysis.anchor_profiles[keep]
            centre, spread = profiles.mean(axis=0), profiles.std(axis=0) + 1e-9
            za, zx = (profiles - centre) / spread, (analysis.answer_profile - centre) / spread
            gram = gram + (za * weights) @ za.T
            kx = kx + (za * weights) @ zx
        return anchor_regression(kx.tolist(), gram.tolist(), scores, params.anchor_ridge)
    return anchor_estimate(cosines, scores, params.anchor_k, params.anchor_temperature)


ENUMERATION_NOTE_SHARE = 0.5  # above this share of bare term lists, the feedback says so


def verdict_from_analysis(
    question: Question, analysis: Analysis, params: OfflineParams, exclude_anchor: str | None = None
) -> JudgeVerdict:
    """Thresholds applied to raw similarities. `exclude_anchor` leaves one anchor out (fitting)."""
    wrong = error_units(analysis, params)
    verdicts = []
    by_id = {c.id: c for c in question.rubric.criteria}
    # Criterion id -> the (first) misconception that voids it, for the verdict's comment.
    contradicted = {
        analysis.criterion_ids[analysis.error_criterion[e]]: e for e in sorted(wrong, reverse=True)
    } if analysis.error_criterion else {}  # fmt: skip
    chinese = is_chinese(" ".join(analysis.units))
    for f in criterion_findings(analysis, params, wrong):
        unit = analysis.units[f.unit] if f.unit >= 0 else ""
        claim = analysis.errors[contradicted[f.id]] if f.id in contradicted else ""
        listed = f.unit >= 0 and bool(analysis.enumeration[f.unit])
        verdicts.append(
            CriterionVerdict(
                criterion_id=f.id,
                level=f.level,
                evidence=unit if f.level is not Level.missing else "",
                # Words for the candidate; the numbers behind them stay in similarity/baseline.
                comment=_comment(f.level, claim, listed, chinese),
                wrong_claim=claim,
                similarity=round(f.cosine, 4),
                baseline=round(analysis.baseline, 4),
            )
        )
    errors = [f"{analysis.errors[e]}（原文：「{analysis.units[u]}」）" for e, u in sorted(wrong.items())]
    estimate = anchor_grade(analysis, params, exclude_anchor)
    enumerated = analysis.enumeration_share >= ENUMERATION_NOTE_SHARE
    strong = estimate is not None and estimate >= STRONG_ANCHOR_GRADE
    return JudgeVerdict(
        feedback=_feedback(question, verdicts, by_id, errors, chinese, enumerated, strong),
        criteria=verdicts,
        errors=errors,
        anchor_estimate=estimate,
        judge=NAME,
    )


STRONG_ANCHOR_GRADE = 85.0  # graded answers this close to the strongest ones need no "how to score higher"


def _comment(level: Level, claim: str, listed: bool, chinese: bool) -> str:
    """Why this level, in the candidate's language and without the similarities behind it."""
    if claim:
        return f"这一点上有错误说法：{claim}" if chinese else f"The answer makes a wrong claim here: {claim}"
    if listed and level is not Level.missing:
        return "只在术语罗列中提到，没有解释" if chinese else "Only named in a list of terms, not explained"
    if chinese:
        return {Level.met: "回答讲清了这一点", Level.partial: "提到了，但讲得不够完整或具体",
                Level.missing: "回答没有讲到这一点"}[level]  # fmt: skip
    return {Level.met: "The answer explains this point", Level.partial: "Touched on, but not fully or concretely",
            Level.missing: "The answer does not cover this point"}[level]  # fmt: skip


def _feedback(
    question: Question,
    verdicts: list[CriterionVerdict],
    by_id: dict[str, Criterion],
    errors: list[str],
    chinese: bool,
    enumerated: bool,
    strong: bool = False,
) -> str:
    met = [v for v in verdicts if v.level is Level.met]
    gaps = sorted((v for v in verdicts if v.level is not Level.met), key=lambda v: -by_id[v.criterion_id].weight)
    # Every point met but not graded like the strongest answers: the grade is held back by depth, so
    # say how to add it rather than only counting points.
    deeper = not gaps and not errors and not enumerated and not strong
    if chinese:
        parts = [f"覆盖了 {len(met)}/{len(verdicts)} 个评分要点。"]
        if enumerated:
            parts.append("回答以罗列术语为主，要说明每个概念是什么、为什么、怎么做，才算答到要点。")
        if gaps:
            parts.append("建议补充：" + "；".join(by_id[v.criterion_id].description for v in gaps[:3]) + "。")
        if errors:
            parts.append("注意纠正可能的错误说法：" + "；".join(errors[:2]) + "。")
        if deeper:
            parts.append("要点都答到了；想拿更高分，把每一点讲深讲透：说明背后的原理和原因，给出公式、数字或例子，"
                         "讲清适用条件与取舍，做到参考答案那样完整具体。")  # fmt: skip
    else:
        parts = [f"Covered {len(met)} of {len(verdicts)} rubric points."]
        if enumerated:
            parts.append("The answer mostly lists terms; explain what each is and why it matters to earn the point.")
        if gaps:
            parts.append("Add: " + "; ".join(by_id[v.criterion_id].description for v in gaps[:3]) + ".")
        if errors:
            parts.append("Possibly wrong claims: " + "; ".join(errors[:2]) + ".")
        if deeper:
            parts.append(
                "Every point is there; to score higher, go deeper on each: the reason behind it, a formula, "
                "number or example, and when it applies, as completely as the reference answer does."
            )
        # Measured on eval_data's test part: English answers graded ~93 by humans get ~81 here (~59
        # before the anchor regression's profile). Say so rather than let a good candidate read a low
        # grade as their own fault.
        parts.append(
            "Note: the rubric is Chinese and the offline judge's embedding model reads English against it "
            "poorly, so this grade leans on the graded example answers and can run below a human grade; "
            "set an LLM endpoint (OPENAI_BASE_URL / OPENAI_API_KEY) to grade English answers."
        )
    return " ".join(parts)

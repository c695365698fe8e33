"""The offline judge: deterministic, embedding-based plus a claim verifier, no network.

Each criterion is scored by how close the answer's best sentence comes to the criterion's
description, relative to how close the same answer comes to criteria of *other* questions: m3e
cosines are compressed (unrelated Chinese technical text still scores ~0.7), so an absolute cosine
says little, while the margin over that baseline separates "talks about this point" from "talks".
Closeness finds the candidates; the claim verifier (a cross-encoder, `verifier.py`) reads them: a
criterion is met only by a sentence that supports it, and a sentence that contradicts a rubric point
or a sentence of the reference is a wrong claim, reported with the statement it contradicts. A bare
list of terms earns at most partial. The question's graded anchors give a second, independent grade
(a regression over them, or their nearest neighbours).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import numpy as np

from evaluator.bank.statements import criterion_text, error_claim, reference_units
from evaluator.calibration.params import OfflineParams, load_calibration
from evaluator.glossary import as_read
from evaluator.judges.base import JudgeRequest
from evaluator.judges.verifier import CONTRADICTS, SUPPORTS, Verifier
from evaluator.matching.index import BankIndex, reference_similarity
from evaluator.models import LEVEL_VALUE, Criterion, CriterionVerdict, JudgeVerdict, Level, Question
from evaluator.scoring import anchor_estimate, anchor_regression, level_from_signal, rubric_score
from evaluator.text import distinct_text, is_chinese, is_enumeration, split_units, squash

NAME = "offline"
PROFILE_SIZE = 2
BASELINE_QUANTILE = 0.9
# Each sentence is read against the statements of the question closest to it (a claim contradicts
# what it is about), and each criterion against the units closest to it: the verifier costs a few
# milliseconds a pair on a CPU, so it reads the candidates the embedding finds, not every pair.
CHECKED_STATEMENTS = 2
SUPPORT_CANDIDATES = 2


def wrong_claim_threshold() -> float:
    """P(contradicts) at or above which the shipped calibration reports a wrong claim."""
    return load_calibration().offline.contradiction


@dataclass
class Analysis:
    """Raw similarities for one answer, per unit; thresholds turn them into a verdict.

    Kept per unit (not just the best unit per criterion) because which units may serve as evidence
    depends on the thresholds: a unit that contradicts the reference earns no credit, one the
    verifier does not read as supporting a point earns at most partial, and so does a bare list of
    terms.
    """

    units: list[str]
    enumeration: list[bool]  # unit is a bare list of terms
    baseline: float
    criterion_ids: list[str]
    criterion_sims: np.ndarray  # units x criteria
    keywords_in_prose: list[float]  # share of each criterion's keywords found outside enumerations
    keywords_anywhere: list[float]
    errors: list[str]  # the rubric's common errors: a wrong claim close to one is reported as it
    error_sims: np.ndarray  # units x common errors
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
    # The correct statements a unit is checked against: the rubric points, then the reference's
    # sentences; per statement, the rubric point it is about (itself, or the closest one).
    statements: list[str] = field(default_factory=list)
    statement_criterion: list[int] = field(default_factory=list)
    # The verifier's P(contradicts), units x statements, and P(supports), units x criteria; NaN where
    # the pair was not read (not among the candidates).
    contradiction: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    support: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

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

    def __init__(self, index: BankIndex, params: OfflineParams, verifier: Verifier | None = None):
        self.index = index
        self.params = params
        self.verifier = verifier or shared_verifier()
        ids, rows = [], []
        for q in index.bank:
            for c in q.rubric.criteria:
                ids.append(q.id)
                rows.append(index.vector(criterion_text(c.description, c.keywords)))
        self._criterion_owner = np.array(ids)
        self._criterion_matrix = np.stack(rows) if rows else np.zeros((0, 1), np.float32)
        # Per question and set of anchors: how much each anchor says about the question.
        self._anchor_lengths: dict[tuple[str, tuple[str, ...]], list[int]] = {}

    def analyze(self, question: Question, answer: str) -> Analysis:
        answer, units, read = _reading(answer)
        read_answer = as_read(answer)
        vecs = self.index.embedder.encode([*read, read_answer])
        unit_vecs, answer_vec = vecs[:-1], vecs[-1]
        # A clause of a term list is part of the list: 「left padding 相关：」 explains nothing either.
        lists = [u for u in units if is_enumeration(u)]
        enumeration = [any(u in lst for lst in lists) for u in units]
        # A keyword counts in the words the candidate wrote or in their gloss (「KV cache」 stays English).
        prose_sq = squash(" ".join(f"{u} {r}" for u, r, e in zip(units, read, enumeration, strict=True) if not e))
        answer_sq = squash(f"{answer} {read_answer}")
        criteria = question.rubric.criteria
        crit_vecs = [self.index.vector(criterion_text(c.description, c.keywords)) for c in criteria]
        errors = list(question.rubric.common_errors)
        claims = [error_claim(e) for e in errors]
        err_vecs = [self.index.vector(c) for c in claims]
        ref_units = reference_units(question)
        anchors = question.rubric.anchors
        crit_sims = np.stack([unit_vecs @ v for v in crit_vecs], axis=1)
        ref_vecs = np.stack([self.index.vector(t) for t in ref_units] or [np.zeros(unit_vecs.shape[1])])
        ref_cos, ref_lex = reference_similarity(self.index, question, answer)
        parents = parent_units(units)
        stmt_vecs = np.concatenate([np.stack(crit_vecs), ref_vecs[: len(ref_units)]])
        statements = [c.description for c in criteria] + ref_units
        statement_sims = unit_vecs @ stmt_vecs.T
        foreign = [not is_chinese(u) for u in units]
        contradiction, support = self._verify(
            read, foreign, enumeration, parents, statements, statement_sims, crit_sims
        )
        baseline = self._baseline(question.id, unit_vecs)
        on_topic = _on_topic_length(read, parents, statement_sims, baseline)
        anchor_lex, anchor_lex_gram = self.index.anchor_lexical(question, read_answer)
        ref_vec = self.index.vector(question.reference)
        anchor_vecs = (
            np.stack([self.index.vector(a.answer) for a in anchors])
            if anchors
            else np.zeros((0, answer_vec.shape[0]), np.float32)
        )
        return Analysis(
            units=units,
            enumeration=enumeration,
            baseline=baseline,
            criterion_ids=[c.id for c in criteria],
            criterion_sims=crit_sims,
            keywords_in_prose=[_keyword_share(c, prose_sq) for c in criteria],
            keywords_anywhere=[_keyword_share(c, answer_sq) for c in criteria],
            errors=errors,
            error_sims=np.stack([unit_vecs @ v for v in err_vecs], axis=1) if errors else np.zeros((len(units), 0)),
            anchor_cosines=[float(c) for c in anchor_vecs @ answer_vec],
            anchor_scores=[float(a.score) for a in anchors],
            anchor_texts=[a.answer for a in anchors],
            anchor_gram=anchor_vecs @ anchor_vecs.T,
            anchor_lexical=anchor_lex,
            anchor_lexical_gram=anchor_lex_gram,
            reference_cosine=ref_cos,
            answer_profile=np.array([np.log1p(on_topic), float(answer_vec @ ref_vec)]),
            anchor_profiles=np.array(
                [
                    [np.log1p(n), float(v @ ref_vec)]
                    for n, v in zip(self._anchor_on_topic(question, stmt_vecs), anchor_vecs, strict=True)
                ]
            ).reshape(-1, PROFILE_SIZE),
            reference_lexical=ref_lex,
            question_sims=np.array([float(self.index.vector(question.question) @ v) for v in crit_vecs]),
            parents=parents,
            statements=statements,
            statement_criterion=list(range(len(criteria)))
            + [int(np.argmax(np.stack(crit_vecs) @ v)) for v in ref_vecs[: len(ref_units)]],
            contradiction=contradiction,
            support=support,
        )

    def _verify(
        self,
        units: list[str],
        foreign: list[bool],
        enumeration: list[bool],
        parents: list[int],
        statements: list[str],
        statement_sims: np.ndarray,
        criterion_sims: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The verifier on the candidate pairs: (P(contradicts) units x statements, P(supports) units x
        criteria), NaN where not read. Each sentence against its closest statements; each criterion
        against its closest units (a point is a statement too, so one reading serves both). `foreign`:
        units not in Chinese, never read for contradictions."""
        n_criteria = criterion_sims.shape[1]
        prose = [u for u in range(len(units)) if not enumeration[u]]
        pairs: dict[tuple[int, int], None] = {}
        for u in prose:
            if parents[u] == u:
                for s in np.argsort(-statement_sims[u])[:CHECKED_STATEMENTS]:
                    pairs[(int(s), u)] = None
        for c in range(n_criteria):
            for u in sorted(prose, key=lambda v: -criterion_sims[v, c])[:SUPPORT_CANDIDATES]:
                pairs[(c, u)] = None
        contradiction = np.full((len(units), len(statements)), np.nan)
        support = np.full((len(units), n_criteria), np.nan)
        keys = list(pairs)
        probs = self.verifier.probabilities([(statements[s], units[u]) for s, u in keys])
        for (s, u), p in zip(keys, probs, strict=True):
            # Saying the statement's own words (or part of them) is no contradiction of it, whatever
            # the verifier reads: it learned contradictions as the same words with one word changed.
            # A sentence in English is not read for contradictions: the verifier learned Chinese
            # statements against Chinese (and mixed) sentences, and read an English sentence against a
            # Chinese point as contradicting it on 26 of 32 correct English blind answers.
            unread = restates(statements[s], units[u]) or foreign[u]
            contradiction[u, s] = 0.0 if unread else p[CONTRADICTS]
            if s < n_criteria:
                support[u, s] = p[SUPPORTS]
        return contradiction, support

    def _anchor_on_topic(self, question: Question, stmt_vecs: np.ndarray) -> list[int]:
        """Each anchor's on-topic length, measured as an answer's is: the regression compares the two."""
        key = (question.id, tuple(a.answer for a in question.rubric.anchors))
        if key not in self._anchor_lengths:
            readings = [_reading(a.answer) for a in question.rubric.anchors]
            # One model call for all of them: the first answer to a question pays for it.
            vecs = self.index.embedder.encode([u for _, _, read in readings for u in read])
            lengths, start = [], 0
            for _, us, read in readings:
                v = vecs[start : start + len(read)]
                start += len(read)
                sims = v @ stmt_vecs.T
                lengths.append(_on_topic_length(read, parent_units(us), sims, self._baseline(question.id, v)))
            self._anchor_lengths[key] = lengths
        return self._anchor_lengths[key]

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


_PUNCTUATION = re.compile(r"[\s，,。.；;：:！!？?、\"'“”‘’「」（）()]+")


def restates(statement: str, unit: str) -> bool:
    """The unit is the statement or a part of it (or the statement a part of the unit), ignoring
    spacing and punctuation."""
    a, b = _PUNCTUATION.sub("", statement.lower()), _PUNCTUATION.sub("", unit.lower())
    return bool(a and b) and (b in a or a in b)


def _reading(text: str) -> tuple[str, list[str], list[str]]:
    """(text, its units, the units as compared): a sentence said twice is said once (repetition adds
    neither evidence nor length), and English is glossed into the bank's terms (evidence still quotes
    the units as written)."""
    text = distinct_text(text)
    units = split_units(text) or [text.strip()]
    return text, units, [as_read(u) for u in units]


def _on_topic_length(read: list[str], parents: list[int], statement_sims: np.ndarray, baseline: float) -> int:
    """Characters of the sentences closer to one of the question's statements than the baseline:
    filler around an answer is not more answer."""
    return sum(
        len("".join(read[u].split()))
        for u in range(len(read))
        if parents[u] == u and statement_sims[u].max() >= baseline
    )


_SHARED: list[Verifier] = []


def shared_verifier() -> Verifier:
    """One verifier per process: its weights load once, on the first answer judged."""
    if not _SHARED:
        _SHARED.append(Verifier())
    return _SHARED[0]


def parent_units(units: list[str]) -> list[int]:
    """For each unit, the longest unit containing it (a clause's sentence); itself for sentences."""
    return [max((v for v in range(len(units)) if u in units[v]), key=lambda v: len(units[v])) for u in units]


def _keyword_share(c: Criterion, text_sq: str) -> float:
    kws = [squash(k) for k in c.keywords if squash(k)]
    return sum(k in text_sq for k in kws) / len(kws) if kws else 0.0


def wrong_claims(analysis: Analysis, params: OfflineParams) -> dict[int, int]:
    """Unit -> the statement (index into `analysis.statements`) it contradicts.

    The verifier must give the contradiction at least `params.contradiction`: a wrong claim is
    reported and costs points, so the candidate gets the benefit of the doubt. A clause of a sentence
    already reported is not reported again.
    """
    if analysis.contradiction.size == 0:
        return {}
    probs = np.nan_to_num(analysis.contradiction, nan=0.0)
    found = {}
    for u in range(len(analysis.units)):
        s = int(np.argmax(probs[u]))
        if probs[u, s] >= params.contradiction:
            found[u] = s
    parents = analysis.parents or list(range(len(analysis.units)))
    return {u: s for u, s in found.items() if parents[u] == u or parents[u] not in found}


def discredited(analysis: Analysis, wrong: dict[int, int]) -> tuple[set[int], set[int]]:
    """(units that are no evidence, criteria that cannot be met) given the wrong claims found.

    A wrong clause taints its sentence and the sentence's other clauses: 「它是为了防止梯度上溢：……所以
    要把 loss 乘一个系数」 reads close to the loss-scaling point only because it is about loss scaling.
    And an interviewer gives no credit for a point the candidate holds a misconception about,
    whatever else they say near it.
    """
    parents = analysis.parents or list(range(len(analysis.units)))
    sentences = {parents[u] for u in wrong} | set(wrong)
    units = {u for u in range(len(analysis.units)) if u in sentences or parents[u] in sentences}
    criteria = {analysis.statement_criterion[s] for s in wrong.values()} if analysis.statement_criterion else set()
    return units, criteria


def criterion_findings(
    analysis: Analysis, params: OfflineParams, wrong: dict[int, int] | None = None
) -> list[CriterionFinding]:
    """Each criterion's level and evidence unit (`wrong`: common error -> unit asserting it).

    Signal of a unit = its cosine to the criterion minus the answer's baseline (or, if higher, the
    question's own cosine to the criterion: a restated question is no evidence), plus a bonus for the
    criterion's keywords. A unit making a wrong claim is no evidence; a unit the verifier does not
    read as supporting the point (P(supports) below `params.support`) is close to it without saying
    it, and a bare list of terms names a point without explaining it: both earn at most partial. A
    unit the verifier doubts (P(contradicts) at least `params.doubt` against a statement of the point,
    below the bar of a reported wrong claim) earns nothing for that point: the candidate is not told
    of a claim the verifier is unsure of, but is not credited for it either.
    """
    verified = params.support > 0 and analysis.support.shape == analysis.criterion_sims.shape
    doubted = _doubted(analysis, params)
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
            if u in wrong_units or (u, col) in doubted:
                continue
            if analysis.enumeration[u]:
                signal = float(sims[u, col]) + params.keyword_bonus * analysis.keywords_anywhere[col]
                level = min_level(level_from_signal(signal, params.met, params.partial), Level.partial)
            else:
                signal = float(sims[u, col]) + params.keyword_bonus * analysis.keywords_in_prose[col]
                level = level_from_signal(signal, params.met, params.partial)
                if verified and level is Level.met and not analysis.support[u, col] >= params.support:
                    level = Level.partial
            if (LEVEL_VALUE[level], signal) > (LEVEL_VALUE[best.level], best.signal):
                best = CriterionFinding(cid, level, signal, float(analysis.criterion_sims[u, col]), u)
        findings.append(best)
    return findings


def rubric_coverage(question: Question, analysis: Analysis, params: OfflineParams) -> tuple[float, int]:
    """(rubric part, number of wrong claims) the judge gives an analysed answer: the criterion levels
    of its verdict without the rest of it (anchor grade, feedback), the wrong claims read once."""
    wrong = wrong_claims(analysis, params)
    findings = criterion_findings(analysis, params, wrong)
    levels = [(c.weight, f.level) for c, f in zip(question.rubric.criteria, findings, strict=True)]
    return rubric_score(levels), len(wrong)


def _doubted(analysis: Analysis, params: OfflineParams) -> set[tuple[int, int]]:
    """(unit, criterion) pairs where the unit may contradict a statement about the criterion."""
    if params.doubt >= 1.0 or analysis.contradiction.size == 0 or not analysis.statement_criterion:
        return set()
    units, statements = np.nonzero(np.nan_to_num(analysis.contradiction, nan=0.0) >= params.doubt)
    return {(int(u), analysis.statement_criterion[int(s)]) for u, s in zip(units, statements, strict=True)}


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
            # No extrapolation: an answer longer than every anchor is graded as long as the longest.
            zx = np.clip(zx, za.min(axis=0), za.max(axis=0))
            gram = gram + (za * weights) @ za.T
            kx = kx + (za * weights) @ zx
        return anchor_regression(kx.tolist(), gram.tolist(), scores, params.anchor_ridge)
    return anchor_estimate(cosines, scores, params.anchor_k, params.anchor_temperature)


ENUMERATION_NOTE_SHARE = 0.5  # above this share of bare term lists, the feedback says so


def verdict_from_analysis(
    question: Question, analysis: Analysis, params: OfflineParams, exclude_anchor: str | None = None
) -> JudgeVerdict:
    """Thresholds applied to raw similarities. `exclude_anchor` leaves one anchor out (fitting)."""
    wrong = wrong_claims(analysis, params)
    verdicts = []
    by_id = {c.id: c for c in question.rubric.criteria}
    chinese = is_chinese(" ".join(analysis.units))
    claims = {u: _claim(analysis, params, u, s) for u, s in wrong.items()}
    # Criterion id -> the (first) wrong claim that voids it, for the verdict's comment.
    contradicted: dict[str, str] = {}
    for u, s in sorted(wrong.items()):
        contradicted.setdefault(analysis.criterion_ids[analysis.statement_criterion[s]], claims[u])
    for f in criterion_findings(analysis, params, wrong):
        unit = analysis.units[f.unit] if f.unit >= 0 else ""
        claim = contradicted.get(f.id, "")
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
    errors = [f"{claims[u]}（原文：「{analysis.units[u]}」）" for u in sorted(wrong)]
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


def common_error_of(analysis: Analysis, params: OfflineParams, unit: int) -> str:
    """The rubric's common error a unit reads as (closest, at least `error_threshold`), or ""."""
    if analysis.error_sims.shape[1]:
        e = int(np.argmax(analysis.error_sims[unit]))
        if analysis.error_sims[unit, e] >= params.error_threshold:
            return analysis.errors[e]
    return ""


def _claim(analysis: Analysis, params: OfflineParams, unit: int, statement: int) -> str:
    """How a wrong claim is reported: as the rubric's common error it is (close to one), otherwise as
    contradicting the statement."""
    return common_error_of(analysis, params, unit) or f"与「{analysis.statements[statement]}」矛盾"


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

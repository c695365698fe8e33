"""Agreement of the evaluator with human grades, side by side with baselines from the same run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from evaluator.bank.loader import QuestionBank
from evaluator.calibration.labelled import LabelledAnswer
from evaluator.calibration.metrics import agreement
from evaluator.core import Evaluator
from evaluator.matching.index import embed_with_stores
from evaluator.matching.tfidf import CharTfidf
from evaluator.scoring import anchor_estimate
from evaluator.text import split_units

Factory = Callable[[QuestionBank], Evaluator]
KNN_K, KNN_TEMPERATURE = 5, 0.05
MIN_REFIT_SAMPLES = 30  # fewer graded anchors than this: keep the shipped blend


@dataclass
class BenchmarkResult:
    name: str
    n: int
    systems: dict[str, dict[str, float]] = field(default_factory=dict)
    unscored: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Preds:
    gold: list[float] = field(default_factory=list)
    by_system: dict[str, list[float]] = field(default_factory=dict)

    def add(self, gold: float, **values: float) -> None:
        self.gold.append(gold)
        for k, v in values.items():
            self.by_system.setdefault(k, []).append(v)


def _linear_map(x: list[float], y: list[float]) -> Callable[[float], float]:
    """Least-squares map of a raw baseline signal onto the grade scale (fitted on calibration data)."""
    if len(x) < 2 or np.std(x) == 0:
        mean = float(np.mean(y)) if y else 50.0
        return lambda _v: mean
    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return lambda v: float(np.clip(slope * v + intercept, 0, 100))


def preload(ev: Evaluator, answers: list[LabelledAnswer]) -> None:
    """Embed every answer and its sentences in large batches through the persistent vector store.

    Graded one at a time, a thousand answers cost a model call each; batched they cost a fraction of
    that, and a second run of the same benchmark embeds nothing."""
    texts: list[str] = []
    for a in answers:
        if a.answer.strip():
            texts += [*(split_units(a.answer) or [a.answer.strip()]), a.answer.strip()]
    ev.embedder.remember(embed_with_stores(list(dict.fromkeys(texts)), ev.embedder, ev.home))


def calibrate_on_anchors(ev: Evaluator) -> Evaluator:
    """`ev` with the blend (anchor neighbourhood, similarity range, weights) refitted on the bank's own
    graded anchors, each left out of its own anchor estimate: what `evaluate calibrate` does for a bank
    without labelled answers; `ev` itself when there are too few. The judge's thresholds stay as shipped."""
    from evaluator.calibration.fitting import collect_samples, fit_blend

    samples = collect_samples(ev)
    if len(samples) < MIN_REFIT_SAMPLES:
        return ev
    return ev.with_calibration(fit_blend(samples, ev.calibration, f"{ev.calibration.version}+anchors"))


def score_fold(ev: Evaluator, test: list[LabelledAnswer], calib: list[LabelledAnswer], preds: _Preds) -> int:
    """Grade `test` with `ev`; baselines mapped onto the scale with `calib`. Returns unscored count.
    The caller preloads the answers' vectors (once, not per fold)."""
    bank = ev.bank
    refs = {q.id: q.reference for q in bank}
    tfidf = CharTfidf(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)  # scikit-learn's numbers
    tfidf.fit_transform(list(refs.values()) + [a.answer for a in calib + test if a.answer.strip()])

    def tfidf_cos(a: LabelledAnswer) -> float:
        m = tfidf.transform([a.answer, refs[a.question_id]])
        return float((m[0] @ m[1].T).toarray()[0, 0])

    def emb_cos(a: LabelledAnswer) -> float:
        if not a.answer.strip():
            return 0.0
        return float(ev.embedder.encode([a.answer.strip()])[0] @ ev.index.vector(refs[a.question_id]))

    def knn(a: LabelledAnswer) -> float:
        """The nearest-anchor grade on its own (5 nearest, softmax over cosine / 0.05)."""
        anchors = ev.bank.get(a.question_id).rubric.anchors
        if not a.answer.strip() or not anchors:
            return mean
        vec = ev.embedder.encode([a.answer.strip()])[0]
        est = anchor_estimate([float(vec @ ev.index.vector(x.answer)) for x in anchors], [x.score for x in anchors],
                              KNN_K, KNN_TEMPERATURE)  # fmt: skip
        return mean if est is None else est

    mean = float(np.mean([a.grade for a in calib])) if calib else 50.0
    tf_map = _linear_map([tfidf_cos(a) for a in calib], [a.grade for a in calib])
    em_map = _linear_map([emb_cos(a) for a in calib], [a.grade for a in calib])
    unscored = 0
    for a in test:
        if not a.answer.strip():
            final, rubric, anchor = 0.0, 0.0, 0.0  # an empty answer earns nothing; the evaluator refuses it
        else:
            result = ev.evaluate(a.answer, question_id=a.question_id)
            if result.score is None or result.parts is None:
                unscored += 1
                continue
            final, rubric = result.score, result.parts.rubric
            anchor = result.parts.anchor if result.parts.anchor is not None else final
        preds.add(
            a.grade,
            evaluator=final,
            **{"evaluator: rubric part": rubric, "evaluator: anchor grade": anchor},
            **{"baseline: always the mean": mean, "baseline: char n-gram TF-IDF cosine": tf_map(tfidf_cos(a))},
            **{"baseline: embedding cosine": em_map(emb_cos(a)), "baseline: nearest anchors (k-NN)": knn(a)},
        )
    return unscored


def _result(name: str, preds: _Preds, unscored: int, notes: list[str]) -> BenchmarkResult:
    systems = {k: agreement(v, preds.gold) for k, v in preds.by_system.items()}
    return BenchmarkResult(name=name, n=len(preds.gold), systems=systems, unscored=unscored, notes=notes)


def benchmark_split(
    name: str, ev: Evaluator, calib: list[LabelledAnswer], test: list[LabelledAnswer], refit: bool = False
) -> BenchmarkResult:
    """Grade `test`; `refit` first fits the blend on the bank's anchors (an imported bank)."""
    preds = _Preds()
    notes = [f"{len(calib)} calibration answers map the baselines; {len(test)} tested"]
    preload(ev, calib + test)
    if refit:
        ev = calibrate_on_anchors(ev)
        notes.append("blend fitted on the anchors (the calibration answers)")
    unscored = score_fold(ev, test, calib, preds)
    return _result(name, preds, unscored, notes)


def benchmark_kfold(
    name: str, answers: list[LabelledAnswer], make_bank: Callable[[list[LabelledAnswer]], QuestionBank],
    factory: Factory, k: int = 5,
) -> BenchmarkResult:  # fmt: skip
    """k-fold: each fold is graded with the other folds' answers as anchors (never its own)."""
    preds = _Preds()
    unscored = 0
    for fold in range(k):
        test = [a for i, a in enumerate(answers) if i % k == fold]
        rest = [a for i, a in enumerate(answers) if i % k != fold]
        ev = factory(make_bank(rest))
        preload(ev, answers)
        ev = calibrate_on_anchors(ev)
        unscored += score_fold(ev, test, rest, preds)
    note = f"{k}-fold cross-validation: anchors, the blend and the baseline maps fitted on the other folds"
    return _result(name, preds, unscored, [note])

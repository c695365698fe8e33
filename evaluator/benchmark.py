"""Agreement of the evaluator with human grades, side by side with baselines from the same run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .bank import QuestionBank
from .core import Evaluator
from .labelled import LabelledAnswer
from .metrics import agreement

Factory = Callable[[QuestionBank], Evaluator]


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


def score_fold(ev: Evaluator, test: list[LabelledAnswer], calib: list[LabelledAnswer], preds: _Preds) -> int:
    """Grade `test` with `ev`; baselines mapped onto the scale with `calib`. Returns unscored count."""
    bank = ev.bank
    refs = {q.id: q.reference for q in bank}
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    tfidf.fit(list(refs.values()) + [a.answer for a in calib + test if a.answer.strip()])

    def tfidf_cos(a: LabelledAnswer) -> float:
        m = tfidf.transform([a.answer, refs[a.question_id]])
        return float((m[0] @ m[1].T).toarray()[0, 0])

    def emb_cos(a: LabelledAnswer) -> float:
        if not a.answer.strip():
            return 0.0
        return float(ev.embedder.encode([a.answer.strip()])[0] @ ev.index.vector(refs[a.question_id]))

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
            **{"baseline: embedding cosine": em_map(emb_cos(a))},
        )
    return unscored


def _result(name: str, preds: _Preds, unscored: int, notes: list[str]) -> BenchmarkResult:
    systems = {k: agreement(v, preds.gold) for k, v in preds.by_system.items()}
    return BenchmarkResult(name=name, n=len(preds.gold), systems=systems, unscored=unscored, notes=notes)


def benchmark_split(
    name: str, ev: Evaluator, calib: list[LabelledAnswer], test: list[LabelledAnswer]
) -> BenchmarkResult:
    preds = _Preds()
    unscored = score_fold(ev, test, calib, preds)
    return _result(name, preds, unscored, [f"{len(calib)} calibration answers map the baselines; {len(test)} tested"])


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
        unscored += score_fold(factory(make_bank(rest)), test, rest, preds)
    return _result(name, preds, unscored, [f"{k}-fold cross-validation: anchors and baseline maps from other folds"])

"""Pure scoring functions: verdict levels and similarities in, numbers out. No I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evaluator.errors import BankError, ConfigError
from evaluator.models import LEVEL_VALUE, Level

MAX_PENALIZED_ERRORS = 3  # the penalty stops growing after this many wrong claims


def rubric_score(weighted_levels: Sequence[tuple[int, Level]]) -> float:
    """100 · Σ wᵢ·levelᵢ / Σ wᵢ (met 1, partial 0.5, missing 0)."""
    total = sum(w for w, _ in weighted_levels)
    if total <= 0:
        raise BankError("rubric has no positive weight")
    return 100.0 * sum(w * LEVEL_VALUE[level] for w, level in weighted_levels) / total


# The score formula, written once over arrays: the pipeline scores one answer with it, the
# calibration searches its weights over all graded answers at once with the same code.
FloatArray = npt.NDArray[np.float64]


def error_penalties(n_errors: npt.ArrayLike, per_error: float) -> FloatArray:
    """Points taken off the final score: per_error per wrong claim, for at most 3 claims."""
    penalty: FloatArray = per_error * np.clip(np.asarray(n_errors, float), 0, MAX_PENALIZED_ERRORS)
    return penalty


def similarity_scores(
    cosine: npt.ArrayLike, lo: float, hi: float, lexical: npt.ArrayLike = 0.0, lexical_weight: float = 0.0
) -> FloatArray:
    """100 · clip((s − lo) / (hi − lo), 0, 1) with s = cosine + λ·lexical.

    m3e cosines are compressed, lo/hi undo that; the char n-gram term rewards the reference's
    actual terms and numbers, which embeddings blur.
    """
    if hi <= lo:
        raise ConfigError(f"calibration: similarity range is empty: lo={lo} hi={hi}")
    s = np.asarray(cosine, float) + lexical_weight * np.asarray(lexical, float)
    return 100.0 * np.clip((s - lo) / (hi - lo), 0.0, 1.0)


def blend_scores(
    rubric: npt.ArrayLike,
    similarity: npt.ArrayLike,
    alpha: float,
    anchor: npt.ArrayLike = np.nan,
    anchor_weight: float = 0.0,
    penalty: npt.ArrayLike = 0.0,
) -> FloatArray:
    """final = α·rubric + (1−α)·similarity − penalty, with an optional anchor-grade share.

    With an anchor estimate a (NaN where there is none), the base becomes
    (1−β)·(α·rubric + (1−α)·similarity) + β·a. The wrong-claim penalty comes off the final score:
    topical similarity must not buy back a wrong claim.
    """
    if not 0.0 <= alpha <= 1.0 or not 0.0 <= anchor_weight <= 1.0:
        raise ConfigError(f"calibration: blend weights must lie in [0, 1] (alpha {alpha}, anchor {anchor_weight})")
    base = alpha * np.asarray(rubric, float) + (1.0 - alpha) * np.asarray(similarity, float)
    a = np.asarray(anchor, float)
    if anchor_weight > 0.0:
        base = np.where(np.isnan(a), base, (1.0 - anchor_weight) * base + anchor_weight * np.nan_to_num(a))
    final: FloatArray = np.clip(base - np.asarray(penalty, float), 0.0, 100.0)
    return final


def error_penalty(n_errors: int, per_error: float) -> float:
    return float(error_penalties(n_errors, per_error))


def similarity_score(cosine: float, lo: float, hi: float, lexical: float = 0.0, lexical_weight: float = 0.0) -> float:
    return float(similarity_scores(cosine, lo, hi, lexical, lexical_weight))


def blend(
    rubric: float,
    similarity: float,
    alpha: float,
    anchor: float | None = None,
    anchor_weight: float = 0.0,
    penalty: float = 0.0,
) -> float:
    """One answer's final score (blend_scores for one)."""
    return float(blend_scores(rubric, similarity, alpha, np.nan if anchor is None else anchor, anchor_weight, penalty))


def anchor_estimate(cosines: Sequence[float], scores: Sequence[float], k: int, temperature: float) -> float | None:
    """Similarity-weighted grade of the k nearest graded anchors (softmax over cosine / τ)."""
    if not cosines:
        return None
    if len(cosines) != len(scores):
        raise BankError(f"{len(cosines)} anchor similarities for {len(scores)} anchor grades")
    nearest = sorted(zip(cosines, scores, strict=True), key=lambda cs: -cs[0])[: max(k, 1)]
    top = nearest[0][0]
    weights = [math.exp((c - top) / temperature) for c, _ in nearest]
    return sum(w * s for w, (_, s) in zip(weights, nearest, strict=True)) / sum(weights)


def anchor_regression(
    cosines: Sequence[float], gram: Sequence[Sequence[float]], scores: Sequence[float], ridge: float
) -> float | None:
    """Kernel ridge regression of the grade on the anchors (linear kernel = cosine, centred).

    With many graded answers per question a regression finds the direction along which grades rise,
    which nearest neighbours cannot: on the ADS student answers it beats k-NN (5-fold Pearson 0.74 vs
    0.69). Predictions are clipped to 0-100.
    """
    n = len(scores)
    if n == 0:
        return None
    if len(cosines) != n or len(gram) != n:
        raise BankError(f"{n} anchor grades with {len(cosines)} similarities and {len(gram)} gram rows")
    y = np.asarray(scores, float)
    mu = float(y.mean())
    if n == 1:
        return mu
    k = np.asarray(gram, float)
    kx = np.asarray(cosines, float)
    col = k.mean(axis=0)
    kc = k - col[None, :] - col[:, None] + k.mean()
    kxc = kx - kx.mean() - col + k.mean()
    coef = np.linalg.solve(kc + ridge * np.eye(n), y - mu)
    return clip(mu + float(kxc @ coef), 0.0, 100.0)


def level_from_signal(signal: float, met: float, partial: float) -> Level:
    if signal >= met:
        return Level.met
    if signal >= partial:
        return Level.partial
    return Level.missing


def band(score: float | None) -> str:
    if score is None:
        return "unscored"
    if score >= 85:
        return "excellent"
    if score >= 70:
        return "good"
    if score >= 50:
        return "fair"
    if score >= 30:
        return "weak"
    return "poor"


def clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))

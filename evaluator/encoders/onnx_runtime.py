"""Transformer encoders run with onnxruntime and `tokenizers`: no torch, no transformers.

Importing torch and transformers costs seconds on a small CPU, before any model loads; the CLI
grades one answer and exits, so it pays that on every run. `evaluator.encoders.onnx_export` (run by
scripts/install.sh, where torch is installed anyway) writes a Hugging Face model folder as an
export folder; this module runs it:

- `model.onnx`: the model's graph; its output is `last_hidden_state` (task feature-extraction)
  or `logits` (task sequence-classification);
- `tokenizer.json`: the model's own fast tokenizer, as transformers loads it;
- `export.json`: `ExportMeta` below (task, pooling, max length, a fingerprint of the weights).

`OnnxEncoder.embed(texts)` gives sentence embeddings (pooled as sentence-transformers pools them,
then normalized); `OnnxEncoder.logits(pairs)` scores (text, text) pairs with a cross-encoder.
`find_export(name)` locates the export of a model by name; `load_encoder(folder, source)` loads one
and returns None when it is missing, unreadable or stale, so a caller can fall back to torch.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from evaluator.errors import EmbeddingError
from evaluator.settings import get_settings

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
# The package's own folder for exports (an editable install: the checkout, where .gitignore keeps
# them out of git); EVALUATOR_HOME/onnx serves installs whose package folder is read-only.
PACKAGE_EXPORTS = Path(__file__).resolve().parent.parent / "data" / "onnx"  # evaluator/data/onnx
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

Task = Literal["feature-extraction", "sequence-classification"]


class SourceFile(BaseModel):
    """One weights file of the exported model: cheap identity (size, mtime) and the real one (hash)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    size: int
    mtime_ns: int
    sha256: str


class ExportMeta(BaseModel):
    """export.json: what was exported from which weights, and how to run it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = EXPORT_FORMAT
    task: Task
    inputs: tuple[str, ...]
    max_length: int
    pad_id: int
    hidden_size: int
    # Sentence-embedding pooling (feature-extraction only): as the sentence-transformers model pools.
    pooling: Literal["mean", "cls"] | None = None
    normalize: bool = True
    labels: tuple[str, ...] = ()
    quantized: bool = False
    # The export against torch on probe texts: lowest cosine (embeddings) or largest logit difference.
    agreement: float | None = None
    source: tuple[SourceFile, ...] = ()


def export_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-60:]


def export_dirs(name: str) -> list[Path]:
    """Where an export of the model called `name` may be, first match wins."""
    dirs = [PACKAGE_EXPORTS / export_slug(name)]
    home = get_settings().home
    if home:
        dirs.append(home.expanduser() / "onnx" / export_slug(name))
    return dirs


def find_export(name: str) -> Path | None:
    return next((d for d in export_dirs(name) if (d / META_FILE).is_file()), None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_files(model_dir: Path) -> tuple[SourceFile, ...]:
    """Fingerprint of a model folder's weights (config.json too: it changes what the weights mean)."""
    out = []
    for name in ("config.json", *WEIGHT_FILES):
        path = model_dir / name
        if path.is_file():
            st = path.stat()
            out.append(SourceFile(name=name, size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=file_sha256(path)))
    return tuple(out)


def is_current(meta: ExportMeta, model_dir: Path) -> bool:
    """Whether the export was made from the weights now in `model_dir`.

    Size and mtime unchanged is taken as unchanged (no 100 MB hash on every start); otherwise the
    hash decides, so reinstalling the same weights does not make an export stale.
    """
    present = {n for n in ("config.json", *WEIGHT_FILES) if (model_dir / n).is_file()}
    if present != {f.name for f in meta.source}:
        return False
    for f in meta.source:
        path = model_dir / f.name
        st = path.stat()
        if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns) and (
            st.st_size != f.size or file_sha256(path) != f.sha256
        ):
            return False
    return True


def read_meta(folder: Path) -> ExportMeta | None:
    try:
        meta = ExportMeta.model_validate_json((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        log.info("ONNX export %s unusable: %s", folder, exc)
        return None
    if meta.format != EXPORT_FORMAT:
        return None
    return meta


class OnnxEncoder:
    """One exported encoder. Thread-safe: onnxruntime sessions may be run from several threads."""

    def __init__(self, folder: Path, meta: ExportMeta):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        self.meta = meta
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session: InferenceSession = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        tokenizer.enable_truncation(meta.max_length)
        tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self.tokenizer: Tokenizer = tokenizer
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.meta.hidden_size

    def _feeds(self, batch: Sequence[str | tuple[str, str]]) -> dict[str, np.ndarray]:
        with self._lock:  # a tokenizers.Tokenizer is not meant to be shared across threads mid-call
            encodings = self.tokenizer.encode_batch(list(batch))
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self.meta.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: feeds[name] for name in self.meta.inputs}

    def _run(self, batch: Sequence[str | tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        feeds = self._feeds(batch)
        (out,) = self.session.run(None, feeds)
        return np.asarray(out, dtype=np.float32), feeds["attention_mask"]

    def _batched(self, items: Sequence[str | tuple[str, str]], batch_size: int, fn: str) -> np.ndarray:
        """Run in batches of similar length (little padding), results in the input's order."""
        if not items:
            width = self.dim if fn == "embed" else len(self.meta.labels) or 1
            return np.zeros((0, width), dtype=np.float32)
        size = [len(x) if isinstance(x, str) else len(x[0]) + len(x[1]) for x in items]
        order = np.argsort(-np.asarray(size), kind="stable")
        parts = []
        for rows in padded_batches([size[i] for i in order], batch_size):
            out, mask = self._run([items[order[i]] for i in rows])
            parts.append(pool(out, mask, self.meta) if fn == "embed" else out)
        result = np.empty((len(items), parts[0].shape[1]), dtype=np.float32)
        result[order] = np.concatenate(parts)
        return result

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings, one row per text (normalized when the export says so)."""
        if self.meta.task != "feature-extraction":
            raise EmbeddingError(f"{self.folder}: a {self.meta.task} model gives no sentence embeddings")
        return self._batched(list(texts), batch_size, "embed")

    def logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """A cross-encoder's logits, one row per (first, second) pair; `meta.labels` names the columns."""
        if self.meta.task != "sequence-classification":
            raise EmbeddingError(f"{self.folder}: a {self.meta.task} model does not classify pairs")
        return self._batched([(a, b) for a, b in pairs], batch_size, "logits")


# Characters per batch, padding included: every text in a batch is padded to its longest, so one
# long text among 31 short ones would multiply the work by its length (a 560-character answer
# embedded with its 35 clauses: 2.9 s in one batch of 32, a few hundred ms in budgeted batches).
BATCH_CHARS = 2048


def padded_batches(sizes: Sequence[int], batch_size: int, budget: int = BATCH_CHARS) -> list[range]:
    """Consecutive index ranges over `sizes` (sorted longest first): at most `batch_size` items, at
    most `budget` characters once padded to the batch's first (longest) item, and no item shorter
    than half of it (it would be mostly padding)."""
    batches, start = [], 0
    while start < len(sizes):
        longest = max(1, sizes[start])
        count = max(1, min(batch_size, budget // longest))
        end = start + 1
        while end < min(len(sizes), start + count) and 2 * sizes[end] >= longest:
            end += 1
        batches.append(range(start, end))
        start = end
    return batches


def pool(hidden: np.ndarray, mask: np.ndarray, meta: ExportMeta) -> np.ndarray:
    """Token states -> sentence embeddings, as the sentence-transformers model pools them."""
    if meta.pooling == "cls":
        pooled = hidden[:, 0]
    else:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    if meta.normalize:
        pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(pooled, dtype=np.float32)


def load_encoder(folder: Path | None, source: Path | None = None) -> OnnxEncoder | None:
    """The export in `folder`, or None when there is none, it is stale (made from other weights
    than those in `source`), or onnxruntime / tokenizers cannot load it."""
    if folder is None:
        return None
    meta = read_meta(folder)
    if meta is None:
        return None
    if source is not None and not is_current(meta, source):
        log.info("ONNX export %s was made from other weights than %s; not used", folder, source)
        return None
    try:
        return OnnxEncoder(folder, meta)
    except Exception as exc:  # a missing runtime or a damaged file: the caller falls back
        log.info("ONNX export %s cannot be loaded: %s", folder, exc)
        return None


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float32)

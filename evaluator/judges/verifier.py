"""The claim verifier: does a unit of an answer support, contradict, or say nothing about a statement?

A small cross-encoder (the first layers of m3e-small, fine-tuned on pairs built from the bank by
`scripts/build_verifier_pairs.py` and `scripts/train_verifier.py`) reads the statement and the unit
together, which an embedding cannot: 「GPT 是 encoder，BERT 是 decoder」 embeds next to the truth with
the names swapped. Weights ship in `evaluator/data/verifier/` (fp16), with their int8 ONNX export in
`onnx/` beside them (made by scripts/train_verifier.py); they are loaded on first use and run with
onnxruntime, or, where the export cannot be used, int8 with torch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.errors import EmbeddingError

LABELS = ("supports", "contradicts", "neither")
SUPPORTS, CONTRADICTS, NEITHER = range(3)
MAX_LENGTH = 128
VERIFIER_DIR = Path(__file__).resolve().parent.parent / "data" / "verifier"
ONNX_DIR = "onnx"  # the int8 export, inside the weights folder
BATCH = 32
# A clause keeps the comma it was cut at, and every common error is written without a final mark: a
# verifier trained on texts as they were learned "no final mark, so a contradiction" and read a swap of
# BN and LN at 0.29 with the comma and 0.99 without. Both sides are trained and read without it.
_TRAILING = " \t\n，,。.；;：:、！!？?"


def plain(text: str) -> str:
    """A statement or unit as the verifier reads it: without the punctuation it was cut at."""
    return text.strip().rstrip(_TRAILING)


class Verifier:
    """Probabilities (supports, contradicts, neither) for (statement, unit) pairs; memoized."""

    def __init__(self, path: Path = VERIFIER_DIR, threads: int | None = None):
        self.path = path
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._onnx: Any = None
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], np.ndarray] = {}
        self._memo_lock = threading.Lock()

    @property
    def available(self) -> bool:
        return (self.path / "config.json").is_file()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None and self._onnx is None:
                self._onnx = _onnx_export(self.path)
            if self._model is None and self._onnx is None:
                from evaluator.encoders.embedder import hub_offline

                try:
                    with hub_offline():  # the weights are local: never ask the hub
                        import torch
                        import transformers
                        from transformers import AutoTokenizer, BertForSequenceClassification

                        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                        tokenizer = AutoTokenizer.from_pretrained(str(self.path))
                        model = BertForSequenceClassification.from_pretrained(str(self.path), dtype=torch.float32)
                    model.eval()  # type: ignore[no-untyped-call]
                    # int8 linear layers: the same verdicts (measured by scripts/measure_verifier.py
                    # through this path) at about half the CPU time.
                    model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                        model, {torch.nn.Linear}, dtype=torch.qint8
                    )
                except Exception as exc:  # any loader failure becomes one clear message
                    raise EmbeddingError(f"claim verifier under {self.path}: cannot load ({exc})") from exc
                self._tokenizer, self._model = tokenizer, model
            return self._tokenizer, self._model

    def forget(self) -> None:
        """Drop memoized verdicts (benchmarks time each answer as new)."""
        with self._memo_lock:
            self._memo.clear()

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """pairs x 3 probabilities, in LABELS order."""
        pairs = [(plain(p), plain(h)) for p, h in pairs]
        out = np.zeros((len(pairs), len(LABELS)), np.float32)
        with self._memo_lock:
            todo = [i for i, p in enumerate(pairs) if p not in self._memo]
            for i, p in enumerate(pairs):
                if p in self._memo:
                    out[i] = self._memo[p]
        unique = list(dict.fromkeys(pairs[i] for i in todo))
        if unique:
            fresh = self._run(unique)
            with self._memo_lock:
                for p, row in zip(unique, fresh, strict=True):
                    self._memo[p] = row
                if len(self._memo) > 20_000:
                    self._memo.clear()
            found = dict(zip(unique, fresh, strict=True))
            for i in todo:
                out[i] = found[pairs[i]]
        return out

    def _run(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        tokenizer, model = self._load()
        if self._onnx is not None:
            from evaluator.encoders.onnx_runtime import softmax

            return softmax(self._onnx.logits(pairs, batch_size=BATCH))
        import torch  # only here: the ONNX path must not pay torch's import (seconds)

        rows = []
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        if self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                chunk = [pairs[i] for i in order[start : start + BATCH]]
                enc = tokenizer(
                    [p for p, _ in chunk],
                    [h for _, h in chunk],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                rows.append(torch.softmax(model(**enc).logits.float(), dim=-1).numpy())
        probs = np.concatenate(rows) if rows else np.zeros((0, len(LABELS)), np.float32)
        result = np.empty_like(probs)
        result[order] = probs
        return result


def _onnx_export(path: Path) -> Any:
    """The ONNX export of the verifier's weights in `path`, or None (missing, made from other weights,
    or no onnxruntime): the caller falls back to torch."""
    try:
        from evaluator.encoders.onnx_runtime import load_encoder
    except ImportError:
        return None
    return load_encoder(path / ONNX_DIR, path)

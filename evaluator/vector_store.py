"""Content-addressed embedding store: text hash -> vector.

Embedding the whole bank takes minutes on two CPU cores, so the package ships the bank's vectors
(`evaluator/data/vectors-<model>.npz`, float16) and the user cache keeps any others; only texts
found in neither are embedded. `scripts/embed_bank.py` refreshes the shipped file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

SHIPPED_DIR = Path(__file__).with_name("data")


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def model_slug(model_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[-60:]


def shipped_path(model_name: str) -> Path:
    return SHIPPED_DIR / f"vectors-{model_slug(model_name)}.npz"


def read_store(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            keys, vecs = data["keys"], data["vectors"]
    except (OSError, ValueError, KeyError):
        return {}
    return {str(k): v.astype(np.float32) for k, v in zip(keys, vecs, strict=True)}


def write_store(path: Path, vectors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(sorted(vectors))
    matrix = np.stack([vectors[k] for k in keys]).astype(np.float16) if len(keys) else np.zeros((0, 1), np.float16)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=keys, vectors=matrix)
    tmp.replace(path)

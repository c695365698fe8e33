"""Content-addressed embedding store: text hash -> vector.

Embedding the whole bank takes minutes on two CPU cores, so the package ships the bank's vectors
(`evaluator/data/vectors-<model>.npz`, float16) and the user cache keeps any others; only texts
found in neither are embedded. `scripts/embed_bank.py` refreshes the shipped file.

Several processes may fill the user store at once (two CLI runs, a server): a store is written
under a unique temporary name and renamed over the old one (a reader sees the old or the new file,
never half of one), and `merge_store` adds vectors under an exclusive lock, re-reading the file
first, so one writer never drops what another has just added.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no lock between processes; each write is still atomic
    fcntl = None  # type: ignore[assignment]

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data"  # evaluator/data


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
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # missing or torn: rebuilt from the model
        return {}
    return {str(k): v.astype(np.float32) for k, v in zip(keys, vecs, strict=True)}


def write_store(path: Path, vectors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array(sorted(vectors))
    matrix = np.stack([vectors[k] for k in keys]).astype(np.float16) if len(keys) else np.zeros((0, 1), np.float16)
    atomic_write(path, lambda f: np.savez_compressed(f, keys=keys, vectors=matrix))


def merge_store(path: Path, fresh: dict[str, np.ndarray]) -> None:
    """Add `fresh` to the store at `path`, keeping whatever other processes wrote meanwhile."""
    with locked(path):
        write_store(path, read_store(path) | fresh)


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write a file under a unique temporary name in its folder, flush it to disk, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes on `path` (through `<path>.lock`), for read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

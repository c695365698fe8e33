"""SQLite cache of judge verdicts, keyed by a hash of everything that changes the judge's output.

Retries, timeouts and concurrency are not in the key: they change how a verdict is obtained, not
what it is. Only valid verdicts are stored (an unscored reply or an error is never cached).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .models import JudgeVerdict, Usage

CACHE_FILE = "judge-cache.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS judge_cache (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    verdict TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL
)
"""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the key parts (model, base URL, prompt version, inputs, sampling)."""
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


class JudgeCache:
    """One SQLite file; a connection per operation, so threads and processes can share it."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"judge cache {path}: cannot open ({exc})") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as con, con:
            yield con

    def get(self, key: str) -> tuple[JudgeVerdict, Usage] | None:
        """The stored verdict and the usage it cost when it was made, or None."""
        try:
            with self._connect() as con:
                row = con.execute(
                    "SELECT verdict, input_tokens, output_tokens FROM judge_cache WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.Error:
            return None  # an unreadable cache is a miss, not a failure
        if row is None:
            return None
        try:
            verdict = JudgeVerdict.model_validate_json(row[0])
        except ValueError:
            return None
        return verdict, Usage(input_tokens=row[1], output_tokens=row[2], calls=1)

    def put(self, key: str, verdict: JudgeVerdict, usage: Usage) -> None:
        stored = verdict.model_copy(update={"meta": verdict.meta.model_copy(update={"usage": Usage()})})
        try:
            with self._connect() as con:
                con.execute(
                    "INSERT OR REPLACE INTO judge_cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        time.time(),
                        verdict.meta.model or "",
                        verdict.meta.prompt_version or "",
                        stored.model_dump_json(),
                        usage.input_tokens,
                        usage.output_tokens,
                    ),
                )
        except sqlite3.Error:
            return  # a cache that cannot be written costs a call next time, nothing more

    def __len__(self) -> int:
        with self._connect() as con:
            (n,) = con.execute("SELECT COUNT(*) FROM judge_cache").fetchone()
        return int(n)

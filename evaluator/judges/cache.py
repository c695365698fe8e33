"""SQLite cache of judge verdicts, keyed by a hash of everything that changes the judge's output.

Retries, timeouts and concurrency are not in the key: they change how a verdict is obtained, not
what it is. Only valid verdicts are stored (an unscored reply or an error is never cached).

The service's threads and several CLI runs share one file: it is in WAL mode (readers never wait
for a writer), every connection waits up to `BUSY_TIMEOUT_S` for a lock instead of failing, and each
thread of each process has its own connection (a sqlite3 connection must not cross threads or a fork).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from evaluator.errors import ConfigError
from evaluator.models import JudgeVerdict, Usage

log = logging.getLogger(__name__)

CACHE_FILE = "judge-cache.sqlite3"
BUSY_TIMEOUT_S = 30.0

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


class SQLiteFile:
    """One SQLite file shared by threads and processes: WAL, a busy timeout, a connection per thread.

    `schema` runs once when the file is opened. Connections are per (process, thread), so a forked child
    never reuses its parent's, and each is closed with the object."""

    def __init__(self, path: Path, schema: str):
        self.path = path
        self._local = threading.local()
        # every connection opened, with its thread: a dead thread's is closed when the next one opens
        self._all: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = self.connection()
        # Two processes opening a new file at once: switching it to WAL does not wait on the busy handler
        # (SQLite answers "database is locked" at once), so the switch is retried within the same timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                con.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file, read by later connections
                con.executescript(schema)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def connection(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            # isolation_level=None: autocommit; one statement is one transaction unless BEGIN is said
            # check_same_thread=False only so that close() may close it; no other thread ever uses it
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
            self._local.con, self._local.pid = con, os.getpid()
            with self._all_lock:
                self._prune()
                self._all.append((weakref.ref(threading.current_thread()), con))
        return con

    def _prune(self) -> None:
        live = []
        for ref, con in self._all:
            thread = ref()
            if thread is not None and thread.is_alive():
                live.append((ref, con))
            else:
                con.close()
        self._all = live

    def journal_mode(self) -> str:
        (mode,) = self.connection().execute("PRAGMA journal_mode").fetchone()
        return str(mode)

    def close(self) -> None:
        """Close every connection this object opened in this process (call when no thread uses it)."""
        with self._all_lock:
            cons = [con for _, con in self._all]
            self._all = []
            self._local = threading.local()
        for con in cons:
            con.close()


class JudgeCache:
    """The verdict cache: one SQLite file (see `SQLiteFile`) that threads and processes share."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._db = SQLiteFile(path, _SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"judge cache {path}: cannot open ({exc})") from exc

    def get(self, key: str) -> tuple[JudgeVerdict, Usage] | None:
        """The stored verdict and the usage it cost when it was made, or None."""
        try:
            row = (
                self._db.connection()
                .execute("SELECT verdict, input_tokens, output_tokens FROM judge_cache WHERE key = ?", (key,))
                .fetchone()
            )
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
            self._db.connection().execute(
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
        except sqlite3.Error as exc:  # a cache that cannot be written costs a call next time, nothing more
            log.warning("judge cache %s: entry not stored (%s)", self.path, exc)

    def __len__(self) -> int:
        (n,) = self._db.connection().execute("SELECT COUNT(*) FROM judge_cache").fetchone()
        return int(n)

    def close(self) -> None:
        self._db.close()

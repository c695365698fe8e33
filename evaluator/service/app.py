"""The HTTP API (`evaluate serve`) and the practice page, over the same library as the CLI.

    request ──► auth (optional bearer token) ──► size limits ──► Evaluator (one, shared) ──► JSON

One `Evaluator` (embedding model, FAISS index, judge) is created and warmed up once; every request
shares it. Evaluation is blocking (embedding, the offline judge, or a sync LLM call), so it runs in a
bounded thread pool and the event loop keeps serving other requests while a judge call is in flight.

Status codes: 400 invalid input (bad JSON, missing field, empty or over-long answer, unknown judge),
401 missing or wrong token, 404 unknown question or job, 413 body over 1 MB, 422 *no confident match*
(nothing is graded, so an answer is never scored against the wrong rubric; the body lists the closest
bank questions: send one of them back as `question_id`), 429 too many transcript jobs, 502 the judge
failed, 503 the embedding model is unavailable. An answer the judge could not grade is not an error:
200 with `score: null` and `unscored_reason`. Every error body is `{"error": {"type", "message", ...}}`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evaluator.config import MAX_ANSWER_CHARS
from evaluator.errors import (
    ConfigError,
    EvaluatorError,
    InputError,
    JudgeUnavailable,
    NoConfidentMatch,
    TooManyJobs,
    UnknownJob,
    UnknownQuestion,
    UnknownTopic,
)
from evaluator.judges.cache import SQLiteFile
from evaluator.models import Evaluation, TranscriptReport, TurnResult
from evaluator.settings import Settings, get_settings
from evaluator.transcripts.parse import MAX_TRANSCRIPT_CHARS, parse_transcript

if TYPE_CHECKING:
    from evaluator.core import Evaluator

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
TOKEN_ENV = "EVALUATOR_API_TOKEN"
MAX_BODY_BYTES = 1_000_000
MAX_QUESTION_CHARS = 2_000
DEFAULT_WORKERS = 8
MAX_ACTIVE_JOBS = 4
KEEP_FINISHED_JOBS = 100
STATIC_DIR = Path(__file__).resolve().parent / "static"
DOCS_ASSETS = "/docs-assets"  # Swagger UI and ReDoc, served from the fastapi-offline wheel: no CDN
OPEN_PATHS = frozenset({"/", "/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})

JudgeName = Literal["auto", "offline", "openai"]
T = TypeVar("T")


# -- wire models ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvaluateRequest(_Body):
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS, description="the candidate's answer")
    question: str | None = Field(
        default=None, max_length=MAX_QUESTION_CHARS, description="the question asked (matched against the bank)"
    )
    question_id: str | None = Field(default=None, max_length=200, description="a bank question id (no matching)")
    judge: JudgeName | None = Field(default=None, description="override the server's judge for this request")
    reveal: bool = Field(default=False, description="include the reference answer in the result")
    reference: str | None = Field(
        default=None, max_length=MAX_ANSWER_CHARS,
        description="a reference answer to grade against (with `question`; the rubric is derived from it)",
    )  # fmt: skip


class FeedbackRequest(_Body):
    """The interviewer's own grade of an answer: by the evaluation's id, or by question id and answer."""

    evaluation_id: str | None = Field(default=None, max_length=64, description="`evaluation_id` of a result")
    question_id: str | None = Field(default=None, max_length=200, description="with `answer`, instead of the id")
    answer: str | None = Field(default=None, max_length=MAX_ANSWER_CHARS)
    grade: float = Field(ge=0, le=100, description="your grade, 0-100")
    note: str = Field(default="", max_length=2000)


class FeedbackReply(BaseModel):
    stored: bool = Field(description="false when the same submission was already stored (nothing appended)")
    question_id: str
    evaluation_id: str | None
    grade: float
    graded_answers: int = Field(description="your graded answers of this question: anchors from the next evaluation")


class TranscriptRequest(_Body):
    transcript: str = Field(
        min_length=1, max_length=MAX_TRANSCRIPT_CHARS, description="the transcript text (speaker turns, JSON, JSONL)"
    )
    format: Literal["auto", "text", "json", "jsonl"] = "auto"
    judge: JudgeName | None = None
    concurrency: int = Field(default=4, ge=1, le=16, description="turns judged at once")


class QuestionSummary(BaseModel):
    id: str
    question: str
    aliases: tuple[str, ...]
    topic: str
    difficulty: int


class CriterionInfo(BaseModel):
    id: str
    description: str
    weight: int


class QuestionDetail(QuestionSummary):
    reference: str | None = Field(default=None, description="only with ?reveal=true")
    criteria: tuple[CriterionInfo, ...] | None = Field(default=None, description="only with ?reveal=true")


class QuestionList(BaseModel):
    total: int
    topics: list[str] = Field(description="every topic of the bank, for a filter menu")
    questions: list[QuestionSummary]
    matched_by: Literal["all", "text", "similarity"] = "all"


class Health(BaseModel):
    status: Literal["ok"]
    questions: int
    judge: str
    auth: bool


JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]


class Job(BaseModel):
    id: str
    status: JobStatus = Field(
        description="queued, running, done, failed, or interrupted (the server stopped or cannot run its judge "
        "now: it resumes when the server starts again with that judge)"
    )
    total: int | None = Field(default=None, description="turns in the transcript, once parsed")
    finished: int = Field(default=0, description="turns finished so far")
    created: float
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    report: TranscriptReport | None = None
    resumed: int = Field(default=0, description="times the job was taken up again after a server restart")
    turns: tuple[TurnResult, ...] | None = Field(
        default=None, description="the turns finished so far, until the report is ready"
    )


# -- errors -----------------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request body is over {MAX_BODY_BYTES:,} bytes")


def _error_response(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None,
                    **extra: Any) -> JSONResponse:  # fmt: skip
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status, headers=headers)


def error_of(exc: BaseException) -> dict[str, Any]:
    """The `error` object of an error response or a failed job: the class's `kind`, the message and its details."""
    if isinstance(exc, EvaluatorError):
        return {"type": exc.kind, "message": str(exc), **exc.details()}
    return {"type": "internal_error", "message": f"{type(exc).__name__}: {exc}"}


# -- middleware -------------------------------------------------------------------------------------


class BodyLimit:
    """Refuse request bodies over `max_bytes`: by Content-Length up front, and while streaming (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            response = _error_response(413, "body_too_large", f"the request body is over {self.max_bytes:,} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()  # an HTTPException: FastAPI passes it to the handler below
            return message

        await self.app(scope, limited, send)


class SecurityHeaders:
    """nosniff everywhere; on the page, a CSP that allows nothing from elsewhere (no CDN, by design)."""

    CSP = b"default-src 'self'; img-src 'self' data:"

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = scope["path"] == "/" or scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if page:
                    headers.append((b"content-security-policy", self.CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenAuth:
    """`Authorization: Bearer <token>` on every API path when a token is set (constant-time compare).
    The page, its assets, /healthz and the OpenAPI docs stay open; they hold no data."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self._token = token.encode("utf-8") if token else None

    def __repr__(self) -> str:  # never show the token
        return f"TokenAuth(enabled={self._token is not None})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._token is None or scope["type"] != "http" or not self._guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self._token):
            response = _error_response(
                401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <EVALUATOR_API_TOKEN>)",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _guarded(path: str) -> bool:
        return path not in OPEN_PATHS and not path.startswith(("/static/", DOCS_ASSETS + "/"))


# -- transcript jobs --------------------------------------------------------------------------------

JOBS_FILE = "jobs.sqlite3"

_JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    default_judge TEXT NOT NULL,
    owner TEXT NOT NULL,
    total INTEGER,
    finished INTEGER NOT NULL DEFAULT 0,
    started REAL,
    ended REAL,
    error TEXT,
    report TEXT,
    resumed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_turns (
    job_id TEXT NOT NULL,
    key TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (job_id, key)
);
"""

_UNFINISHED = ("queued", "running", "interrupted")
_STOPPED = {"type": "interrupted", "message": "the server stopped before the job finished; it resumes when the "
                                             "server starts again"}  # fmt: skip


class _Stopped(Exception):
    """Raised into a running batch when the server shuts down: its finished turns are already stored."""


class _Progress:
    """A BatchObserver that stores each finished turn and the count in the job's row (called from the
    batch's thread). `kept` are the turns an earlier run of the job finished (after a restart)."""

    def __init__(self, store: JobStore, job_id: str, kept: tuple[TurnResult, ...] = ()):
        self._store = store
        self.job_id = job_id
        self.kept = kept

    def started(self, total: int, reused: int) -> None:
        self._store._execute("UPDATE jobs SET total = ?, finished = ? WHERE id = ?", (total, reused, self.job_id))

    def finished(self, result: TurnResult) -> None:
        self._store._save_turn(self.job_id, result)
        if self._store.closing:
            raise _Stopped()


JobRunner = Callable[[TranscriptRequest, str, _Progress], TranscriptReport]


class JobStore:
    """Transcript jobs in SQLite under EVALUATOR_HOME: the request, status, progress, each turn's result
    as it finishes and the report. At most `max_active` queued or running in this server; the last
    `keep` finished ones are kept.

    A restart loses nothing: `resume()` (at start-up) takes the unfinished jobs no live server owns and
    runs them again, reusing the turns they had finished; one that cannot run now (its judge is not
    configured any more) is marked `interrupted` with the reason and its finished turns. `close()` stops
    running jobs at their next finished turn and marks them interrupted, so a shutdown does not wait."""

    def __init__(
        self,
        path: Path,
        runner: JobRunner,
        max_active: int = MAX_ACTIVE_JOBS,
        keep: int = KEEP_FINISHED_JOBS,
        workers: int = 2,
    ):
        self.path = path
        self._runner = runner
        try:
            self._db = SQLiteFile(path, _JOBS_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"job store {path}: cannot open ({exc})") from exc
        self._lock = threading.Lock()  # submit: count and insert as one step
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transcript-job")
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.max_active = max_active
        self.keep = keep
        self.closing = False

    # -- storage ---------------------------------------------------------------------------------
    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._db.connection().execute(sql, args).fetchall()

    def _save_turn(self, job_id: str, result: TurnResult) -> None:
        con = self._db.connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            row = (job_id, result.key, result.model_dump_json())
            con.execute("INSERT OR REPLACE INTO job_turns VALUES (?, ?, ?)", row)
            con.execute("UPDATE jobs SET finished = finished + 1 WHERE id = ?", (job_id,))
            con.execute("COMMIT")
        except Exception:  # the turn is stored whole or not at all
            con.execute("ROLLBACK")
            raise

    def _turns(self, job_id: str) -> tuple[TurnResult, ...]:
        rows = self._execute("SELECT result FROM job_turns WHERE job_id = ? ORDER BY rowid", (job_id,))
        return tuple(TurnResult.model_validate_json(r[0]) for r in rows)

    def _set(self, job_id: str, **values: Any) -> None:
        names = ", ".join(f"{k} = ?" for k in values)
        self._execute(f"UPDATE jobs SET {names} WHERE id = ?", (*values.values(), job_id))  # names: ours

    # -- jobs ------------------------------------------------------------------------------------
    def submit(self, request: TranscriptRequest, default_judge: str) -> Job:
        """Store a job and queue it; 429 when this server already has `max_active` unfinished."""
        with self._lock:
            (active,) = self._execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('queued', 'running')", (self.owner,)
            )[0]
            if active >= self.max_active:
                raise TooManyJobs(f"{active} transcript jobs are already queued or running; "
                                  "try again when one has finished")  # fmt: skip
            job_id = uuid.uuid4().hex
            self._execute(
                "INSERT INTO jobs (id, created, status, request, default_judge, owner) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, time.time(), "queued", request.model_dump_json(), default_judge, self.owner),
            )
            self._evict()
        self._pool.submit(self._run, job_id, request)
        job = self.view(job_id)
        assert job is not None
        return job

    def resume(self) -> list[str]:
        """Queue again every unfinished job that no live server runs; the ids taken over."""
        taken: list[str] = []
        with self._lock:
            rows = self._execute(
                f"SELECT id, owner, status, request FROM jobs WHERE status IN {_UNFINISHED} ORDER BY created"
            )
            for job_id, owner, status, request in rows:
                if status != "interrupted" and owner != self.owner and _alive(owner):
                    continue  # another server on this home is running it
                # Taken only if still as read: two servers starting on one home never both run it.
                claimed = self._db.connection().execute(
                    "UPDATE jobs SET status = 'queued', owner = ?, error = NULL, resumed = resumed + 1 "
                    "WHERE id = ? AND owner = ? AND status = ?",
                    (self.owner, job_id, owner, status),
                )
                if claimed.rowcount != 1:
                    continue
                try:
                    body = TranscriptRequest.model_validate_json(request)
                except ValueError as exc:  # stored by another version: it can never run, so it fails
                    self._set(job_id, status="failed", ended=time.time(),
                              error=json.dumps(error_of(exc), ensure_ascii=False))  # fmt: skip
                    continue
                taken.append(job_id)
                self._pool.submit(self._run, job_id, body)
        return taken

    def _run(self, job_id: str, request: TranscriptRequest) -> None:
        if self.closing:
            self._set(job_id, status="interrupted", error=json.dumps(_STOPPED))
            return
        self._set(job_id, status="running", started=time.time(), ended=None)
        (default_judge,) = self._execute("SELECT default_judge FROM jobs WHERE id = ?", (job_id,))[0]
        progress = _Progress(self, job_id, self._turns(job_id))
        try:
            report = self._runner(request, default_judge, progress)
        except _Stopped:
            self._set(job_id, status="interrupted", error=json.dumps(_STOPPED))
            return
        except Exception as exc:  # a failed job is reported, never raised into the pool
            if isinstance(exc, JudgeUnavailable):
                # the judge this job ran with is not configured now: keep it for a restart that has it
                self._set(job_id, status="interrupted", ended=time.time(),
                          error=json.dumps(error_of(exc), ensure_ascii=False))  # fmt: skip
                return
            if not isinstance(exc, EvaluatorError):
                log.exception("transcript job %s failed", job_id)
            self._set(job_id, status="failed", ended=time.time(), error=json.dumps(error_of(exc), ensure_ascii=False))
            return
        self._set(job_id, status="done", ended=time.time(), total=report.summary.total, finished=len(report.turns),
                  report=report.model_dump_json())  # fmt: skip

    def view(self, job_id: str) -> Job | None:
        rows = self._execute(
            "SELECT status, total, finished, created, started, ended, error, report, resumed FROM jobs WHERE id = ?",
            (job_id,),
        )
        if not rows:
            return None
        status, total, finished, created, started, ended, error, report, resumed = rows[0]
        end = ended or time.time()
        return Job(
            id=job_id, status=status, total=total, finished=finished, created=created,
            seconds=round(end - started, 2) if started else 0.0, error=json.loads(error) if error else None,
            report=TranscriptReport.model_validate_json(report) if report else None, resumed=resumed,
            turns=None if report else self._turns(job_id),
        )  # fmt: skip

    def _evict(self) -> None:
        old = self._execute(
            "SELECT id FROM jobs WHERE status IN ('done', 'failed') ORDER BY created DESC LIMIT -1 OFFSET ?",
            (self.keep,),
        )
        for (job_id,) in old:
            self._execute("DELETE FROM job_turns WHERE job_id = ?", (job_id,))
            self._execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def close(self) -> None:
        """Stop: queued jobs do not start, running ones stop at their next finished turn (interrupted)."""
        self.closing = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._execute(
            "UPDATE jobs SET status = 'interrupted', error = ? WHERE owner = ? AND status = 'queued'",
            (json.dumps(_STOPPED), self.owner),
        )


def _alive(owner: str) -> bool:
    """Whether the server process that owns a job still runs (on this host; another host's is assumed to)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


# -- the service ------------------------------------------------------------------------------------


class Service:
    """The shared state of the app: the evaluator, one evaluator per judge asked for, the thread pool."""

    def __init__(self, evaluator: Evaluator, workers: int = DEFAULT_WORKERS):
        self.evaluator = evaluator
        self.limiter = anyio.CapacityLimiter(workers)
        self.jobs = JobStore(evaluator.home / JOBS_FILE, self.run_job)
        self._by_judge: dict[str, Evaluator] = {}
        self._lock = threading.Lock()
        self._stale = False  # a grade was stored: the next request reloads the user bank

    def warm_up(self) -> None:
        """Load the embedding models, both indexes and the judge now, not on the first request."""
        ev = self.evaluator
        _ = ev.index
        _ = ev.judge
        ev.embedder.encode(["warm up"])
        ev.match(question="warm up")  # the question matcher's model and index

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def refresh(self) -> None:
        """After a stored grade, the evaluators of the next requests see it (requests in flight keep theirs)."""
        if not self._stale:
            return
        with self._lock:
            if self._stale:
                self.evaluator = self.evaluator.reloaded()
                self._by_judge.clear()
                self._stale = False

    def feedback(self, body: FeedbackRequest) -> FeedbackReply:
        from evaluator.bank.feedback import add_grade, latest_grades, load_record

        ev = self.evaluator
        if body.evaluation_id:
            record = load_record(ev.home, body.evaluation_id)
            qid, answer, eval_id, score = record.question_id, record.answer, record.id, record.score
        elif body.question_id and body.answer and body.answer.strip():
            if body.question_id not in ev.bank:
                raise UnknownQuestion(f"no question with id {body.question_id!r} in the bank")
            qid, answer, eval_id, score = body.question_id, body.answer, None, None
        else:
            raise InputError("send evaluation_id, or question_id and answer, with the grade")
        root = ev.user_bank or ev.home / "bank"
        stored, new = add_grade(root, question_id=qid, answer=answer, grade=body.grade, source="api", note=body.note,
                                eval_id=eval_id, evaluator_score=score)  # fmt: skip
        if new:
            self._stale = True
        n = len(latest_grades(root).get(qid, []))
        return FeedbackReply(stored=new, question_id=qid, evaluation_id=eval_id, grade=stored.grade, graded_answers=n)

    def evaluator_for(self, judge: JudgeName | None) -> Evaluator:
        """The shared evaluator, or a sibling with another judge that shares its bank, model and index."""
        self.refresh()
        if judge is None:
            return self.evaluator
        with self._lock:
            ev = self._by_judge.get(judge)
            if ev is None:
                ev = self.evaluator.with_judge(judge)
                try:
                    _ = ev.judge
                except ConfigError as exc:  # the client asked for a judge this server cannot run
                    raise JudgeUnavailable(str(exc)) from exc
                self._by_judge[judge] = ev
            return ev

    def question_detail(self, qid: str, reveal: bool) -> QuestionDetail:
        if qid not in self.evaluator.bank:
            raise UnknownQuestion(f"no question with id {qid!r} in the bank")
        q = self.evaluator.bank.get(qid)
        criteria = tuple(CriterionInfo(id=c.id, description=c.description, weight=c.weight) for c in q.rubric.criteria)
        return QuestionDetail(
            **_summary(q).model_dump(), reference=q.reference if reveal else None, criteria=criteria if reveal else None
        )

    def evaluate(self, body: EvaluateRequest) -> Evaluation:
        question_id = (body.question_id or "").strip() or None
        if question_id is not None and question_id not in self.evaluator.bank:
            raise UnknownQuestion(f"no question with id {question_id!r} in the bank")
        ev = self.evaluator_for(body.judge)
        if body.reference is not None and not (body.question or "").strip():
            raise InputError("a reference needs the question it answers (`question`)")
        result = ev.evaluate(body.answer, question=body.question, question_id=question_id,
                             include_reference=body.reveal, reference=body.reference)  # fmt: skip
        if result.question_id is None:
            raise NoConfidentMatch(
                "no bank question matches the question text confidently enough to grade the answer; send one of "
                "the candidates' ids as question_id" if body.question else
                "no bank question matches this answer confidently enough to grade it; send one of the "
                "candidates' ids as question_id, or the question text as question",
                candidates=[c.model_dump(mode="json") for c in result.match.candidates],
            )  # fmt: skip
        return result

    def transcript(self, body: TranscriptRequest, progress: _Progress | None = None,
                   ev: Evaluator | None = None) -> TranscriptReport:  # fmt: skip
        from evaluator.transcripts.batch import run_turns

        # Parsed from the text only: a one-line body is never taken for a server-side file path.
        turns = parse_transcript(body.transcript, "<transcript>", body.format)
        ev = ev or self.evaluator_for(body.judge)
        kept = progress.kept if progress is not None else ()
        return run_turns(ev, turns, source="<transcript>", concurrency=body.concurrency, observer=progress,
                         previous=kept)  # fmt: skip

    def run_job(self, body: TranscriptRequest, default_judge: str, progress: _Progress) -> TranscriptReport:
        """A stored job, perhaps after a restart: with the judge it was submitted with (the server's
        default then, when it named none). Turns it finished before are reused while still current."""
        name = body.judge or default_judge
        if name == self.evaluator.judge.name:
            ev = self.evaluator
        elif name in ("auto", "offline", "openai"):
            ev = self.evaluator_for(cast(JudgeName, name))
        else:
            raise JudgeUnavailable(f"the job's judge {name!r} is not available on this server")
        return self.transcript(body, progress, ev)


def _summary(q: Any) -> QuestionSummary:
    return QuestionSummary(id=q.id, question=q.question, aliases=q.aliases, topic=q.topic, difficulty=q.difficulty)


def _search(ev: Evaluator, topic: str | None, text: str | None, limit: int) -> QuestionList:
    questions = [q for q in ev.bank if topic is None or q.topic == topic]
    how: Literal["all", "text", "similarity"] = "all"
    if text and text.strip():
        needle = text.strip().lower()
        hits = [q for q in questions if needle in q.id or any(needle in p.lower() for p in q.phrasings)]
        how = "text"
        if not hits:  # no literal hit: the closest questions by the matcher (embedding + n-grams)
            allowed = {q.id for q in questions}
            ids = [c.id for c in ev.match(question=text, k=max(limit, 10)).candidates if c.id in allowed]
            hits = [ev.bank.get(i) for i in ids]
            how = "similarity"
        questions = hits
    return QuestionList(
        total=len(questions), topics=ev.bank.topics, questions=[_summary(q) for q in questions[:limit]],
        matched_by=how,
    )  # fmt: skip


def create_app(evaluator: Evaluator, *, token: str | None = None, workers: int = DEFAULT_WORKERS,
               warm: bool = True) -> FastAPI:  # fmt: skip
    """The ASGI app over one shared evaluator. `token` defaults to $EVALUATOR_API_TOKEN (empty = no auth)."""
    token = token if token is not None else Settings.secret(get_settings().api_token)
    service = Service(evaluator, workers=workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            await anyio.to_thread.run_sync(service.warm_up)
        resumed = await anyio.to_thread.run_sync(service.jobs.resume)
        if resumed:
            log.info("resumed %d unfinished transcript job(s) from %s", len(resumed), service.jobs.path)
        yield
        service.jobs.close()

    app = FastAPI(
        title="interview-evaluator",
        version="0.1.0",
        summary="Grades answers to LLM-engineering interview questions against rubrics and reference answers.",
        description=(__doc__ or "").split("\n\n", 1)[-1],
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own pages load their scripts from a CDN: blank offline; served below
        redoc_url=None,
    )
    app.state.service = service
    _offline_docs(app)

    @app.exception_handler(EvaluatorError)
    async def _library_error(request: Request, exc: EvaluatorError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"error": error_of(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if bad_json is not None:  # its loc is a character position, not a field
            loc = bad_json.get("loc", ())
            where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
            why = (bad_json.get("ctx") or {}).get("error", "")
            message = f"the request body is not valid JSON{where}" + (f" ({why})" if why else "")
            return _error_response(400, "invalid_request", message, details=[{"field": "", "problem": message}])
        content_type = request.headers.get("content-type", "")
        if errors and all(tuple(e.get("loc", ())) == ("body",) for e in errors) and "json" not in content_type:
            message = (f"the request body must be a JSON object sent with Content-Type: application/json "
                       f"(got {content_type or 'no Content-Type'})")  # fmt: skip
            return _error_response(400, "invalid_request", message, details=[{"field": "", "problem": message}])
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
            for e in errors
        ]
        first = details[0] if details else {"field": "", "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first["field"] else str(first["problem"])
        return _error_response(400, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException (and BodyTooLarge) included
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        return _error_response(exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail),
                               headers=exc.headers)  # fmt: skip

    # -- routes -----------------------------------------------------------------------------------
    @app.get("/healthz", tags=["meta"])
    async def healthz() -> Health:
        ev = service.evaluator
        return Health(status="ok", questions=len(ev.bank), judge=ev.judge.name, auth=token is not None)

    @app.get("/v1/questions", tags=["questions"])
    async def list_questions(
        topic: str | None = Query(default=None, description="only this topic"),
        q: str | None = Query(default=None, max_length=MAX_QUESTION_CHARS, description="search text"),
        limit: int = Query(default=500, ge=1, le=1000),
    ) -> QuestionList:
        ev = service.evaluator
        if topic is not None and topic not in ev.bank.topics:
            raise UnknownTopic(f"unknown topic {topic!r}; one of: {', '.join(ev.bank.topics)}")
        if q and q.strip():  # may fall back to an embedding search: off the event loop
            return await service.run(_search, ev, topic, q, limit)
        return _search(ev, topic, q, limit)

    @app.get("/v1/questions/random", tags=["questions"])
    async def random_question(topic: str | None = Query(default=None)) -> QuestionSummary:
        pool = [x for x in service.evaluator.bank if topic is None or x.topic == topic]
        if not pool:
            raise UnknownTopic(f"no questions with topic {topic!r}; one of: {', '.join(service.evaluator.bank.topics)}")
        return _summary(random.choice(pool))

    @app.get("/v1/questions/{question_id}", tags=["questions"])
    async def get_question(
        question_id: str, reveal: bool = Query(default=False, description="include the reference answer and rubric")
    ) -> QuestionDetail:
        return service.question_detail(question_id, reveal)

    @app.post(
        "/v1/evaluate", tags=["evaluate"],
        responses={400: {"description": "invalid input"}, 401: {"description": "token required"},
                   404: {"description": "unknown question_id"}, 413: {"description": "body over 1 MB"},
                   422: {"description": "no confident match; `error.candidates` lists the closest questions"},
                   502: {"description": "the judge failed"}},
    )  # fmt: skip
    async def evaluate(body: EvaluateRequest) -> Evaluation:
        """Grade one answer. 200 with `score: null` when the judge could not grade it (`unscored_reason`)."""
        if not body.answer.strip():
            raise InputError("the answer is empty")
        return await service.run(service.evaluate, body)

    @app.post(
        "/v1/feedback", tags=["evaluate"],
        responses={400: {"description": "invalid input (a grade outside 0-100 or not a number)"},
                   401: {"description": "token required"},
                   404: {"description": "unknown evaluation_id or question_id"}},
    )  # fmt: skip
    async def feedback(body: FeedbackRequest) -> FeedbackReply:
        """Your own grade of an answer, stored as an anchor of its question in your bank (append-only, with
        time and source). A repeated submission is not stored twice. The judges use it from the next evaluation."""
        return await service.run(service.feedback, body)

    @app.post(
        "/v1/transcripts", tags=["transcripts"], status_code=202, response_model=None,
        responses={202: {"model": Job, "description": "the job (poll its Location)"},
                   200: {"model": TranscriptReport, "description": "the report (with ?wait=true)"},
                   400: {"description": "no usable turns, or too many"}, 429: {"description": "too many jobs"}},
    )  # fmt: skip
    async def submit_transcript(
        body: TranscriptRequest,
        wait: bool = Query(default=False, description="grade now and answer with the report (200), not a job"),
    ) -> Job | JSONResponse:
        """Grade every turn of a transcript as a background job (202 + `GET /v1/jobs/{id}` for progress),
        or at once with `?wait=true`. The transcript is checked before the job starts (400 when unusable)."""
        # bad input fails now (400), not later in the job
        await service.run(parse_transcript, body.transcript, "<transcript>", body.format)
        service.evaluator_for(body.judge)
        if wait:
            report = await service.run(service.transcript, body)
            return JSONResponse(report.model_dump(mode="json"), status_code=200)
        job = await service.run(service.jobs.submit, body, service.evaluator.judge.name)
        return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs/{job_id}", tags=["transcripts"])
    async def get_job(job_id: str) -> Job:
        """Progress (`finished` of `total` turns) and, once done, the report."""
        job = await service.run(service.jobs.view, job_id)
        if job is None:
            raise UnknownJob(f"no job {job_id!r} (finished jobs are kept: the last {service.jobs.keep})")
        return job

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(TokenAuth, token=token)  # outermost: nothing runs for an unauthenticated request
    return app


def _offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their scripts and styles served from this server."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse

    assets = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} · API", oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )  # fmt: skip

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json", title=f"{app.title} · API", redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False,
        )  # fmt: skip


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    bank: Path | None = None,
    judge: str | None = None,
    workers: int = DEFAULT_WORKERS,
    user_bank: Path | None = None,
) -> None:
    """Load the evaluator once and serve the API and the page with uvicorn until interrupted."""
    import uvicorn

    from evaluator.core import Evaluator

    token = Settings.secret(get_settings().api_token)
    if not is_loopback(host) and token is None:
        log.warning("serving on %s without %s: anyone who can reach this port can use the API", host, TOKEN_ENV)
    evaluator = Evaluator(bank=bank, judge=judge, user_bank=user_bank)
    app = create_app(evaluator, token=token, workers=workers)
    uvicorn.run(app, host=host, port=port, log_level="info")


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "MAX_BODY_BYTES", "TOKEN_ENV", "create_app", "serve"]

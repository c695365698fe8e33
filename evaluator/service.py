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

import copy
import hmac
import ipaddress
import logging
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import MAX_ANSWER_CHARS
from .errors import BankError, ConfigError, EmbeddingError, EvaluatorError, InputError, JudgeError, NoConfidentMatch
from .models import Evaluation, TranscriptReport, TurnResult
from .transcript import MAX_TRANSCRIPT_CHARS, parse_transcript

if TYPE_CHECKING:
    from .core import Evaluator

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


JobStatus = Literal["queued", "running", "done", "failed"]


class Job(BaseModel):
    id: str
    status: JobStatus
    total: int | None = Field(default=None, description="turns in the transcript, once parsed")
    finished: int = Field(default=0, description="turns finished so far")
    created: float
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    report: TranscriptReport | None = None


# -- errors -----------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error with its HTTP status and a machine-readable type."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.extra = extra


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request body is over {MAX_BODY_BYTES:,} bytes")


def _error_response(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None,
                    **extra: Any) -> JSONResponse:  # fmt: skip
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status, headers=headers)


def translate(exc: EvaluatorError) -> ApiError:
    """The library's exception tree -> HTTP status codes (one place, like the CLI's exit codes)."""
    if isinstance(exc, InputError):
        return ApiError(400, "invalid_input", str(exc))
    if isinstance(exc, NoConfidentMatch):
        return ApiError(422, "no_confident_match", str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(500, "config_error", str(exc))
    if isinstance(exc, JudgeError):
        return ApiError(502, "judge_error", str(exc))
    if isinstance(exc, EmbeddingError):
        return ApiError(503, "embedding_unavailable", str(exc))
    if isinstance(exc, BankError):
        return ApiError(500, "bank_error", str(exc))
    return ApiError(500, "evaluator_error", str(exc))


def error_of(exc: BaseException) -> dict[str, Any]:
    """The `error` object of a failed job."""
    api = translate(exc) if isinstance(exc, EvaluatorError) else exc if isinstance(exc, ApiError) else None
    if api is None:
        return {"type": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
    return {"type": api.kind, "message": api.message, **api.extra}


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
        return path not in OPEN_PATHS and not path.startswith("/static/")


# -- transcript jobs --------------------------------------------------------------------------------


@dataclass
class _JobState:
    id: str
    created: float = field(default_factory=time.time)
    status: JobStatus = "queued"
    total: int | None = None
    finished: int = 0
    started: float | None = None
    ended: float | None = None
    error: dict[str, Any] | None = None
    report: TranscriptReport | None = None

    def view(self, with_report: bool = True) -> Job:
        end = self.ended or time.time()
        return Job(
            id=self.id, status=self.status, total=self.total, finished=self.finished, created=self.created,
            seconds=round(end - self.started, 2) if self.started else 0.0, error=self.error,
            report=self.report if with_report else None,
        )  # fmt: skip


class _Progress:
    """A BatchObserver that counts finished turns into a job (called from the batch's thread)."""

    def __init__(self, job: _JobState, lock: threading.Lock):
        self._job = job
        self._lock = lock

    def started(self, total: int, reused: int) -> None:
        with self._lock:
            self._job.total = total
            self._job.finished = reused

    def finished(self, result: TurnResult) -> None:
        with self._lock:
            self._job.finished += 1


class JobStore:
    """Transcript batches in memory: at most `max_active` queued or running, the last finished kept."""

    def __init__(self, max_active: int = MAX_ACTIVE_JOBS, keep: int = KEEP_FINISHED_JOBS, workers: int = 2):
        self._jobs: OrderedDict[str, _JobState] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transcript-job")
        self.max_active = max_active
        self.keep = keep

    def submit(self, work: Callable[[_Progress], TranscriptReport]) -> _JobState:
        with self._lock:
            active = sum(j.status in ("queued", "running") for j in self._jobs.values())
            if active >= self.max_active:
                raise ApiError(429, "too_many_jobs", f"{active} transcript jobs are already queued or running; "
                                                     "try again when one has finished")  # fmt: skip
            job = _JobState(id=uuid.uuid4().hex)
            self._jobs[job.id] = job
            self._evict()
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: _JobState, work: Callable[[_Progress], TranscriptReport]) -> None:
        with self._lock:
            job.status, job.started = "running", time.time()
        try:
            report = work(_Progress(job, self._lock))
            total, finished = report.summary.total, len(report.turns)
        except BaseException as exc:  # a failed job is reported, never raised into the pool
            if not isinstance(exc, EvaluatorError | ApiError):
                log.exception("transcript job %s failed", job.id)
            with self._lock:
                job.status, job.error, job.ended = "failed", error_of(exc), time.time()
            return
        with self._lock:
            job.status, job.report, job.ended = "done", report, time.time()
            job.total, job.finished = total, finished

    def view(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.view() if job is not None else None

    def _evict(self) -> None:
        done = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for key in done[: max(0, len(done) - self.keep)]:
            del self._jobs[key]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# -- the service ------------------------------------------------------------------------------------


class Service:
    """The shared state of the app: the evaluator, one evaluator per judge asked for, the thread pool."""

    def __init__(self, evaluator: Evaluator, workers: int = DEFAULT_WORKERS):
        self.evaluator = evaluator
        self.limiter = anyio.CapacityLimiter(workers)
        self.jobs = JobStore()
        self._by_judge: dict[str, Evaluator] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the embedding model, the index and the judge now, not on the first request."""
        ev = self.evaluator
        _ = ev.index
        _ = ev.judge
        ev.embedder.encode(["warm up"])

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def evaluator_for(self, judge: JudgeName | None) -> Evaluator:
        """The shared evaluator, or a sibling with another judge that shares its bank, model and index."""
        if judge is None:
            return self.evaluator
        with self._lock:
            ev = self._by_judge.get(judge)
            if ev is None:
                ev = copy.copy(self.evaluator)
                ev._judge_spec = judge  # the same fields Evaluator(judge=...) sets; the judge is made lazily
                ev._judge = None
                try:
                    _ = ev.judge
                except ConfigError as exc:  # the client asked for a judge this server cannot run
                    raise ApiError(400, "judge_unavailable", str(exc)) from exc
                self._by_judge[judge] = ev
            return ev

    def question_detail(self, qid: str, reveal: bool) -> QuestionDetail:
        if qid not in self.evaluator.bank:
            raise ApiError(404, "unknown_question", f"no question with id {qid!r} in the bank")
        q = self.evaluator.bank.get(qid)
        criteria = tuple(CriterionInfo(id=c.id, description=c.description, weight=c.weight) for c in q.rubric.criteria)
        return QuestionDetail(
            **_summary(q).model_dump(), reference=q.reference if reveal else None, criteria=criteria if reveal else None
        )

    def evaluate(self, body: EvaluateRequest) -> Evaluation:
        question_id = (body.question_id or "").strip() or None
        if question_id is not None and question_id not in self.evaluator.bank:
            raise ApiError(404, "unknown_question", f"no question with id {question_id!r} in the bank")
        ev = self.evaluator_for(body.judge)
        result = ev.evaluate(body.answer, question=body.question, question_id=question_id,
                             include_reference=body.reveal)  # fmt: skip
        if result.question_id is None:
            raise ApiError(
                422, "no_confident_match",
                "no bank question matches this answer confidently enough to grade it; send one of the "
                "candidates' ids as question_id, or the question text as question",
                candidates=[c.model_dump(mode="json") for c in result.match.candidates],
            )  # fmt: skip
        return result

    def transcript(self, body: TranscriptRequest, progress: _Progress | None = None) -> TranscriptReport:
        from .batch import run_turns

        # Parsed from the text only: a one-line body is never taken for a server-side file path.
        turns = parse_transcript(body.transcript, "<transcript>", body.format)
        ev = self.evaluator_for(body.judge)
        return run_turns(ev, turns, source="<transcript>", concurrency=body.concurrency, observer=progress)


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
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    service = Service(evaluator, workers=workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            await anyio.to_thread.run_sync(service.warm_up)
        yield
        service.jobs.close()

    app = FastAPI(
        title="interview-evaluator",
        version="0.1.0",
        summary="Grades answers to LLM-engineering interview questions against rubrics and reference answers.",
        description=(__doc__ or "").split("\n\n", 1)[-1],
        lifespan=lifespan,
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.kind, exc.message, **exc.extra)

    @app.exception_handler(EvaluatorError)
    async def _library_error(request: Request, exc: EvaluatorError) -> JSONResponse:
        api = translate(exc)
        if api.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error_response(api.status, api.kind, api.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
            for e in exc.errors()
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
            raise ApiError(400, "unknown_topic", f"unknown topic {topic!r}; one of: {', '.join(ev.bank.topics)}")
        if q and q.strip():  # may fall back to an embedding search: off the event loop
            return await service.run(_search, ev, topic, q, limit)
        return _search(ev, topic, q, limit)

    @app.get("/v1/questions/random", tags=["questions"])
    async def random_question(topic: str | None = Query(default=None)) -> QuestionSummary:
        pool = [x for x in service.evaluator.bank if topic is None or x.topic == topic]
        if not pool:
            raise ApiError(404, "unknown_topic", f"no questions with topic {topic!r}")
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
            raise ApiError(400, "invalid_input", "the answer is empty")
        return await service.run(service.evaluate, body)

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
        job = service.jobs.submit(lambda progress: service.transcript(body, progress))
        return JSONResponse(
            job.view().model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"}
        )

    @app.get("/v1/jobs/{job_id}", tags=["transcripts"])
    async def get_job(job_id: str) -> Job:
        """Progress (`finished` of `total` turns) and, once done, the report."""
        job = service.jobs.view(job_id)
        if job is None:
            raise ApiError(404, "unknown_job", f"no job {job_id!r} (jobs are kept in memory until restart)")
        return job

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(TokenAuth, token=token)  # outermost: nothing runs for an unauthenticated request
    return app


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
) -> None:
    """Load the evaluator once and serve the API and the page with uvicorn until interrupted."""
    import uvicorn

    from .core import Evaluator

    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and token is None:
        log.warning("serving on %s without %s: anyone who can reach this port can use the API", host, TOKEN_ENV)
    evaluator = Evaluator(bank=bank, judge=judge)
    app = create_app(evaluator, token=token, workers=workers)
    uvicorn.run(app, host=host, port=port, log_level="info")


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "MAX_BODY_BYTES", "TOKEN_ENV", "create_app", "serve"]

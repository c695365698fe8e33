"""The LLM judge: any OpenAI-compatible Chat Completions endpoint, with structured output.

One judgment is a short conversation: the prompt, the model's reply, and -- when the reply is not a
valid verdict -- a bounded number of re-asks that quote the validation errors. Each HTTP call is
retried (tenacity) on 429 / 5xx / timeouts / connection errors with exponential backoff and jitter,
honouring Retry-After, within a bounded number of attempts and a total deadline; 401 / 403 / quota
errors fail at once. A reply that stays invalid is returned as *unscored* with the reason, never as 0.

Structured output degrades by what the server supports: `response_format` json_schema (from the
pydantic reply model), then JSON mode, then plain text; the reply is always validated with pydantic
and never extracted by slicing from the first `{` to the last `}` (an answer can contain JSON).

The API key is held by the client only; error messages and logs are redacted.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from evaluator.config import home_dir
from evaluator.errors import ConfigError, JudgeError
from evaluator.judges.base import JudgeRequest
from evaluator.judges.cache import CACHE_FILE, JudgeCache, cache_key, canonical_json
from evaluator.judges.prompts import (
    PROMPT_VERSION,
    SCHEMA_NAME,
    WireVerdict,
    build_messages,
    grammar_schema,
    reask_message,
    verdict_schema,
)
from evaluator.judges.verify import criteria_problems
from evaluator.models import CriterionVerdict, JudgeMeta, JudgeVerdict, Usage
from evaluator.settings import DEFAULT_JUDGE_MODEL, Settings, get_settings
from evaluator.text import is_chinese

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from openai.types.chat import ChatCompletion

log = logging.getLogger(__name__)

NAME = "openai"
DEFAULT_MODEL = DEFAULT_JUDGE_MODEL
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Structured-output modes, strongest first. "json_object_schema" is JSON mode plus a `schema` field:
# llama-cpp-python's server turns it into a grammar (its server rejects type json_schema).
MODES = ("json_schema", "json_object_schema", "json_object", "text")
RETRY_STATUS = frozenset({408, 409, 429})
MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of one HTTP call; `deadline_s` bounds a whole judgment (re-asks included)."""

    attempts: int = 5
    deadline_s: float = 180.0
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0
    jitter_s: float = 1.0

    def backoff(self, attempt_number: int) -> float:
        base = min(self.max_wait_s, self.initial_wait_s * 2.0 ** (attempt_number - 1))
        return base + random.uniform(0, self.jitter_s)


@dataclass(frozen=True)
class JudgeOptions:
    """Overrides from the command line (or library callers) on top of the environment."""

    model: str | None = None
    base_url: str | None = None
    cache: bool | None = None
    temperature: float | None = None
    seed: int | None = None
    concurrency: int | None = None  # requests in flight (the CLI's --concurrency); else EVALUATOR_CONCURRENCY


@dataclass(frozen=True)
class JudgeSettings:
    model: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 2048
    timeout_s: float = 60.0
    max_reasks: int = 2
    concurrency: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def display_url(self) -> str:
        return display_url(self.base_url or DEFAULT_BASE_URL)

    def sampling(self, sample: int) -> dict[str, Any]:
        """The sampling parameters of one judgment; sample i of --samples N uses seed + i."""
        seed = None if self.seed is None else self.seed + sample
        return {"temperature": self.temperature, "seed": seed, "max_tokens": self.max_tokens}


def display_url(url: str) -> str:
    """The base URL without credentials or query string, for reports, logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


_SECRETISH = re.compile(r"(sk-|Bearer\s+)[A-Za-z0-9_\-.]{4,}")


def redact(text: str, *secrets: str) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _SECRETISH.sub(r"\1***", text)


class JudgeCallError(JudgeError):
    """The endpoint gave no usable reply. `attempts` counts the HTTP requests made."""

    def __init__(self, message: str, attempts: int = 0, status: int | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.status = status


# -- settings ---------------------------------------------------------------------------------
def settings_from_env(options: JudgeOptions | None = None) -> JudgeSettings:
    """The EVALUATOR_* (or OPENAI_*) settings, with `options` taking precedence."""
    opts = options or JudgeOptions()
    env = get_settings()
    base_url = opts.base_url or env.base_url
    api_key = Settings.secret(env.api_key)
    if not api_key:
        if not base_url:
            raise ConfigError(
                "the openai judge needs EVALUATOR_API_KEY or OPENAI_API_KEY, or EVALUATOR_BASE_URL / "
                "OPENAI_BASE_URL of a server that needs no key (Ollama, vLLM, llama.cpp)"
            )
        api_key = "no-key"  # local servers ignore it; the client insists on one
    if base_url and urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"base URL {display_url(base_url)!r} must start with http:// or https://")
    retry = RetryPolicy(
        attempts=env.max_attempts,
        deadline_s=env.deadline,
        initial_wait_s=env.retry_wait,
        jitter_s=env.retry_jitter,
    )
    return JudgeSettings(
        model=opts.model or env.model,
        api_key=api_key,
        base_url=base_url.rstrip("/") if base_url else None,
        temperature=opts.temperature if opts.temperature is not None else env.temperature,
        seed=opts.seed if opts.seed is not None else env.seed,
        max_tokens=env.max_tokens,
        timeout_s=env.timeout,
        max_reasks=env.max_reasks,
        concurrency=opts.concurrency if opts.concurrency is not None else env.concurrency,
        retry=retry,
    )


def cache_enabled(options: JudgeOptions | None) -> bool:
    if options is not None and options.cache is not None:
        return options.cache
    return not get_settings().no_cache


# -- the reply --------------------------------------------------------------------------------
_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(.*)\n[ \t]*```\Z", re.S)


def parse_reply(content: str) -> tuple[WireVerdict | None, list[str]]:
    """The whole reply must be the JSON object (a reply that is entirely one fenced block is unwrapped)."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return WireVerdict.model_validate_json(text), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:8]:
            loc = ".".join(str(p) for p in err["loc"]) or "(reply)"
            problems.append(f"{loc}: {err['msg']}")
        return None, problems


def to_verdict(wire: WireVerdict, answer: str, meta: JudgeMeta) -> JudgeVerdict:
    feedback = wire.feedback.strip()
    ignored = [s.strip() for s in wire.ignored_instructions if s.strip()]
    if ignored:
        quoted = "；".join(f"「{s[:80]}」" for s in ignored[:3])
        if is_chinese(answer):
            feedback += f"（注意：回答中含有指令性文字，评分时已忽略：{quoted}）"
        else:
            feedback += f" (Note: the answer contains instructions, which were ignored: {quoted})"
    criteria = [
        CriterionVerdict(criterion_id=c.criterion_id, level=c.level, evidence=c.evidence, comment=c.comment)
        for c in wire.criteria
    ]
    errors = [e.strip() for e in wire.errors if e.strip()]
    return JudgeVerdict(feedback=feedback.strip(), criteria=criteria, errors=errors, judge=NAME, meta=meta)


class _Conversation:
    """The messages of one judgment and what its replies cost; I/O-free, shared by judge and ajudge."""

    def __init__(self, request: JudgeRequest, settings: JudgeSettings):
        self.request = request
        self.settings = settings
        self.ids = [c.id for c in request.question.rubric.criteria]
        self.messages: list[dict[str, str]] = build_messages(request.question, request.answer)
        self.replies = 0
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.problems: list[str] = []
        self.started = time.monotonic()

    def remaining(self) -> float:
        return self.settings.retry.deadline_s - (time.monotonic() - self.started)

    def meta(self, cached: bool = False) -> JudgeMeta:
        usage = Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens, calls=self.replies)
        return JudgeMeta(
            model=self.settings.model, base_url=self.settings.display_url, prompt_version=PROMPT_VERSION,
            cached=cached, attempts=self.requests, usage=usage,
        )  # fmt: skip

    def take(self, completion: ChatCompletion) -> JudgeVerdict | None:
        """A valid verdict, or None after queueing a re-ask with the problems found."""
        self.replies += 1
        if completion.usage is not None:
            self.input_tokens += completion.usage.prompt_tokens or 0
            self.output_tokens += completion.usage.completion_tokens or 0
        choice = completion.choices[0] if completion.choices else None
        content = (choice.message.content or "") if choice is not None else ""
        refusal = getattr(choice.message, "refusal", None) if choice is not None else None
        if refusal:
            problems = [f"the model refused: {str(refusal)[:MAX_MESSAGE_CHARS]}"]
        elif not content.strip():
            problems = ["the reply is empty"]
        else:
            wire, problems = parse_reply(content)
            if wire is not None:
                verdict = to_verdict(wire, self.request.answer, self.meta())
                problems = criteria_problems(verdict, self.request.question.rubric)
                if not problems:
                    return verdict
            if choice is not None and choice.finish_reason == "length":
                problems.append(f"the reply was cut off at max_tokens={self.settings.max_tokens}; be more concise")
        self.problems = problems
        self.messages = [*self.messages, {"role": "assistant", "content": content}, reask_message(problems, self.ids)]
        return None

    @property
    def exhausted(self) -> bool:
        return self.replies > self.settings.max_reasks

    def unscored(self) -> JudgeVerdict:
        reason = (
            f"the judge's reply was not a valid verdict after {self.replies} attempt(s): "
            + "; ".join(self.problems)[:MAX_MESSAGE_CHARS]
        )
        return JudgeVerdict(criteria=[], judge=NAME, unscored_reason=reason, meta=self.meta())


# -- errors -----------------------------------------------------------------------------------
def _is_quota(exc: BaseException) -> bool:
    code = str(getattr(exc, "code", "") or "")
    typ = str(getattr(exc, "type", "") or "")
    return "insufficient_quota" in (code, typ) or "insufficient_quota" in str(exc)


def retryable(exc: BaseException) -> bool:
    """429 / 408 / 409 / 5xx / timeouts / connection errors; never auth or quota errors."""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        if _is_quota(exc):
            return False
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    return False


def format_rejected(exc: BaseException) -> bool:
    """The server refused the request's response_format: a 400 / 422, or a 5xx that names it (some servers
    answer an unknown response_format type with a validation error as HTTP 500)."""
    import openai

    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        return True
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        text = _server_message(exc).lower()
        return "response_format" in text or "json_schema" in text
    return False


def openai_client(settings: JudgeSettings) -> OpenAI:
    """A synchronous client for one-off calls; retries are ours (tenacity), not the client's."""
    from openai import OpenAI

    return OpenAI(api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout_s, max_retries=0)


def structured_completion(
    client: Any,
    settings: JudgeSettings,
    messages: list[dict[str, str]],
    name: str,
    schema: dict[str, Any],
    max_tokens: int,
) -> str:
    """The reply content of one structured-output call outside grading (drafting, picking a question):
    json_schema first, JSON mode where the endpoint rejects it (the caller validates the reply);
    429 / 5xx / timeouts retried with the settings' backoff, anything else raised."""
    retry = settings.retry
    formats: list[dict[str, Any]] = [
        {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}},
        {"type": "json_object"},
    ]
    for i, response_format in enumerate(formats):
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(retry.attempts), wait=lambda rs: retry.backoff(rs.attempt_number),
                retry=retry_if_exception(retryable), reraise=True,
            ):  # fmt: skip
                with attempt:
                    completion = client.chat.completions.create(
                        model=settings.model, messages=messages, response_format=response_format,
                        temperature=0.0, max_tokens=max_tokens,
                    )  # fmt: skip
        except Exception as exc:
            if i + 1 < len(formats) and format_rejected(exc):
                continue  # an endpoint without json_schema: JSON mode
            raise
        return completion.choices[0].message.content or ""
    return ""


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, or Retry-After as seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = str(getattr(exc, "message", "") or exc)
    return " ".join(message.split())[:MAX_MESSAGE_CHARS]


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def describe(exc: BaseException, settings: JudgeSettings) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timed out (limit {settings.timeout_s:g}s per request)"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect"
    status = _status_of(exc)
    if status is not None:
        return f"HTTP {status}: {_server_message(exc)}"
    return f"{type(exc).__name__}: {exc}"


def translate(exc: BaseException, settings: JudgeSettings, attempts: int, elapsed: float) -> JudgeCallError:
    """A vendor error as one clear, redacted JudgeError."""
    import openai

    where = settings.display_url
    status = _status_of(exc)
    if isinstance(exc, openai.AuthenticationError):
        msg = (
            f"the judge endpoint {where} rejected the API key (HTTP 401: {_server_message(exc)}); "
            "check EVALUATOR_API_KEY / OPENAI_API_KEY"
        )
    elif isinstance(exc, openai.PermissionDeniedError):
        msg = f"the judge endpoint {where} denied access (HTTP 403: {_server_message(exc)})"
    elif _is_quota(exc):
        msg = f"the judge endpoint {where}: the account has no quota left (insufficient_quota); not retried"
    elif isinstance(exc, openai.NotFoundError):
        msg = (
            f"the judge endpoint {where} has no model {settings.model!r} or no Chat Completions route "
            f"(HTTP 404: {_server_message(exc)}); check EVALUATOR_MODEL and the base URL"
        )
    elif retryable(exc):
        retry_after = retry_after_s(exc)
        if retry_after is not None and elapsed + retry_after >= settings.retry.deadline_s:
            tail = (
                f"; the server asked to retry after {retry_after:g}s, past the {settings.retry.deadline_s:g}s deadline"
            )
        else:
            tail = ""
        what = describe(exc, settings)
        msg = f"the judge endpoint {where} failed after {attempts} attempt(s) in {elapsed:.1f}s: {what}{tail}"
    else:
        msg = f"the judge endpoint {where} rejected the request ({describe(exc, settings)})"
    return JudgeCallError(redact(msg, settings.api_key), attempts=attempts, status=status)


# -- the judge --------------------------------------------------------------------------------
class OpenAIJudge:
    """Grades through an OpenAI-compatible endpoint. `judge` and `ajudge` share one conversation logic."""

    name = NAME

    def __init__(
        self,
        settings: JudgeSettings,
        cache: JudgeCache | None = None,
        sleep: Callable[[float], None] | None = None,
        asleep: Callable[[float], Awaitable[None]] | None = None,
    ):
        self.settings = settings
        self.cache = cache
        self._sleep = time.sleep if sleep is None else sleep
        self._asleep = asyncio.sleep if asleep is None else asleep
        self._mode = MODES[0]
        self._client: OpenAI | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[AsyncOpenAI, asyncio.Semaphore]]
        self._aclients = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.usage = Usage()  # this judge's run total: tokens and completions across all judgments

    @classmethod
    def from_env(cls, options: JudgeOptions | None = None, home: Path | None = None) -> OpenAIJudge:
        """Settings from the environment (`options` first); the verdict cache under `home`."""
        settings = settings_from_env(options)
        cache = JudgeCache((home or home_dir()) / CACHE_FILE) if cache_enabled(options) else None
        return cls(settings, cache=cache)

    def __repr__(self) -> str:
        return f"OpenAIJudge(model={self.settings.model!r}, base_url={self.settings.display_url!r})"

    def identity(self) -> dict[str, str | None]:
        """What besides the request decides this judge's verdicts: a stored result made with other
        values is stale (see evaluator.transcripts.batch.result_basis)."""
        return {
            "model": self.settings.model, "endpoint": self.settings.display_url, "prompt_version": PROMPT_VERSION,
            "sampling": canonical_json(self.settings.sampling(0)),
        }  # fmt: skip

    @property
    def mode(self) -> str:
        """The structured-output mode in use (it degrades once when the server rejects one)."""
        return self._mode

    # -- the protocol -------------------------------------------------------------------------
    def judge(self, request: JudgeRequest) -> JudgeVerdict:
        return self.judge_sample(request, 0)

    async def ajudge(self, request: JudgeRequest) -> JudgeVerdict:
        return await self.ajudge_sample(request, 0)

    def judge_sample(self, request: JudgeRequest, sample: int) -> JudgeVerdict:
        """Judgment number `sample` (its own seed and cache entry) of a --samples run."""
        key = self.key(request, sample)
        hit = self._cached(key)
        if hit is not None:
            return hit
        conv = _Conversation(request, self.settings)
        while True:
            verdict = conv.take(self._complete(conv, sample))
            if verdict is not None:
                return self._done(key, verdict, conv)
            if conv.exhausted:
                return self._done(key, conv.unscored(), conv)

    async def ajudge_sample(self, request: JudgeRequest, sample: int) -> JudgeVerdict:
        key = self.key(request, sample)
        hit = self._cached(key)
        if hit is not None:
            return hit
        conv = _Conversation(request, self.settings)
        while True:
            verdict = conv.take(await self._acomplete(conv, sample))
            if verdict is not None:
                return self._done(key, verdict, conv)
            if conv.exhausted:
                return self._done(key, conv.unscored(), conv)

    # -- cache and accounting -------------------------------------------------------------------
    def key(self, request: JudgeRequest, sample: int = 0) -> str:
        q = request.question
        return cache_key(
            {
                "model": self.settings.model,
                "base_url": self.settings.display_url,
                "prompt_version": PROMPT_VERSION,
                "question": q.question,
                "rubric": q.rubric.model_dump(mode="json"),
                "reference": q.reference,
                "answer": request.answer,
                "sampling": self.settings.sampling(sample),
            }
        )

    def _cached(self, key: str) -> JudgeVerdict | None:
        if self.cache is None:
            return None
        found = self.cache.get(key)
        if found is None:
            return None
        verdict, _ = found
        meta = JudgeMeta(
            model=self.settings.model, base_url=self.settings.display_url, prompt_version=PROMPT_VERSION,
            cached=True, attempts=0, usage=Usage(),
        )  # fmt: skip
        return verdict.model_copy(update={"meta": meta})

    def _done(self, key: str, verdict: JudgeVerdict, conv: _Conversation) -> JudgeVerdict:
        verdict = verdict.model_copy(update={"meta": conv.meta()})
        with self._lock:
            self.usage = Usage(
                input_tokens=self.usage.input_tokens + conv.input_tokens,
                output_tokens=self.usage.output_tokens + conv.output_tokens,
                calls=self.usage.calls + conv.replies,
            )
        if self.cache is not None and verdict.unscored_reason is None:
            self.cache.put(key, verdict, verdict.meta.usage)
        return verdict

    # -- HTTP ---------------------------------------------------------------------------------
    def _params(self, conv: _Conversation, sample: int, mode: str) -> dict[str, Any]:
        remaining = conv.remaining()
        if remaining <= 0:
            raise JudgeCallError(
                f"the judge endpoint {self.settings.display_url}: no verdict within the "
                f"{self.settings.retry.deadline_s:g}s deadline ({conv.requests} request(s))",
                attempts=conv.requests,
            )
        sampling = self.settings.sampling(sample)
        params: dict[str, Any] = {
            "model": self.settings.model,
            "messages": conv.messages,
            "temperature": sampling["temperature"],
            "max_tokens": sampling["max_tokens"],
            "timeout": min(self.settings.timeout_s, remaining),
        }
        if sampling["seed"] is not None:
            params["seed"] = sampling["seed"]
        if mode == "json_schema":
            schema = verdict_schema(conv.ids)
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True},
            }
        elif mode == "json_object_schema":
            params["response_format"] = {"type": "json_object", "schema": grammar_schema(conv.ids)}
        elif mode == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def _downgrade(self, mode: str, exc: BaseException) -> bool:
        """After the server rejects a structured-output request, use the next weaker mode (and remember it)."""
        if mode == MODES[-1] or not format_rejected(exc):
            return False
        weaker = MODES[MODES.index(mode) + 1]
        log.info(
            "judge endpoint rejected response_format %s (%s); using %s", mode, describe(exc, self.settings), weaker
        )
        self._mode = weaker
        return True

    def _retrying_args(self, conv: _Conversation) -> dict[str, Any]:
        policy = self.settings.retry

        def stop(rs: RetryCallState) -> bool:
            return rs.attempt_number >= policy.attempts or rs.upcoming_sleep >= conv.remaining()

        def wait(rs: RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome is not None else None
            after = retry_after_s(exc)
            return after if after is not None else policy.backoff(rs.attempt_number)

        def before_sleep(rs: RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome is not None else None
            what = describe(exc, self.settings) if exc is not None else "?"
            log.warning(
                "judge request failed (%s); retry in %.1fs", redact(what, self.settings.api_key), rs.upcoming_sleep
            )

        return {
            "stop": stop,
            "wait": wait,
            "retry": retry_if_exception(retryable),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def _sync_client(self) -> OpenAI:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self.settings.api_key, base_url=self.settings.base_url, max_retries=0,
                    timeout=self.settings.timeout_s,
                )  # fmt: skip
            return self._client

    def _async_state(self) -> tuple[AsyncOpenAI, asyncio.Semaphore]:
        """A client and a concurrency limit per event loop (both are bound to the loop that uses them)."""
        loop = asyncio.get_running_loop()
        state = self._aclients.get(loop)
        if state is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=self.settings.api_key, base_url=self.settings.base_url, max_retries=0,
                timeout=self.settings.timeout_s,
            )  # fmt: skip
            state = (client, asyncio.Semaphore(self.settings.concurrency))
            self._aclients[loop] = state
        return state

    def _complete(self, conv: _Conversation, sample: int) -> ChatCompletion:
        client = self._sync_client()

        def once() -> ChatCompletion:
            while True:
                mode = self._mode
                params = self._params(conv, sample, mode)
                conv.requests += 1
                try:
                    completion: ChatCompletion = client.chat.completions.create(**params)
                    return completion
                except Exception as exc:
                    if not self._downgrade(mode, exc):
                        raise

        import openai

        try:
            for attempt in Retrying(sleep=self._sleep, **self._retrying_args(conv)):
                with attempt:
                    return once()
        except openai.OpenAIError as exc:
            raise self._translated(exc, conv) from None  # from None: the server's text may hold secrets
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acomplete(self, conv: _Conversation, sample: int) -> ChatCompletion:
        client, limit = self._async_state()

        async def once() -> ChatCompletion:
            while True:
                mode = self._mode
                params = self._params(conv, sample, mode)
                conv.requests += 1
                try:
                    async with limit:
                        completion: ChatCompletion = await client.chat.completions.create(**params)
                    return completion
                except Exception as exc:
                    if not self._downgrade(mode, exc):
                        raise

        import openai

        try:
            async for attempt in AsyncRetrying(sleep=self._asleep, **self._retrying_args(conv)):
                with attempt:
                    return await once()
        except openai.OpenAIError as exc:
            raise self._translated(exc, conv) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _translated(self, exc: Exception, conv: _Conversation) -> JudgeCallError:
        return translate(exc, self.settings, conv.requests, time.monotonic() - conv.started)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

"""Every environment variable the package reads, in one typed settings object (README: Configuration).

Read them through `get_settings()`: each value is validated when read, and a bad one is one
ConfigError line naming the variable. Secrets are `SecretStr`: neither repr() nor an error message
shows them. An empty variable counts as unset.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from evaluator.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "m3e-small"
DEFAULT_JUDGE_MODEL = "gpt-4o-mini"
EmbeddingBackendChoice = Literal["auto", "onnx", "sentence-transformers"]
JudgeChoice = Literal["auto", "offline", "openai"]


class Settings(BaseSettings):
    """One field per variable; the variable's name is the field's alias (first alias wins)."""

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True
    )

    # -- where things live
    home: Path | None = Field(
        default=None,
        validation_alias="EVALUATOR_HOME",
        description="cache directory (index, vectors, judge cache, user bank, jobs); default the user cache dir",
    )
    bank: Path | None = Field(
        default=None, validation_alias="EVALUATOR_BANK", description="bank directory instead of the bundled one"
    )
    # -- the embedder
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        min_length=1,
        validation_alias="EVALUATOR_EMBEDDING_MODEL",
        description="a sentence-transformers path or name instead of the bundled m3e-small",
    )
    embedding_backend: EmbeddingBackendChoice = Field(
        default="auto",
        validation_alias="EVALUATOR_EMBEDDING_BACKEND",
        description="auto (the ONNX export when present), onnx or sentence-transformers",
    )
    # -- the judge
    judge: JudgeChoice = Field(
        default="auto",
        validation_alias="EVALUATOR_JUDGE",
        description="auto (openai when an API key or base URL is set), offline or openai",
    )
    model: str = Field(
        default=DEFAULT_JUDGE_MODEL,
        min_length=1,
        validation_alias="EVALUATOR_MODEL",
        description="LLM judge model, as the server names it",
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("EVALUATOR_API_KEY", "OPENAI_API_KEY"),
        description="LLM judge API key (never printed or logged); local servers need none",
    )
    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EVALUATOR_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint ending in /v1; default https://api.openai.com/v1",
    )
    temperature: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        validation_alias="EVALUATOR_TEMPERATURE",
        description="LLM judge sampling temperature",
    )
    seed: int | None = Field(
        default=0,
        validation_alias="EVALUATOR_SEED",
        description="LLM judge seed (sample i of --samples uses seed + i); none: send no seed",
    )
    max_tokens: int = Field(
        default=2048, ge=64, validation_alias="EVALUATOR_MAX_TOKENS", description="LLM reply token limit"
    )
    timeout: float = Field(
        default=60.0,
        ge=0.1,
        allow_inf_nan=False,
        validation_alias="EVALUATOR_TIMEOUT",
        description="seconds per LLM HTTP request",
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias="EVALUATOR_MAX_ATTEMPTS",
        description="HTTP attempts per LLM call (429, 5xx, timeouts, connection errors)",
    )
    deadline: float = Field(
        default=180.0,
        ge=1,
        allow_inf_nan=False,
        validation_alias="EVALUATOR_DEADLINE",
        description="seconds for one whole LLM judgment, retries and re-asks included",
    )
    retry_wait: float = Field(
        default=1.0,
        ge=0,
        allow_inf_nan=False,
        validation_alias="EVALUATOR_RETRY_WAIT",
        description="first backoff wait before a retry, seconds",
    )
    retry_jitter: float = Field(
        default=1.0,
        ge=0,
        allow_inf_nan=False,
        validation_alias="EVALUATOR_RETRY_JITTER",
        description="random jitter added to each backoff wait, seconds",
    )
    max_reasks: int = Field(
        default=2,
        ge=0,
        validation_alias="EVALUATOR_MAX_REASKS",
        description="re-asks after an LLM reply that is not a valid verdict",
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        validation_alias="EVALUATOR_CONCURRENCY",
        description="LLM judge requests in flight at once (batch scoring, the service)",
    )
    no_cache: bool = Field(
        default=False, validation_alias="EVALUATOR_NO_CACHE", description="1: never read or write the LLM judge cache"
    )
    # -- the service
    api_token: SecretStr | None = Field(
        default=None,
        validation_alias="EVALUATOR_API_TOKEN",
        description="bearer token `evaluate serve` requires (unset: no auth; never printed)",
    )

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_lowercase(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("seed", mode="before")
    @classmethod
    def _seed_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "none" else value

    @staticmethod
    def secret(value: SecretStr | None) -> str | None:
        """The secret's text for the one place that sends it (HTTP client, token check)."""
        return value.get_secret_value() if value is not None else None


def variables() -> dict[str, str]:
    """Environment variable -> field name, every alias included (e.g. OPENAI_API_KEY -> api_key)."""
    names: dict[str, str] = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                names[choice] = field
    return names


VARIABLES = variables()
_SECRET_FIELDS = frozenset(
    f
    for f, info in Settings.model_fields.items()
    if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
)
_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], Settings] | None = None


def get_settings() -> Settings:
    """The settings for the current environment (re-read when a variable changes, as tests do)."""
    global _cached
    key = tuple(os.environ.get(name) for name in VARIABLES)
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        try:
            settings = Settings()
        except ValidationError as exc:
            raise ConfigError(describe_error(exc)) from None
        _cached = (key, settings)
        return settings


def describe_error(exc: ValidationError) -> str:
    """One line naming each bad variable and what is wrong; a secret's value is never shown."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = VARIABLES.get(name, name)
        shown = "" if field in _SECRET_FIELDS else f"={error.get('input')!r}"
        problems.append(f"{name}{shown}: {error['msg'].rstrip('.')}")
    return "invalid configuration: " + "; ".join(problems)


__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_JUDGE_MODEL",
    "VARIABLES",
    "Settings",
    "describe_error",
    "get_settings",
    "variables",
]

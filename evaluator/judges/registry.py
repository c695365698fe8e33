"""Choose a judge by name: `offline`, `openai`, or `auto` (openai when an endpoint is configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..settings import get_settings
from .base import Judge

if TYPE_CHECKING:
    from ..core import Evaluator

JUDGES = ("auto", "offline", "openai")


def endpoint_configured() -> bool:
    settings = get_settings()
    return bool(settings.api_key or settings.base_url)


def make_judge(name: str | None, evaluator: Evaluator) -> Judge:
    name = (name or get_settings().judge).lower()
    if name not in JUDGES:
        raise ConfigError(f"unknown judge {name!r}; one of: {', '.join(JUDGES)}")
    if name == "auto":
        name = "openai" if endpoint_configured() else "offline"
    if name == "openai":
        try:
            from .openai_judge import OpenAIJudge
        except ImportError as exc:
            raise ConfigError(f"the openai judge is not available ({exc})") from exc
        return OpenAIJudge.from_env(evaluator)
    return evaluator.offline_judge()

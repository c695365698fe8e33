"""Choose a judge by name: `offline`, `openai`, or `auto` (openai when an endpoint is configured)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator.errors import JudgeUnavailable
from evaluator.judges.base import Judge
from evaluator.settings import get_settings

if TYPE_CHECKING:
    from evaluator.judges.openai_judge import JudgeOptions

JUDGES = ("auto", "offline", "openai")


def endpoint_configured() -> bool:
    settings = get_settings()
    return bool(settings.api_key or settings.base_url)


def make_judge(
    name: str | None, offline: Callable[[], Judge], options: JudgeOptions | None = None, home: Path | None = None
) -> Judge:
    """The judge called `name` (default $EVALUATOR_JUDGE, else auto). `offline` makes the offline judge
    (it reads the bank index the caller holds); `options` and `home` configure the openai judge."""
    name = (name or get_settings().judge).lower()
    if name not in JUDGES:
        raise JudgeUnavailable(f"unknown judge {name!r}; one of: {', '.join(JUDGES)}")
    if name == "auto":
        name = "openai" if endpoint_configured() else "offline"
    if name == "openai":
        try:
            from evaluator.judges.openai_judge import OpenAIJudge
        except ImportError as exc:
            raise JudgeUnavailable(f"the openai judge is not available ({exc})") from exc
        return OpenAIJudge.from_env(options, home)
    return offline()

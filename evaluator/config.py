"""Settings from environment variables (and CLI overrides). Secrets are read, never printed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_cache_dir

from .errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "m3e-small"
MAX_ANSWER_CHARS = 20_000


def home_dir() -> Path:
    """One home for caches (index, judge cache); tests point EVALUATOR_HOME at a temp dir."""
    env = os.environ.get("EVALUATOR_HOME")
    path = Path(env).expanduser() if env else Path(user_cache_dir("interview-evaluator"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"EVALUATOR_HOME {path}: cannot create directory ({exc.strerror})") from exc
    return path


def embedding_model_name() -> str:
    return os.environ.get("EVALUATOR_EMBEDDING_MODEL", DEFAULT_EMBEDDING_MODEL)


def default_bank_dir() -> Path:
    """The bundled bank: the source checkout (editable install) or the wheel's shared data."""
    env = os.environ.get("EVALUATOR_BANK")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "rubrics").is_dir() and (checkout / "reference_answers").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "interview-evaluator"


def env_first(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None

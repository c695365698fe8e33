"""Paths and limits derived from the settings (evaluator/settings.py reads the environment)."""

from __future__ import annotations

import sys
from pathlib import Path

from platformdirs import user_cache_dir

from evaluator.errors import ConfigError
from evaluator.settings import DEFAULT_EMBEDDING_MODEL, get_settings

MAX_ANSWER_CHARS = 20_000


def home_dir() -> Path:
    """One home for caches (index, judge cache); tests point EVALUATOR_HOME at a temp dir."""
    env = get_settings().home
    path = env.expanduser() if env else Path(user_cache_dir("interview-evaluator"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"EVALUATOR_HOME {path}: cannot create directory ({exc.strerror})") from exc
    return path


def embedding_model_name() -> str:
    return get_settings().embedding_model


def default_bank_dir() -> Path:
    """The bundled bank: the source checkout (editable install) or the wheel's shared data."""
    env = get_settings().bank
    if env:
        return env.expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "rubrics").is_dir() and (checkout / "reference_answers").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "interview-evaluator"


__all__ = ["DEFAULT_EMBEDDING_MODEL", "MAX_ANSWER_CHARS", "default_bank_dir", "embedding_model_name", "home_dir"]

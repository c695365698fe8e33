"""The settings object: every variable documented once, validated on read, secrets never shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from evaluator.encoders.embedder import HUB_OFFLINE_ENV, hub_offline
from evaluator.errors import ConfigError
from evaluator.judges.openai_judge import JudgeOptions, settings_from_env
from evaluator.settings import VARIABLES, Settings, describe_error, get_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-settings-DO-NOT-LEAK-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: the session's EVALUATOR_HOME stays, nothing else from the shell."""
    for name in VARIABLES:
        if name != "EVALUATOR_HOME":
            monkeypatch.delenv(name, raising=False)


def readme_table() -> dict[str, list[str]]:
    """The README's configuration table: each variable named in a row's first cell -> the row's cells."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("variable", "---"):
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
            assert name not in rows, f"{name} is in the table twice"
            rows[name] = cells
    return rows


def test_readme_table_lists_exactly_the_settings_variables() -> None:
    documented = set(readme_table())
    assert documented, "no configuration table found in README.md"
    assert documented - set(VARIABLES) == set(), "documented but not a setting"
    assert set(VARIABLES) - documented == set(), "a setting missing from the README table"


def test_readme_defaults_are_the_settings_defaults() -> None:
    """A default written as one `value` in the table is the field's default."""
    defaults = Settings.model_construct()
    checked = 0
    for name, cells in readme_table().items():
        written = re.fullmatch(r"`([^`]+)`", cells[2])
        value = getattr(defaults, VARIABLES[name])
        if written is None or value is None:
            continue
        shown = str(int(value)) if isinstance(value, bool | float) and float(value).is_integer() else str(value)
        assert written.group(1) == shown, name
        checked += 1
    assert checked >= 12


def test_no_module_reads_an_evaluator_variable_but_settings() -> None:
    """os.environ / getenv with an EVALUATOR_ name, reading or writing, anywhere in the package or CLI."""
    offenders = []
    for path in [*sorted((ROOT / "evaluator").rglob("*.py")), ROOT / "cli.py"]:
        if path.name == "settings.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"environ|getenv", line) and "EVALUATOR_" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_every_variable_the_code_names_is_a_setting() -> None:
    """Messages, help texts and docstrings name only variables that exist."""
    named = set()
    for path in [*sorted((ROOT / "evaluator").rglob("*.py")), ROOT / "cli.py"]:
        named |= set(re.findall(r"\bEVALUATOR_[A-Z][A-Z0-9_]*\b", path.read_text(encoding="utf-8")))
    assert named - set(VARIABLES) == set()


def test_values_are_typed_and_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALUATOR_CONCURRENCY", "8")
    monkeypatch.setenv("EVALUATOR_TIMEOUT", "2.5")
    monkeypatch.setenv("EVALUATOR_NO_CACHE", "1")
    monkeypatch.setenv("EVALUATOR_JUDGE", "OFFLINE")
    monkeypatch.setenv("EVALUATOR_SEED", "none")
    monkeypatch.setenv("EVALUATOR_MODEL", "")
    monkeypatch.setenv("EVALUATOR_BANK", "~/my-bank")
    s = get_settings()
    assert (s.concurrency, s.timeout, s.no_cache, s.judge, s.seed) == (8, 2.5, True, "offline", None)
    assert s.model == "gpt-4o-mini"  # empty: the default
    assert s.bank == Path("~/my-bank")
    monkeypatch.setenv("EVALUATOR_CONCURRENCY", "3")
    assert get_settings().concurrency == 3  # a changed variable is read again


def test_openai_names_are_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    assert get_settings().base_url == "http://localhost:11434/v1"
    monkeypatch.setenv("EVALUATOR_BASE_URL", "http://127.0.0.1:8000/v1")
    assert get_settings().base_url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("EVALUATOR_TIMEOUT", "soon", "valid number"),
        ("EVALUATOR_MAX_ATTEMPTS", "0", "greater than or equal to 1"),
        ("EVALUATOR_CONCURRENCY", "2.5", "valid integer"),
        ("EVALUATOR_DEADLINE", "inf", "finite number"),
        ("EVALUATOR_JUDGE", "gpt", "'auto', 'offline' or 'openai'"),
        ("EVALUATOR_EMBEDDING_BACKEND", "tensorflow", "'sentence-transformers'"),
        ("EVALUATOR_NO_CACHE", "sometimes", "valid boolean"),
        ("EVALUATOR_SEED", "first", "valid integer"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        get_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert f"{name}={value!r}" in message and problem in message
    assert caught.value.exit_code == 2


def test_two_bad_values_are_both_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALUATOR_TEMPERATURE", "-1")
    monkeypatch.setenv("EVALUATOR_MAX_TOKENS", "10")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    message = str(caught.value)
    assert "\n" not in message and "EVALUATOR_TEMPERATURE" in message and "EVALUATOR_MAX_TOKENS" in message


def test_secrets_are_not_in_repr_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("EVALUATOR_API_TOKEN", SECRET + "-token")
    s = get_settings()
    for shown in (repr(s), str(s), s.model_dump_json(), str(s.model_dump())):
        assert SECRET not in shown
    assert Settings.secret(s.api_key) == SECRET  # the one place that sends it still gets it
    assert Settings.secret(s.api_token) == SECRET + "-token"


def test_a_bad_secret_is_named_without_its_value() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(EVALUATOR_API_TOKEN=12345678)  # type: ignore[call-arg]
    message = describe_error(caught.value)
    assert "EVALUATOR_API_TOKEN" in message and "12345678" not in message


def test_cli_reports_a_bad_variable_in_one_line_with_the_config_exit_code() -> None:
    env = {**os.environ, "EVALUATOR_MAX_ATTEMPTS": "none"}
    run = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", str(ROOT / "examples" / "answer.txt")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == ConfigError.exit_code
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "EVALUATOR_MAX_ATTEMPTS='none'" in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_options_override_the_environment_concurrency_included(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's --concurrency reaches the judge as an option, not through os.environ."""
    monkeypatch.setenv("EVALUATOR_API_KEY", SECRET)
    monkeypatch.setenv("EVALUATOR_CONCURRENCY", "2")
    monkeypatch.setenv("EVALUATOR_MODEL", "env-model")
    assert settings_from_env().concurrency == 2
    s = settings_from_env(JudgeOptions(concurrency=9, model="cli-model"))
    assert (s.concurrency, s.model) == (9, "cli-model")
    assert os.environ["EVALUATOR_CONCURRENCY"] == "2"


def test_hub_offline_is_scoped_to_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HUB_OFFLINE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")  # the caller's own choice
    with hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"

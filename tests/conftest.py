from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import ChatServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def evaluator_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches go to a temp dir: tests never read or write the user's cache."""
    home = tmp_path_factory.mktemp("evaluator-home")
    old = os.environ.get("EVALUATOR_HOME")
    os.environ["EVALUATOR_HOME"] = str(home)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "EVALUATOR_API_KEY", "EVALUATOR_BASE_URL", "EVALUATOR_JUDGE"):
        os.environ.pop(var, None)
    yield home
    if old is None:
        os.environ.pop("EVALUATOR_HOME", None)
    else:
        os.environ["EVALUATOR_HOME"] = old


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from evaluator.encoders.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def evaluator(embedder, evaluator_home):  # type: ignore[no-untyped-def]
    """The bundled bank with the offline judge, shared by the tests that only read it."""
    from evaluator import Evaluator

    return Evaluator(judge="offline", embedder=embedder)


@pytest.fixture
def small_bank(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: a bank in a temp dir made of real bundled entries."""

    def make(ids: list[str]) -> Path:
        dest = tmp_path / "bank"
        (dest / "rubrics").mkdir(parents=True, exist_ok=True)
        (dest / "reference_answers").mkdir(parents=True, exist_ok=True)
        for qid in ids:
            shutil.copy(ROOT / "rubrics" / f"{qid}.yaml", dest / "rubrics")
            shutil.copy(ROOT / "reference_answers" / f"{qid}.md", dest / "reference_answers")
        return dest

    return make


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    """A Chat Completions server on loopback for one test module (the LLM judge, drafting and question
    picking tests); each module resets it before every test."""
    with ChatServer() as s:
        yield s

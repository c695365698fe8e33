"""The exception tree: every class says how the CLI exits and what the service answers, and every
class is raised somewhere (none kept only for the documentation)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from evaluator import errors
from evaluator.errors import EvaluatorError, NoConfidentMatch, UnknownQuestion

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "evaluator").rglob("*.py")), ROOT / "cli.py"]
TREE = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, EvaluatorError)]
# Exceptions defined outside errors.py, each for a reason the tree cannot serve:
OUTSIDE_THE_TREE = {
    "BatchInterrupted",  # the user's Ctrl-C itself (a KeyboardInterrupt), carrying the finished turns
    "_Stopped",  # control flow: a server shutting down stops a running batch at its next turn
    "BodyTooLarge",  # must be an HTTPException: FastAPI turns any other error while reading a body into a 400
    "JudgeCallError",  # a JudgeError (in the tree) with the endpoint's call counts
}


def readme_exit_codes() -> set[int]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| exit code |") :].split("\n\n", 1)[0]
    return {int(row.split("|")[1].strip()) for row in table.splitlines()[2:]}


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_every_error_has_a_documented_exit_code_an_http_status_and_a_kind(cls: type[EvaluatorError]) -> None:
    assert cls.exit_code in readme_exit_codes() - {0, 130}, cls.exit_code
    assert 400 <= cls.http_status <= 599
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.kind), cls.kind
    if cls is not EvaluatorError:
        assert "kind" in vars(cls) and cls.__doc__, "each class names its own kind and says when it is raised"


def test_every_error_class_is_raised_somewhere_in_the_package() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES if p.name != "errors.py")
    for cls in TREE:
        if cls is EvaluatorError:  # the base: raised only through its subclasses
            continue
        assert re.search(rf"\braise {cls.__name__}\b", source), f"{cls.__name__} is never raised"


def test_the_package_raises_no_builtin_errors_and_defines_no_errors_outside_the_tree() -> None:
    """Builtins only where a library demands them: pydantic validators raise ValueError."""
    builtins = {"ValueError", "TypeError", "RuntimeError", "KeyError", "Exception", "OSError", "LookupError"}
    problems = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        wrapped = {  # `field_validator("id")(_kebab)`
            ast.unparse(c.args[0])
            for c in ast.walk(tree)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Call) and "validator" in ast.unparse(c.func.func)
        }
        validators = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef)
            and (f.name in wrapped or any("validator" in ast.unparse(d) for d in f.decorator_list))
            for n in ast.walk(f)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and id(node) not in validators:
                name = ast.unparse(node.exc.func)
                if name in builtins:
                    problems.append(f"{path.name}:{node.lineno}: raise {name}")
            outside = isinstance(node, ast.ClassDef) and path.name != "errors.py" and node.name not in OUTSIDE_THE_TREE
            if outside and any(re.search(r"(Error|Exception|Interrupt)$", ast.unparse(b)) for b in node.bases):
                problems.append(f"{path.name}:{node.lineno}: exception class {node.name} outside errors.py")
    assert not problems, problems


def test_an_unknown_question_id_is_an_input_error_of_its_own() -> None:
    assert issubclass(UnknownQuestion, errors.InputError)
    assert (UnknownQuestion.exit_code, UnknownQuestion.http_status) == (2, 404)
    assert not issubclass(UnknownQuestion, errors.BankError)


def test_no_confident_match_carries_its_candidates_into_the_error_body() -> None:
    exc = NoConfidentMatch("no match", candidates=[{"id": "kv-cache"}])
    assert (exc.exit_code, exc.http_status, exc.details()) == (3, 422, {"candidates": [{"id": "kv-cache"}]})

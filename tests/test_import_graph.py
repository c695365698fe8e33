"""The package's module-level imports form no cycle: the pipeline reads one way (bank -> matching ->
judges -> scoring -> reports; transcripts and the service on top), and a judge never imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evaluator"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: not in a function or class body, not under
    `if TYPE_CHECKING:` (its `else` branch does run)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If):
                if not is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules an import statement runs: the named module, its parent packages and, for
    `from X import name`, X.name when that is a module. The importer's own parent packages are left out:
    they are always imported before it, so they are no edge of a cycle."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = importer.split(".") if is_package else importer.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            stem = ".".join([*base, node.module] if node.module else base)
        else:
            stem = node.module or ""
        names = [stem, *(f"{stem}.{a.name}" for a in node.names)]
    out: set[str] = set()
    parts = importer.split(".")
    ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known and prefix != importer and prefix not in ancestors:
                out.add(prefix)
    return out


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = path.name == "__init__.py"
        graph[name] = set()
        for node in module_level_imports(tree):
            graph[name] |= targets(node, name, package, known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_judges_never_import_the_pipeline_not_even_for_types() -> None:
    """A judge receives what it grades (a JudgeRequest); every import counts here, in functions and
    under TYPE_CHECKING too."""
    found = modules()
    known = set(found)
    pipeline = {
        "evaluator.core",
        "evaluator.transcripts.batch",
        "evaluator.service.app",
        "evaluator.calibration.benchmark",
    }
    for name, path in found.items():
        if not name.startswith("evaluator.judges"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        every = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        deps = set().union(set(), *(targets(n, name, path.name == "__init__.py", known) for n in every))
        assert not deps & pipeline, (name, deps & pipeline)


def test_the_one_answer_pipeline_does_not_import_transcript_batching() -> None:
    assert "evaluator.transcripts.batch" not in import_graph()["evaluator.core"]


def test_the_cycle_check_finds_a_cycle_and_ignores_type_checking_and_function_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .b import x\n"
        "if TYPE_CHECKING:\n    from .c import y\n"
        "def f():\n    from .c import z\n"
    )
    tree = ast.parse(source)
    known = {"evaluator.a", "evaluator.b", "evaluator.c"}
    deps = set().union(*(targets(n, "evaluator.a", False, known) for n in module_level_imports(tree)))
    assert deps == {"evaluator.b"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("name", ["evaluator.core", "evaluator.transcripts.batch", "evaluator.judges.registry"])
def test_the_graph_sees_the_modules_it_checks(name: str) -> None:
    assert import_graph()[name], name  # every one of these imports something in the package

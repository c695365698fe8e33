"""The `evaluate` command as a user runs it: a subprocess, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "answer.txt"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        input=None if stdin is None else stdin.decode("utf-8"),
        timeout=600,
        cwd=ROOT,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]


def test_grades_example_answer_as_json() -> None:
    proc = run(str(EXAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["question_id"] == "attention-scale-sqrt-dk"
    assert data["judge"] == "offline" and data["schema_version"] == 1
    assert set(data["parts"]) >= {"rubric", "similarity", "alpha", "lo", "hi"}
    assert data["criteria"] and all(c["level"] in {"met", "partial", "missing"} for c in data["criteria"])


def test_terminal_report_with_question_and_reference() -> None:
    proc = run(str(EXAMPLE), "--question", "为什么 Attention 要除以根号 d？", "--show-reference")
    assert proc.returncode == 0, proc.stderr
    assert "Score" in proc.stdout and "judge offline" in proc.stdout and "reference answer" in proc.stdout


def test_markdown_to_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    proc = run(str(EXAMPLE), "--format", "markdown", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# ") and "| criterion | weight | verdict | evidence |" in text


def test_no_confident_match_exits_3_and_lists_candidates(tmp_path: Path) -> None:
    answer = tmp_path / "a.txt"
    answer.write_text("先把鸡蛋炒熟盛出，再炒番茄，最后一起翻炒加盐。", encoding="utf-8")
    proc = run(str(answer), "--question", "番茄炒蛋怎么做？")
    assert proc.returncode == 3
    assert "No confident match" in proc.stdout and "--question-id" in proc.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "file not found"),
        (b"   \n", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        ("中文答案".encode("gbk"), "not valid UTF-8"),
        (("长" * 20_001).encode(), "limit"),
    ],
    ids=["missing", "empty", "binary", "gbk", "huge"],
)
def test_bad_answer_files_get_one_line_errors(tmp_path: Path, content: bytes | None, needle: str) -> None:
    path = tmp_path / "answer.txt"
    if content is not None:
        path.write_bytes(content)
    proc = run(str(path))
    assert_one_line_error(proc, 2, str(path), needle)


def test_malformed_bank_names_file_and_exits_4(tmp_path: Path) -> None:
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "reference_answers").mkdir()
    bad = tmp_path / "rubrics" / "x.yaml"
    bad.write_text("id: x\ncriteria: [\n", encoding="utf-8")
    proc = run(str(EXAMPLE), "--bank", str(tmp_path))
    assert_one_line_error(proc, 4, str(bad))


def test_unknown_question_id_is_one_line_error() -> None:
    proc = run(str(EXAMPLE), "--question-id", "no-such-question")
    assert_one_line_error(proc, 4, "no-such-question")


def test_bank_check_passes_on_bundled_bank() -> None:
    proc = run("bank", "check")
    assert proc.returncode == 0, proc.stderr
    assert "bank check: ok" in proc.stdout


def test_stdin_answer() -> None:
    proc = run("-", "--question-id", "attention-scale-sqrt-dk", "--format", "json", stdin=EXAMPLE.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["question_id"] == "attention-scale-sqrt-dk"

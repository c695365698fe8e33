"""The `evaluate` command as a user runs it: a subprocess, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator import Evaluator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "answer.txt"


def run(*args: str, stdin: bytes | None = None, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120", **env_vars}
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
    # a Chinese answer: Chinese labels; one score in the header, the numbers behind it under 评分细节
    assert "得分" in proc.stdout and "评分器 offline" in proc.stdout and "参考答案" in proc.stdout
    assert proc.stdout.index("评分细节") > proc.stdout.index("参考答案") and "cosine" in proc.stdout


def test_markdown_to_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    proc = run(str(EXAMPLE), "--format", "markdown", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# ") and "| 评分要点 | 权重 | 判定 | 回答中的依据 |" in text and "## 评分细节" in text


def test_no_confident_match_exits_3_and_lists_candidates(tmp_path: Path) -> None:
    answer = tmp_path / "a.txt"
    answer.write_text("先把鸡蛋炒熟盛出，再炒番茄，最后一起翻炒加盐。", encoding="utf-8")
    proc = run(str(answer), "--question", "番茄炒蛋怎么做？")
    assert proc.returncode == 3
    assert "没有把握确定是哪道题" in proc.stdout and "--question-id" in proc.stdout


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


# No embedding model can load under this name: a command that fails with 2 under it failed before
# loading the model (before any grading), as a usage error should.
NO_MODEL = {"EVALUATOR_EMBEDDING_MODEL": "/nonexistent/model"}


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ([], ["evaluate needs an answer file or a command"]),
        (["--foo"], ["No such option: --foo", "--help"]),
        (["grade"], ["Missing argument", "evaluate grade --help"]),
        (["transcript"], ["Missing argument", "evaluate transcript --help"]),
        (["match"], ["Missing argument", "evaluate match --help"]),
        ([str(EXAMPLE), "--format", "xml"], ["'xml' is not one of"]),
        ([str(EXAMPLE), "--samples", "99"], ["--samples"]),
        ([str(EXAMPLE), "-q"], ["'-q' requires an argument"]),
        (["bank"], ["evaluate bank needs a command"]),
        (["bank", "nope"], ["No such command 'nope'"]),
        (["serve", "--port", "x"], ["--port"]),
        (["transcript", str(ROOT / "examples" / "interview.json"), "-j", "0"], ["--concurrency"]),
        ([str(EXAMPLE), "--question-id", "attention-scale-sqrt"], ["attention-scale-sqrt", "did you mean"]),
        ([str(EXAMPLE), "-o", "/nonexistent/dir/report.md"], ["/nonexistent/dir/report.md", "does not exist"]),
        (["transcript", str(ROOT / "examples" / "interview.json"), "-o", "/nonexistent/r.html"], ["does not exist"]),
        ([str(EXAMPLE), "-o", str(ROOT / "examples")], ["is a directory"]),
        (["match", "no-such-answer.txt"], ["no-such-answer.txt", "file not found"]),
    ],
)
def test_every_usage_error_is_one_line_and_exit_2(args: list[str], needles: list[str]) -> None:
    proc = run(*args, **NO_MODEL)
    assert_one_line_error(proc, 2, "error:", *needles)
    assert "Usage:" not in proc.stderr and "Value error" not in proc.stderr


def test_bare_evaluate_prints_the_help_and_exits_2() -> None:
    proc = run()
    assert proc.returncode == 2 and "Usage: evaluate" in proc.stdout and "COMMAND" in proc.stdout


def test_debug_still_shows_the_traceback() -> None:
    proc = run("--debug", "--foo")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_help_shows_no_type_tags_on_flags_or_braces() -> None:
    for args in (["--help"], ["grade", "--help"], ["transcript", "--help"], ["match", "--help"]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
        assert "<bool>" not in proc.stdout and "{file}" not in proc.stdout and "{text}" not in proc.stdout
    assert "Usage: evaluate grade [OPTIONS] FILE" in run("grade", "--help").stdout


def test_readme_exit_code_table_lists_every_code_the_cli_uses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| exit code |") :].split("\n\n", 1)[0]
    codes = {int(row.split("|")[1].strip()) for row in table.splitlines()[2:]}
    assert codes == {0, 1, 2, 3, 4, 5, 6, 130}
    assert "usage" in table.lower()


def test_a_transcript_given_as_an_answer_points_to_evaluate_transcript() -> None:
    transcript = ROOT / "examples" / "interview_zh.md"
    proc = run(str(transcript), **NO_MODEL)  # the note comes before the model loads
    assert f"run `evaluate transcript {transcript}`" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_match_reads_a_file_name_as_the_answer_in_it() -> None:
    proc = run("match", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "matching the answer in it" in proc.stderr
    assert "attention-scale-sqrt-dk" in proc.stdout.splitlines()[1]


def test_resume_tolerates_a_results_file_cut_inside_a_character(evaluator: Evaluator, tmp_path: Path) -> None:
    transcript = ROOT / "examples" / "interview.json"
    results = tmp_path / "run.jsonl"
    evaluator.evaluate_transcript(transcript, results=results)
    lines = results.read_bytes().rstrip(b"\n").split(b"\n")
    first = next(i for i, byte in enumerate(lines[-1]) if byte >= 0x80)
    lines[-1] = lines[-1][: first + 1]  # the write stopped after one byte of a multi-byte character
    results.write_bytes(b"\n".join(lines))
    proc = run("transcript", str(transcript), "--results", str(results), "--resume", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["turns"]) == 5


def test_bank_check_passes_on_bundled_bank() -> None:
    proc = run("bank", "check")
    assert proc.returncode == 0, proc.stderr
    assert "bank check: ok" in proc.stdout


def test_stdin_answer() -> None:
    proc = run("-", "--question-id", "attention-scale-sqrt-dk", "--format", "json", stdin=EXAMPLE.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["question_id"] == "attention-scale-sqrt-dk"

"""Finding a question from the command line: bank list / search and the numbered pick on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A question too broad for one entry, with an answer too vague to choose: the matcher refuses.
REFUSED_QUESTION = "参数高效微调"
ANSWER = "这个我不太清楚，大概就是一种方法吧。"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)  # fmt: skip


def test_bank_list_prints_ids_and_questions_of_a_topic() -> None:
    proc = run("bank", "list", "--topic", "peft")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert {r[0] for r in rows} >= {"lora-principle", "qlora-principle", "lora-variants"}
    assert all(r[1] == "peft" for r in rows) and all(r[2] for r in rows)


def test_bank_list_with_an_unknown_topic_names_the_topics() -> None:
    proc = run("bank", "list", "--topic", "cooking")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cooking" in proc.stderr and "peft" in proc.stderr


def test_bank_search_finds_an_id_from_english_words() -> None:
    proc = run("bank", "search", "ppo vs dpo", "-n", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split("\t")[0] == "ppo-vs-dpo"


def _run_on_terminal(args: list[str], reply: bytes) -> tuple[int, str]:
    """Run the CLI with stdin and stdout on a pseudo-terminal, answering its prompt with `reply`."""
    main, child = pty.openpty()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120", "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], stdin=child, stdout=child, stderr=child,
                            env=env, cwd=ROOT, close_fds=True)  # fmt: skip
    os.close(child)
    out = b""
    replied = False
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not replied and b"#:" in out:
                os.write(main, reply)
                replied = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=60)
    os.close(main)
    return code, out.decode("utf-8", "replace")


def test_a_refusal_on_a_terminal_offers_numbered_candidates_and_grades_the_pick(tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text(ANSWER, encoding="utf-8")
    code, out = _run_on_terminal([str(answer), "--question", REFUSED_QUESTION], b"1\n")
    assert "1. " in out and "finetuning" in out
    assert code == 0, out
    assert "得分" in out


def test_a_refusal_without_a_terminal_exits_3_with_the_candidates(tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text(ANSWER, encoding="utf-8")
    proc = run(str(answer), "--question", REFUSED_QUESTION)
    assert proc.returncode == 3
    assert "finetuning" in proc.stdout and "--question-id" in proc.stdout + proc.stderr

"""The user's own questions and grades: `evaluate bank add`, grades as anchors, questions outside the bank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator import Evaluator
from evaluator.bank.feedback import add_grade, read_grades
from evaluator.bank.user import export_bank, with_user_bank
from evaluator.encoders.embedder import Embedder

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "频繁插入和删除的线性表应该采用哪种存储结构？"
REFERENCE = (
    "应该采用链式存储结构（链表）。在链表中插入或删除一个结点只需修改相邻结点的指针，已知位置时时间复杂度为 O(1)，"
    "不需要移动其他元素；而顺序表插入删除平均要移动一半的元素，时间复杂度 O(n)。"
    "代价是链表不支持随机访问，按下标查找要 O(n)，每个结点还需要额外的指针空间。"
)
GOOD = "用链表。链表插入删除只需要修改指针，不用移动元素，而顺序表插入删除要移动大量元素。"
POOR = "用数组，因为数组访问速度快，可以随机访问。"


def run(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}
    if home is not None:
        env["EVALUATOR_HOME"] = str(home)
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env,
                          timeout=900, cwd=ROOT)  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "ref.md").write_text(REFERENCE, encoding="utf-8")
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "poor.txt").write_text(POOR, encoding="utf-8")
    return tmp_path


def test_new_user_offline_adds_a_question_grades_gives_a_grade_and_sees_it_used(files: Path) -> None:
    ub = files / "mine"
    added = run("bank", "add", "--question", QUESTION, "--reference", str(files / "ref.md"), "--id", "linked-list",
                "--user-bank", str(ub))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "linked-list" in added.stdout and "derived from the reference" in added.stdout
    listed = run("bank", "list", "--user-bank", str(ub))
    assert any(line.startswith("linked-list\t") and "[yours]" in line for line in listed.stdout.splitlines())

    first = run(str(files / "good.txt"), "--question", QUESTION, "--user-bank", str(ub), "-f", "json",
                "-o", str(files / "r1.json"))  # fmt: skip
    assert first.returncode == 0, first.stderr
    r1 = json.loads((files / "r1.json").read_text(encoding="utf-8"))
    assert r1["question_id"] == "linked-list" and r1["question_source"] == "user"
    assert r1["auto_rubric"] is True and r1["user_anchors"] == 0 and r1["parts"]["anchor"] is None

    graded = run("grade", str(files / "r1.json"), "90", "--note", "要点都对", "--user-bank", str(ub))
    assert graded.returncode == 0, graded.stderr
    assert "grade 90 stored for linked-list" in graded.stderr
    again = run("grade", str(files / "r1.json"), "90", "--note", "要点都对", "--user-bank", str(ub))
    assert again.returncode == 0 and "already stored" in again.stderr
    [stored] = read_grades(ub)  # the repeat appended nothing
    assert (stored.grade, stored.source, stored.note, stored.evaluation_id) == (
        90,
        "cli",
        "要点都对",
        r1["evaluation_id"],
    )

    second = run(str(files / "poor.txt"), "--question", QUESTION, "--user-bank", str(ub), "-f", "json")
    assert second.returncode == 0, second.stderr
    r2 = json.loads(second.stdout)
    # The one graded answer is an anchor now: the anchor part exists and the report counts it.
    assert r2["user_anchors"] == 1 and r2["parts"]["anchor"] is not None
    terminal = run(str(files / "poor.txt"), "--question", QUESTION, "--user-bank", str(ub))
    assert "你评过分的 1 个回答参与了这次评分" in terminal.stdout
    assert "评分细则由参考答案自动生成" in terminal.stdout


def test_bad_grades_and_unknown_evaluations_are_one_line_errors_that_write_nothing(files: Path) -> None:
    ub = files / "mine"
    ok = run(str(ROOT / "examples" / "answer.txt"), "--user-bank", str(ub), "-f", "json", "-o", str(files / "r.json"))
    assert ok.returncode == 0, ok.stderr
    for bad, needle in (("150", "outside 0-100"), ("100.5", "outside 0-100"), ("abc", "not a number"),
                        ("nan", "outside 0-100")):  # fmt: skip
        one_line_error(run("grade", str(files / "r.json"), bad, "--user-bank", str(ub)), 2, needle)
        one_line_error(run(str(ROOT / "examples" / "answer.txt"), "--grade", bad, "--user-bank", str(ub)), 2, needle)
    one_line_error(run(str(ROOT / "examples" / "answer.txt"), "--grade=-1", "--user-bank", str(ub)), 2, "outside 0-100")
    (files / "unknown.json").write_text(json.dumps({"evaluation_id": "0123456789abcdef"}), encoding="utf-8")
    one_line_error(run("grade", str(files / "unknown.json"), "70", "--user-bank", str(ub)), 2,
                   "unknown evaluation id '0123456789abcdef'")  # fmt: skip
    (files / "notjson.json").write_text("score: 70", encoding="utf-8")
    one_line_error(run("grade", str(files / "notjson.json"), "70", "--user-bank", str(ub)), 2, "not a JSON result")
    assert not (ub / "grades.jsonl").exists()


def test_bank_add_rejects_bad_files_and_a_bundled_id_writing_nothing(files: Path) -> None:
    ub = files / "mine"
    run("bank", "add", "-q", "第一个自己的问题是什么？", "--reference", str(files / "ref.md"), "--user-bank", str(ub))
    before = snapshot(ub)
    (files / "empty.md").write_text("   \n", encoding="utf-8")
    (files / "binary.md").write_bytes(b"\xff\xfe\x00bad")
    (files / "bad.yaml").write_text("criteria: [unclosed\n", encoding="utf-8")
    (files / "nocriteria.yaml").write_text("common_errors: [x]\n", encoding="utf-8")
    (files / "badweight.yaml").write_text(
        "criteria:\n  - id: a\n    weight: 9\n    description: 说出链表\n", encoding="utf-8"
    )
    add = ("bank", "add", "-q", QUESTION, "--user-bank", str(ub))
    one_line_error(run(*add, "--reference", str(files / "empty.md")), 2, "empty.md", "too short")
    one_line_error(run(*add, "--reference", str(files / "binary.md")), 2, "binary.md", "UTF-8")
    one_line_error(run(*add, "--reference", str(files / "missing.md")), 2, "missing.md", "not found")
    ref = ("--reference", str(files / "ref.md"))
    one_line_error(run(*add, *ref, "--rubric", str(files / "bad.yaml")), 2, "bad.yaml", "invalid YAML")
    one_line_error(run(*add, *ref, "--rubric", str(files / "nocriteria.yaml")), 2, "nocriteria.yaml", "criteria")
    one_line_error(run(*add, *ref, "--rubric", str(files / "badweight.yaml")), 2, "badweight.yaml", "weight")
    one_line_error(run(*add, *ref, "--id", "attention-scale-sqrt-dk"), 2, "bundled bank has this id", "--override")
    one_line_error(run(*add, *ref, "--id", "Not_Kebab"), 2, "kebab-case")
    assert snapshot(ub) == before

    replaced = run(*add, *ref, "--id", "attention-scale-sqrt-dk", "--override")
    assert replaced.returncode == 0 and "replaces the bundled entry" in replaced.stdout
    bundled = (ROOT / "reference_answers" / "attention-scale-sqrt-dk.md").read_text(encoding="utf-8")
    assert "根号" in bundled and "链表" not in bundled  # the bundled bank is never written
    listed = run("bank", "list", "--user-bank", str(ub)).stdout
    assert "attention-scale-sqrt-dk\topen-questions\t" + QUESTION + "\t[yours, replaces the bundled entry]" in listed


def test_a_user_entry_with_a_bundled_id_overrides_it_and_the_export_loads_elsewhere(
    evaluator: Evaluator, tmp_path: Path
) -> None:
    from evaluator.bank.user import add_entry

    ub = tmp_path / "mine"
    q, origin = add_entry(evaluator.base_bank, ub, question=QUESTION, reference=REFERENCE, qid="lora-principle",
                          override=True)  # fmt: skip
    assert origin == "user-override" and q.rubric.auto_derived
    merged = with_user_bank(evaluator.base_bank, ub)
    assert merged.get("lora-principle").question == QUESTION and merged.origin("lora-principle") == "user-override"
    assert len(merged) == len(evaluator.base_bank)
    add_grade(ub, question_id="lora-principle", answer=GOOD, grade=88, source="cli")
    export_bank(ub, tmp_path / "shared")
    theirs = with_user_bank(evaluator.base_bank, tmp_path / "shared")
    assert theirs.get("lora-principle") == with_user_bank(evaluator.base_bank, ub).get("lora-principle")
    assert theirs.user_anchors == {"lora-principle": 1}


def test_a_question_with_a_given_reference_is_graded_against_a_derived_rubric(
    embedder: Embedder, tmp_path: Path
) -> None:
    ev = Evaluator(judge="offline", embedder=embedder, home=tmp_path)
    good = ev.evaluate(GOOD, question=QUESTION, reference=REFERENCE)
    poor = ev.evaluate(POOR, question=QUESTION, reference=REFERENCE)
    assert good.question_source == "given" and good.auto_rubric and good.question_id == poor.question_id
    assert good.score is not None and poor.score is not None and good.score > poor.score
    # The interviewer's grade of one answer informs the next evaluation of the same question + reference.
    assert good.evaluation_id is not None
    add_grade(tmp_path / "bank", question_id=good.question_id or "", answer=GOOD, grade=95, source="cli")
    later = ev.reloaded().evaluate(POOR, question=QUESTION, reference=REFERENCE)
    assert later.user_anchors == 1 and later.parts is not None and later.parts.anchor is not None


def test_offline_a_question_the_bank_lacks_is_refused_naming_both_ways_forward(files: Path) -> None:
    proc = run(str(files / "good.txt"), "--question", "红黑树和 AVL 树插入操作的旋转次数有什么区别？",
               "--user-bank", str(files / "mine"))  # fmt: skip
    assert proc.returncode == 3
    assert "--reference FILE" in proc.stderr and "LLM endpoint" in proc.stderr
    one_line_error(
        run(str(files / "good.txt"), "--reference", str(files / "ref.md")), 2, "--reference needs --question"
    )


def test_calibrate_user_says_when_there_are_too_few_grades(files: Path) -> None:
    proc = run("calibrate", "--user", "--user-bank", str(files / "mine"))
    assert proc.returncode == 0, proc.stderr
    assert "0 graded answer(s) of yours" in proc.stdout and "at least 30" in proc.stdout
    assert not (files / "mine" / "calibration.json").exists()

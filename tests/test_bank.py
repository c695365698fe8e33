"""The loader validates every file and names the file and field of each problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.bank.check import check_bank
from evaluator.bank.loader import QuestionBank
from evaluator.errors import BankError

ROOT = Path(__file__).resolve().parent.parent

REF = """---
id: {id}
question: {question}
aliases: ["{alias}"]
topic: attention
difficulty: 2
sources: []
---
{body}
"""
RUBRIC = """id: {id}
criteria:
  - id: variance
    weight: 3
    description: 指出点积方差随维度线性增长
    keywords: [方差, 8]
anchors:
  - score: 90
    answer: 方差随维度增长
"""


def write_entry(
    root: Path, qid: str, question: str = "问题一？", alias: str = "别名一", body: str = "参考答案。"
) -> None:
    (root / "reference_answers").mkdir(parents=True, exist_ok=True)
    (root / "rubrics").mkdir(parents=True, exist_ok=True)
    (root / "reference_answers" / f"{qid}.md").write_text(
        REF.format(id=qid, question=question, alias=alias, body=body), encoding="utf-8"
    )
    (root / "rubrics" / f"{qid}.yaml").write_text(RUBRIC.format(id=qid), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(BankError) as info:
        QuestionBank.load(root)
    return info.value.problems


def test_valid_bank_loads_with_numeric_keywords_as_text(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    bank = QuestionBank.load(tmp_path)
    assert len(bank) == 1
    assert bank.get("q-one").rubric.criteria[0].keywords == ("方差", "8")


def test_unknown_topic_names_file_and_field(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    path = tmp_path / "reference_answers" / "q-one.md"
    path.write_text(path.read_text(encoding="utf-8").replace("topic: attention", "topic: cooking"), encoding="utf-8")
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}:topic:") and "unknown topic 'cooking'" in problem


def test_unknown_rubric_field_is_rejected(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    path = tmp_path / "rubrics" / "q-one.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    weight: 3", "    wieght: 3"), encoding="utf-8")
    problems = problems_of(tmp_path)
    assert any(p.startswith(f"{path}:criteria.0.wieght:") for p in problems)


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    path = tmp_path / "rubrics" / "q-one.yaml"
    path.write_text("id: q-one\ncriteria: [\n", encoding="utf-8")
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}:line ") and "invalid YAML" in problem


def test_missing_rubric_and_id_mismatch_are_reported(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    write_entry(tmp_path, "q-two", question="问题二？", alias="别名二")
    (tmp_path / "rubrics" / "q-two.yaml").unlink()
    ref = tmp_path / "reference_answers" / "q-one.md"
    ref.write_text(ref.read_text(encoding="utf-8").replace("id: q-one", "id: q-other"), encoding="utf-8")
    problems = problems_of(tmp_path)
    assert any("has no rubric" in p and "q-two" in p for p in problems)
    assert any(p.startswith(f"{ref}:id:") for p in problems)


def test_alias_colliding_with_another_question_is_rejected(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one", question="问题一？", alias="共同的说法")
    write_entry(tmp_path, "q-two", question="问题二？", alias="共同的说法？")
    problems = problems_of(tmp_path)
    assert any("also a phrasing of 'q-one'" in p for p in problems)


def test_front_matter_is_required(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    path = tmp_path / "reference_answers" / "q-one.md"
    path.write_text("没有 front matter 的答案", encoding="utf-8")
    [problem] = problems_of(tmp_path)
    assert problem == f"{path}:1: missing YAML front matter (first line must be '---')"


def test_quality_rules_fail_strict_check_only(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    strict = check_bank(tmp_path)
    assert any("criteria" in p for p in strict.problems) and any("anchors" in p for p in strict.problems)
    lenient = check_bank(tmp_path, strict=False)
    assert lenient.problems == [] and lenient.notes


def test_bundled_bank_passes_strict_check() -> None:
    report = check_bank(ROOT)
    assert report.problems == []
    assert report.n_questions >= 15


def test_content_hash_changes_with_any_file(tmp_path: Path) -> None:
    write_entry(tmp_path, "q-one")
    before = QuestionBank.load(tmp_path).content_hash
    write_entry(tmp_path, "q-one", body="另一个参考答案。")
    assert QuestionBank.load(tmp_path).content_hash != before

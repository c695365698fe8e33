"""Reports speak the candidate's language; the numbers behind a grade stay in a details section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from evaluator import Evaluator
from evaluator.models import Evaluation, Level, TranscriptReport, TranscriptTurn, TurnResult
from evaluator.reports.answer import render_terminal, to_markdown
from evaluator.reports.transcript import render_terminal as render_transcript
from evaluator.reports.transcript import to_markdown as transcript_markdown
from evaluator.transcripts.summary import study_next, summarize

ROOT = Path(__file__).resolve().parent.parent
QID = "attention-scale-sqrt-dk"
ENGLISH = (
    "The dot product of q and k has variance d_k when the components are independent with unit variance, so "
    "large dimensions give large logits. Softmax then saturates into a near one-hot distribution and its "
    "gradients vanish. Dividing by sqrt(d_k) brings the variance back to 1 and keeps training stable."
)
INTERNALS = ("cosine", "α=", "β=", "lo=", "baseline", "基线", "score 1.", "margin")


@pytest.fixture(scope="module")
def graded(evaluator: Evaluator) -> Evaluation:
    return evaluator.evaluate((ROOT / "examples" / "answer.txt").read_text(encoding="utf-8"), question_id=QID)


def test_a_chinese_answer_gets_chinese_labels_and_numbers_only_in_details(graded: Evaluation) -> None:
    md = to_markdown(graded)  # the language is read off the evaluation: its feedback is Chinese
    body, details = md.split("## 评分细节")
    assert "| 评分要点 | 权重 | 判定 | 回答中的依据 |" in body and "得分" in body and "## 建议" in body
    assert not any(word in body for word in INTERNALS), body
    assert "cosine" in details and "α=" in details
    assert all(c.comment and not re.search(r"\d\.\d", c.comment) for c in graded.criteria)


def test_the_parts_shown_add_up_to_the_score(graded: Evaluation) -> None:
    details = to_markdown(graded).split("## 评分细节")[1]
    line = next(ln for ln in details.splitlines() if ln.startswith("- 构成"))
    terms = re.findall(r" ([\d.]+) × ([\d.]+)", line)
    assert graded.parts is not None and graded.score is not None
    assert len(terms) == (3 if graded.parts.anchor is not None and graded.parts.anchor_weight > 0 else 2)
    penalty = re.search(r"错误说法扣分 ([\d.]+)", line)
    total = sum(float(v) * float(w) for v, w in terms) - (float(penalty.group(1)) if penalty else 0.0)
    assert total == pytest.approx(graded.score, abs=0.2)


def test_an_english_answer_gets_english_labels(evaluator: Evaluator) -> None:
    md = to_markdown(evaluator.evaluate(ENGLISH, question_id=QID))
    assert "| criterion | weight | verdict | evidence from the answer |" in md and "## Details" in md
    assert "评分要点" not in md


def test_terminal_header_shows_one_score(evaluator: Evaluator) -> None:
    ev = evaluator.evaluate((ROOT / "examples" / "answer.txt").read_text(encoding="utf-8"))  # matched by answer
    assert ev.match.by != "id" and ev.score is not None
    console = Console(record=True, width=80)
    render_terminal(ev, console, "zh")
    header = console.export_text().split("┏")[0]
    assert f"得分 {ev.score:.0f}/100" in header
    assert "score" not in header.lower() and not re.search(r"\d\.\d{3}", header), header


def _turn(index: int, ev: Evaluation) -> TurnResult:
    answer = (ROOT / "examples" / "answer.txt").read_text(encoding="utf-8")
    turn = TranscriptTurn(index=index, question=ev.question or "", answer=answer)
    return TurnResult(key=f"k{index}", turn=turn, status="graded", evaluation=ev)


def test_study_next_puts_a_wrong_claim_first_and_says_to_correct_it(graded: Evaluation) -> None:
    light = min(graded.criteria, key=lambda c: c.weight)
    claim = "认为点积的方差与维度无关"
    criteria = tuple(
        c.model_copy(update={"level": Level.missing, "wrong_claim": claim if c is light else ""})
        for c in graded.criteria
    )
    results = [_turn(1, graded.model_copy(update={"criteria": criteria}))]
    items = study_next(results)
    assert items[0].wrong_claim == claim and items[0].criterion == light.description
    assert all(not i.wrong_claim for i in items[1:])
    turns = tuple(results)
    report = TranscriptReport(source="x.md", judge="offline", complete=True, turns=turns, summary=summarize(turns))
    assert f"1. **纠正错误说法：{claim}**" in transcript_markdown(report)


def test_transcript_table_keeps_ids_and_statuses_whole_at_80_columns(evaluator: Evaluator) -> None:
    report = evaluator.evaluate_transcript(ROOT / "examples" / "interview_zh.md")
    console = Console(record=True, width=80)
    render_transcript(report, console)
    text = console.export_text()
    ids = {r.evaluation.question_id for r in report.turns if r.evaluation is not None and r.evaluation.question_id}
    assert ids and all(qid in text for qid in ids), text
    for status in ("已评分", "不在题库中"):
        assert status in text
    assert max(len(line) for line in text.splitlines()) <= 80

"""Transcripts: the parser on every format and edge case, and the batch on the real pipeline
(m3e embeddings, FAISS, bundled bank, offline judge). The only stand-in is a judge behind the Judge
protocol that fails (JudgeError) or is interrupted (Ctrl-C) on chosen questions."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluator import Evaluator, InputError, JudgeError
from evaluator.judges import JudgeRequest
from evaluator.models import JudgeVerdict, ResultBasis, TranscriptReport, TranscriptTurn, TurnResult
from evaluator.reports.transcript import to_html, to_json, to_markdown
from evaluator.transcripts.batch import BatchInterrupted, ResultsLog, run_turns, turn_key
from evaluator.transcripts.parse import is_chitchat, load_transcript, parse_transcript
from evaluator.transcripts.summary import summarize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def qa(turns: list[TranscriptTurn]) -> list[tuple[str, str]]:
    return [(t.question, t.answer) for t in turns]


# -- parser: formats ---------------------------------------------------------------------------------


def test_chinese_example_turns() -> None:
    name, turns = load_transcript(EXAMPLES / "interview_zh.md")
    assert name.endswith("interview_zh.md")
    assert len(turns) == 10
    questions = [t.question for t in turns]
    assert questions[1] == "那我们从基础开始，Attention 为什么要除以根号 d？"  # leading 「好的。」 dropped
    assert not any("谢谢" in q or q.startswith("嗯") for q in questions)  # chit-chat is not a question
    assert "batch 统计均值方差" in turns[2].answer and "running mean" in turns[2].answer  # split answer joined
    assert "还有吗" not in turns[2].answer
    assert turns[4].question.startswith("追问") and turns[4].follow_up_of == 4
    assert turns[8].question == "DeepSpeed 的 ZeRO 分几个阶段？分别切分了什么？\n另外你们训练的时候用的是哪一种？"
    assert turns[8].answer.startswith("我们用的是 ZeRO-2")
    assert all(t.answer for t in turns)
    assert turns[1].line == 9 and [t.index for t in turns] == list(range(1, 11))


def test_mixed_example_turns() -> None:
    _, turns = load_transcript(EXAMPLES / "interview_mixed.md")
    assert len(turns) == 6
    assert turns[0].question.startswith("先聊聊注意力") and turns[0].answer.startswith("MHA 里")
    assert "LLaMA-2 70B" in turns[0].answer  # continuation lines belong to the answer
    assert "reduce-scatter" in turns[1].answer and "Then an all-gather" in turns[1].answer  # across "Mm-hmm."
    assert "00:0" not in turns[1].answer
    assert turns[5].question.startswith("Last one") and turns[5].answer == ""  # asked, never answered


def test_plain_question_answer_labels_chinese() -> None:
    text = (
        "问：为什么 Attention 要除以根号 d？\n答：防止点积过大，softmax 饱和。\n问：LoRA 的原理是什么？\n答：低秩分解。"
    )
    assert qa(parse_transcript(text)) == [
        ("为什么 Attention 要除以根号 d？", "防止点积过大，softmax 饱和。"),
        ("LoRA 的原理是什么？", "低秩分解。"),
    ]


def test_english_q_a_with_numbers_and_multiline() -> None:
    text = "Q1. What is LoRA?\nA1: A low-rank update.\nIt freezes W.\n\nQ2: Why divide by sqrt(d_k)?\nA: Variance.\n"
    turns = parse_transcript(text)
    assert qa(turns) == [
        ("What is LoRA?", "A low-rank update.\nIt freezes W."),
        ("Why divide by sqrt(d_k)?", "Variance."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "**面试官：** LoRA 的原理是什么？\n\n**候选人：** 冻结权重，训练低秩增量。\n",
        "**面试官**：LoRA 的原理是什么？\n**候选人**：冻结权重，训练低秩增量。\n",
        "### 面试官\nLoRA 的原理是什么？\n\n### 候选人\n冻结权重，训练低秩增量。\n",
        "## Q1: LoRA 的原理是什么？\nA: 冻结权重，训练低秩增量。\n",
        "> 面试官：LoRA 的原理是什么？\n> 候选人：冻结权重，训练低秩增量。\n",
        "- **Interviewer:** LoRA 的原理是什么？\n- **Candidate:** 冻结权重，训练低秩增量。\n",
        "[00:01:02] 面试官: LoRA 的原理是什么？\n[00:01:09] 我: 冻结权重，训练低秩增量。\n",
        "**面试官：LoRA 的原理是什么？**\n候选人：冻结权重，训练低秩增量。\n",
    ],
    ids=[
        "bold-colon-inside",
        "bold-colon-outside",
        "heading-alone",
        "heading-q",
        "quote",
        "list-bold",
        "timestamp",
        "bold-whole-line",
    ],
)
def test_bold_heading_and_other_label_forms(text: str) -> None:
    assert qa(parse_transcript(text)) == [("LoRA 的原理是什么？", "冻结权重，训练低秩增量。")]


def test_markdown_notes_without_speakers_use_question_headings() -> None:
    text = (
        "# 面经整理\n\n## 1. LoRA 的原理是什么？\n冻结权重。\n\n## 个人信息\n略\n\n## 2. 为什么要除以根号 d？\n方差。\n"
    )
    assert qa(parse_transcript(text)) == [("LoRA 的原理是什么？", "冻结权重。"), ("为什么要除以根号 d？", "方差。")]


def test_json_list_object_chat_and_jsonl(tmp_path: Path) -> None:
    _, turns = load_transcript(EXAMPLES / "interview.json")
    assert len(turns) == 5 and turns[4].answer == ""  # "answer": null is an unanswered question
    wrapped = {"turns": [{"question": "Q 是什么？", "answer": ["第一段", "第二段"], "question_id": "lora-principle"}]}
    [t] = parse_transcript(json.dumps(wrapped, ensure_ascii=False))
    assert t.answer == "第一段\n第二段" and t.question_id == "lora-principle"
    single = parse_transcript('{"question": "单独一个问题？", "answer": "一个回答"}')
    assert qa(single) == [("单独一个问题？", "一个回答")]
    chat = [
        {"role": "interviewer", "content": "LoRA 的原理是什么？"},
        {"role": "candidate", "content": "冻结权重。"},
        {"role": "interviewer", "content": "好的，谢谢"},
        {"role": "candidate", "content": "再训练低秩增量。"},
    ]
    assert qa(parse_transcript(json.dumps(chat, ensure_ascii=False))) == [
        ("LoRA 的原理是什么？", "冻结权重。\n\n再训练低秩增量。")
    ]
    path = tmp_path / "t.jsonl"
    path.write_text('{"question": "a 是什么？", "answer": "x"}\n\n{"question": "b 是什么？", "answer": "y"}\n', "utf-8")
    assert qa(load_transcript(path)[1]) == [("a 是什么？", "x"), ("b 是什么？", "y")]
    assert qa(parse_transcript(path.read_text("utf-8"))) == [("a 是什么？", "x"), ("b 是什么？", "y")]  # sniffed


def test_windows_line_endings_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "win.md"
    path.write_bytes("\ufeff面试官：LoRA 的原理是什么？\r\n候选人：冻结权重，\r\n训练低秩增量。\r\n".encode())
    assert qa(load_transcript(path)[1]) == [("LoRA 的原理是什么？", "冻结权重，\n训练低秩增量。")]
    assert qa(load_transcript(str(path))[1]) == qa(parse_transcript(path.read_text("utf-8-sig")))


# -- parser: edge cases -------------------------------------------------------------------------------


def test_question_with_no_answer_and_two_questions_in_a_row() -> None:
    text = (
        "面试官：为什么 Attention 要除以根号 d？\n候选人：\n"  # an empty reply: unanswered
        "面试官：LoRA 的原理是什么？\n候选人：嗯……\n"  # only chit-chat: unanswered
        "面试官：ZeRO 分几个阶段？\n面试官：你们用的哪一种？\n候选人：ZeRO-2，切分优化器状态和梯度。\n"  # two in a row
        "面试官：RLHF 的流程是什么？\n"  # the transcript ends
    )
    turns = parse_transcript(text)
    assert qa(turns) == [
        ("为什么 Attention 要除以根号 d？", ""),
        ("LoRA 的原理是什么？", ""),
        ("ZeRO 分几个阶段？\n你们用的哪一种？", "ZeRO-2，切分优化器状态和梯度。"),
        ("RLHF 的流程是什么？", ""),
    ]


def test_answer_split_over_turns_with_remarks_and_chitchat_between() -> None:
    text = (
        "Interviewer: Why does attention divide by sqrt(d_k)?\nCandidate: The dot product variance grows with d_k.\n"
        "Interviewer: OK, go on.\nInterviewer: Right, that is one part.\nCandidate: So softmax saturates.\n"
        "Candidate: Dividing keeps the variance at 1.\nInterviewer: Great, thanks!\nCandidate: Thank you!\n"
    )
    [turn] = parse_transcript(text)
    assert (
        turn.answer
        == "The dot product variance grows with d_k.\n\nSo softmax saturates.\n\nDividing keeps the variance at 1."
    )


def test_content_that_looks_like_labels_inside_an_answer() -> None:
    text = (
        "面试官：Attention 里 Q、K、V 分别是什么？\n候选人：\n- Q：当前 token 的查询\n- K：被匹配的键\n"
        "```\nQ: not a speaker inside a code block\n```\nA 和 B 是低秩矩阵。\n"
    )
    [turn] = parse_transcript(text)
    assert "- Q：当前 token 的查询" in turn.answer and "Q: not a speaker" in turn.answer and "A 和 B" in turn.answer


def test_chitchat_detection() -> None:
    for text in (
        "好的，谢谢",
        "嗯嗯，好的！",
        "OK, thanks!",
        "谢谢面试官～",
        "Got it.",
        "嗯，还有吗？",
        "好的，今天就到这里，谢谢。",
    ):
        assert is_chitchat(text), text
    for text in ("好的，LoRA 的原理是什么？", "不知道", "Variance grows with d_k.", "对，是低秩分解"):
        assert not is_chitchat(text), text


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("随便写点东西，没有任何说话人标记。\n第二行。", "no question/answer turns found"),
        ('[{"question": "a"', "invalid JSON at line 1"),
        ('[{"answer": "x"}]', 'item 1: missing "question"'),
        ('[{"question": "a？", "answer": 3}]', "'answer' must be text"),
        ("[]", "no turns"),
        ("面试官：好的，谢谢。\n候选人：谢谢！\n", "no questions found"),
        ("面试官：LoRA 的原理是什么？\n面试官：为什么有效？\n", "no answers found"),
    ],
)
def test_bad_input_is_one_line_input_error_naming_the_file(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.json" if content.startswith("[") else tmp_path / "bad.md"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_transcript(path)
    message = str(info.value)
    assert needle in message and str(path) in message and "\n" not in message


def test_bad_jsonl_line_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"question": "a？", "answer": "x"}\n{"question": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.jsonl: line 2: invalid JSON"):
        load_transcript(path)
    with pytest.raises(InputError, match=r"nope\.md: file not found"):
        load_transcript(str(tmp_path / "nope.md"))
    binary = tmp_path / "x.md"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        load_transcript(binary)


# -- the batch on the real pipeline ----------------------------------------------------------------------


class ScriptedJudge:
    """A Judge (protocol) that delegates to a real judge, but fails on chosen questions or sends Ctrl-C."""

    name = "scripted"

    def __init__(self, inner: object, fail: set[str] | None = None, interrupt_on_call: int | None = None):
        self.inner = inner
        self.fail = fail or set()
        self.interrupt_on_call = interrupt_on_call
        self.calls: list[str] = []

    def judge(self, request: JudgeRequest) -> JudgeVerdict:
        raise AssertionError("the batch uses the async twin")

    async def ajudge(self, request: JudgeRequest) -> JudgeVerdict:
        self.calls.append(request.question.id)
        if self.interrupt_on_call is not None and len(self.calls) == self.interrupt_on_call:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: asyncio's handler cancels the batch
            await asyncio.sleep(30)
        if request.question.id in self.fail:
            raise JudgeError("judge: HTTP 500 from the endpoint after 3 attempts")
        return await self.inner.ajudge(request)  # type: ignore[attr-defined,no-any-return]


def with_judge(evaluator: Evaluator, judge: object) -> Evaluator:
    return Evaluator(bank=evaluator.bank, judge=judge, embedder=evaluator.embedder)  # type: ignore[arg-type]


def read_results(path: Path) -> list[TurnResult]:
    return [TurnResult.model_validate_json(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def zh_report(evaluator: Evaluator, tmp_path_factory: pytest.TempPathFactory) -> tuple[TranscriptReport, Path]:
    results = tmp_path_factory.mktemp("zh") / "results.jsonl"
    return evaluator.evaluate_transcript(EXAMPLES / "interview_zh.md", results=results, concurrency=4), results


def test_real_pipeline_on_the_chinese_example(zh_report: tuple[TranscriptReport, Path]) -> None:
    report, _ = zh_report
    assert report.complete and report.judge == "offline" and len(report.turns) == 10
    by_index = {r.turn.index: r for r in report.turns}
    expected = {2: "attention-scale-sqrt-dk", 3: "layernorm-vs-batchnorm", 4: "kv-cache-no-q-cache",
                6: "lora-principle", 7: "rlhf-pipeline", 9: "zero-stages-deepspeed"}  # fmt: skip
    for index, qid in expected.items():
        r = by_index[index]
        assert r.status == "graded" and r.evaluation is not None, (index, r.status, r.candidates)
        assert r.evaluation.question_id == qid and r.evaluation.score is not None
        assert r.evaluation.judge == "offline" and r.evaluation.parts is not None
    intro, habits = by_index[1], by_index[10]  # never graded: small talk, and a question the bank lacks
    assert intro.status == "unmatched" and intro.not_a_question and intro.candidates == ()
    assert habits.status == "unmatched" and not habits.not_a_question and habits.candidates
    assert intro.evaluation is None  # small talk is never matched, so there is nothing to report
    assert habits.evaluation is not None and habits.evaluation.score is None and habits.evaluation.question_id is None
    s = report.summary
    graded = [r.evaluation.score for r in report.turns if r.status == "graded" and r.evaluation]
    assert s.graded == len(graded) >= 6 and s.total == 10 and s.failed == 0 and s.unmatched >= 2
    assert s.overall == pytest.approx(sum(x for x in graded if x is not None) / len(graded), abs=0.06)
    assert {t.topic for t in s.topics} >= {"attention", "architecture", "inference", "peft", "alignment", "distributed"}
    assert sum(t.graded for t in s.topics) == s.graded
    assert s.strongest and s.weakest and s.strongest[0].score >= s.weakest[0].score
    assert not {t.topic for t in s.strongest} & {t.topic for t in s.weakest}
    assert 1 <= len(s.study_next) <= 3
    for item in s.study_next:  # from missing criteria of graded turns
        r = next(r for r in report.turns if r.turn.index == item.turns[0])
        assert r.evaluation is not None and item.criterion in [c.description for c in r.evaluation.criteria]


def test_results_file_has_one_valid_line_per_turn(zh_report: tuple[TranscriptReport, Path]) -> None:
    report, path = zh_report
    lines = read_results(path)
    assert sorted(r.turn.index for r in lines) == list(range(1, 11))
    assert {r.key for r in lines} == {r.key for r in report.turns}


def test_reports_render_in_every_format(zh_report: tuple[TranscriptReport, Path]) -> None:
    report, _ = zh_report
    assert TranscriptReport.model_validate_json(to_json(report)) == report
    md = to_markdown(report)  # a Chinese interview: Chinese labels
    assert md.startswith("# 模拟面试报告") and "## 各主题得分" in md and "## 接下来学什么" in md
    assert "不在题库中" in md and "## 第 2 轮" in md
    english = to_markdown(report, "en")
    assert english.startswith("# Mock interview report") and "## Score by topic" in english
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and page.count("<svg") == 2
    for external in ("<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert external not in page, external
    assert "attention-scale-sqrt-dk" in page and "&lt;" not in report.source


def test_resume_skips_finished_turns(evaluator: Evaluator, tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    judge = ScriptedJudge(evaluator.judge)
    ev = with_judge(evaluator, judge)
    first = ev.evaluate_transcript(EXAMPLES / "interview.json", results=results)
    assert [r.status for r in first.turns] == ["graded", "graded", "graded", "unmatched", "unanswered"]
    assert len(judge.calls) == 3
    with pytest.raises(InputError, match="already holds 5 turn results; pass --resume"):
        ev.evaluate_transcript(EXAMPLES / "interview.json", results=results)
    again = ev.evaluate_transcript(EXAMPLES / "interview.json", results=results, resume=True)
    assert len(judge.calls) == 3  # nothing judged twice
    assert again.turns == first.turns and again.summary == first.summary
    assert len(read_results(results)) == 5


def test_failing_turn_is_recorded_and_the_batch_goes_on_then_resume_retries_it(
    evaluator: Evaluator, tmp_path: Path
) -> None:
    results = tmp_path / "r.jsonl"
    judge = ScriptedJudge(evaluator.judge, fail={"lora-principle"})
    ev = with_judge(evaluator, judge)
    report = ev.evaluate_transcript(EXAMPLES / "interview.json", results=results, concurrency=3)
    statuses = {r.turn.index: r.status for r in report.turns}
    assert statuses == {1: "graded", 2: "failed", 3: "graded", 4: "unmatched", 5: "unanswered"}
    failed = report.turns[1]
    assert failed.error and "HTTP 500" in failed.error and failed.evaluation is None
    assert report.summary.failed == 1 and report.summary.graded == 2
    assert [r.status for r in read_results(results)].count("failed") == 1
    judge.fail.clear()
    retried = ev.evaluate_transcript(EXAMPLES / "interview.json", results=results, resume=True)
    assert judge.calls.count("lora-principle") == 2 and len(judge.calls) == 4  # only the failed turn re-ran
    assert retried.summary.failed == 0 and retried.summary.graded == 3


def test_ctrl_c_leaves_a_valid_partial_result_and_resume_finishes(evaluator: Evaluator, tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    # asyncio.run turns SIGINT into task cancellation only when the default handler is installed;
    # make that so whatever ran earlier in this process.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_then_resume(evaluator, results)
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_then_resume(evaluator: Evaluator, results: Path) -> None:
    judge = ScriptedJudge(evaluator.judge, interrupt_on_call=2)
    ev = with_judge(evaluator, judge)
    with pytest.raises(BatchInterrupted) as info:
        ev.evaluate_transcript(EXAMPLES / "interview.json", results=results, concurrency=1)
    partial = info.value.report
    assert isinstance(info.value, KeyboardInterrupt)
    assert not partial.complete and partial.summary.pending == 5 - len(partial.turns) > 0
    on_disk = read_results(results)  # every line valid
    assert {r.key for r in on_disk} == {r.key for r in partial.turns}
    assert any(r.status == "graded" for r in on_disk)
    with results.open("a", encoding="utf-8") as f:  # a torn write (killed mid-line) must not break resume
        f.write('{"key": "abc", "turn": {"ind')
    judge.interrupt_on_call = None
    done = ev.evaluate_transcript(EXAMPLES / "interview.json", results=results, resume=True)
    assert done.complete and len(done.turns) == 5 and done.summary.graded == 3
    assert len(judge.calls) == 4  # 1 finished + 1 interrupted before, 2 now
    loaded, bad = ResultsLog(results).load()
    assert bad == 1 and {r.key for r in done.turns} <= set(loaded)


def test_turn_key_ignores_position_but_not_content_or_anything_in_the_basis() -> None:
    basis = ResultBasis(judge="offline", calibration="c1", bank="b1", embedding="m3e-small")
    a = TranscriptTurn(index=1, question="q？", answer="a")
    assert turn_key(a, basis) == turn_key(a.model_copy(update={"index": 7}), basis)
    assert turn_key(a, basis) != turn_key(a.model_copy(update={"answer": "b"}), basis)
    assert turn_key(a, basis) != turn_key(a.model_copy(update={"question": "p？"}), basis)
    changes: list[dict[str, object]] = [
        {"judge": "openai"}, {"model": "m"}, {"endpoint": "http://127.0.0.1:1/v1"}, {"prompt_version": "v2"},
        {"sampling": '{"seed":1}'}, {"samples": 3}, {"calibration": "c2"}, {"bank": "b2"}, {"embedding": "e5"},
    ]  # fmt: skip
    assert len(changes) == len(ResultBasis.model_fields)  # a new basis field needs a line here
    for change in changes:
        assert turn_key(a, basis) != turn_key(a, basis.model_copy(update=change)), change


def test_pinned_unknown_question_id_and_oversized_answer_do_not_stop_the_batch(evaluator: Evaluator) -> None:
    turns = [
        TranscriptTurn(index=1, question="LoRA？", answer="冻结权重，训练低秩增量 BA。", question_id="lora-principle"),
        TranscriptTurn(index=2, question="x？", answer="y", question_id="no-such-question"),
        TranscriptTurn(index=3, question="为什么 Attention 要除以根号 d_k？", answer="长" * 20_001),
    ]
    report = run_turns(evaluator, turns)
    assert [r.status for r in report.turns] == ["graded", "unmatched", "failed"]
    assert report.turns[0].matched_by == "id"
    assert "no-such-question" in (report.turns[1].error or "")
    assert "limit" in (report.turns[2].error or "")
    assert summarize(report.turns) == report.summary.model_copy(update={"pending": 0})


# -- the command line ----------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)  # fmt: skip


def test_cli_transcript_json_then_resume_as_html(evaluator: Evaluator, tmp_path: Path) -> None:
    evaluator.index  # noqa: B018  (the subprocesses reuse the session's persisted index)
    results = tmp_path / "r.jsonl"
    proc = run_cli("transcript", str(EXAMPLES / "interview.json"), "--format", "json", "--results", str(results),
                   "--concurrency", "2")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["complete"] and data["summary"]["graded"] == 3 and data["summary"]["unanswered"] == 1
    out = tmp_path / "report.html"
    proc = run_cli(str(EXAMPLES / "interview.json"), "--transcript", "--resume", "--results", str(results),
                   "--format", "html", "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in out.read_text("utf-8") and len(read_results(results)) == 5


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("今天复习了 LoRA。\n明天复习 RLHF。\n", encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"question": "a？", "answer": "x"},', encoding="utf-8")
    cases = [
        (["transcript", str(tmp_path / "missing.md")], "missing.md: file not found"),
        (["transcript", str(notes)], "notes.md: no question/answer turns found"),
        ([str(broken), "--transcript"], "broken.json: invalid JSON at line 1"),
    ]
    for args, needle in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("error: "), proc.stderr


def test_cli_ctrl_c_exits_130_with_a_partial_report_and_valid_results(evaluator: Evaluator, tmp_path: Path) -> None:
    from chat_server import ChatServer

    evaluator.index  # noqa: B018
    results = tmp_path / "r.jsonl"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OPENAI_API_KEY": "test", "EVALUATOR_MODEL": "test-model"}
    with ChatServer() as server:
        server.delay = 1.0  # each judge call takes a second: the interrupt lands mid-batch
        env["OPENAI_BASE_URL"] = server.url
        cmd = [sys.executable, str(ROOT / "cli.py"), "transcript", str(EXAMPLES / "interview_zh.md"), "--judge",
               "openai", "--concurrency", "1", "--results", str(results), "--format", "json"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                if results.exists() and any(r.status == "graded" for r in read_results(results)):
                    break
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted:" in err and "--resume" in err
    report = TranscriptReport.model_validate_json(out)
    assert not report.complete and 0 < len(report.turns) < 10 and report.summary.pending == 10 - len(report.turns)
    assert {r.key for r in read_results(results)} == {r.key for r in report.turns}


def test_real_pipeline_on_the_mixed_example(evaluator: Evaluator) -> None:
    report = evaluator.evaluate_transcript(str(EXAMPLES / "interview_mixed.md"), concurrency=2)
    by_index = {r.turn.index: r for r in report.turns}
    for index, qid in {1: "mqa-gqa", 3: "flashattention-principle"}.items():
        ev = by_index[index].evaluation
        assert by_index[index].status == "graded" and ev is not None and ev.question_id == qid
    ring = by_index[2]  # an English question finds its Chinese entry (multilingual matching and English aliases)
    assert ring.status == "graded" and ring.evaluation is not None and ring.evaluation.question_id == "ring-allreduce"
    assert by_index[5].status == "unmatched" and by_index[5].evaluation is not None
    assert by_index[5].evaluation.score is None  # off-bank: listed, never graded
    assert by_index[6].status == "unanswered" and report.summary.unanswered == 1

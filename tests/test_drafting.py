"""With an LLM endpoint, a question the bank lacks gets a drafted reference and rubric (loopback server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from chat_server import ChatServer, Recorded, Reply, completion, good

from evaluator import Evaluator
from evaluator.encoders.embedder import Embedder
from evaluator.judges.openai_judge import JudgeSettings, OpenAIJudge, RetryPolicy

QUESTION = "红黑树和 AVL 树插入一个结点后最多各需要几次旋转？"
ANSWER = "红黑树插入最多两次旋转，AVL 树插入最多也是两次旋转（一次双旋），但 AVL 更严格平衡，删除时旋转可能更多。"
DRAFT = {
    "reference": "插入时红黑树最多需要两次旋转（加若干次变色），AVL 树插入后最多也只需一次单旋或一次双旋，"
    "即最多两次旋转；区别在删除：AVL 删除可能一路旋转到根，O(log n) 次，红黑树删除最多三次旋转。",
    "criteria": [
        {"id": "rb-insert", "weight": 3, "description": "说出红黑树插入最多两次旋转"},
        {"id": "avl-insert", "weight": 3, "description": "说出 AVL 树插入最多一次单旋或双旋"},
        {"id": "delete-diff", "weight": 2, "description": "指出删除时 AVL 旋转次数可达 O(log n)"},
    ],
    "common_errors": ["AVL 插入需要 O(log n) 次旋转"],
}


def is_draft(rec: Recorded) -> bool:
    return "参考答案" in rec.system and "评分细则" in rec.system and "<<<QUESTION>>>" in rec.user


@pytest.fixture(autouse=True)
def _clean(server: ChatServer) -> None:
    server.reset()


def llm_evaluator(server: ChatServer, embedder: Embedder, home: Path) -> Evaluator:
    settings = JudgeSettings(model="test-model", api_key="sk-test-key", base_url=server.url, timeout_s=5,
                             retry=RetryPolicy(attempts=2, initial_wait_s=0, jitter_s=0))  # fmt: skip
    return Evaluator(judge=OpenAIJudge(settings), embedder=embedder, home=home)


def routed(draft_reply: str) -> Callable[[Recorded], Reply]:
    grade = good()

    def route(rec: Recorded) -> Reply:
        if is_draft(rec):
            return Reply(body=completion(rec, draft_reply))
        if "候选题目" in rec.user:  # the question picker: none of the bank's candidates
            return Reply(body=completion(rec, json.dumps({"question_id": None})))
        return grade(rec)

    return route


def test_the_model_drafts_reference_and_rubric_once_and_the_report_says_so(
    server: ChatServer, embedder: Embedder, tmp_path: Path
) -> None:
    server.default = routed(json.dumps(DRAFT, ensure_ascii=False))
    ev = llm_evaluator(server, embedder, tmp_path)
    first = ev.evaluate(ANSWER, question=QUESTION)
    assert first.question_source == "drafted" and not first.auto_rubric and first.score is not None
    assert [c.id for c in first.criteria] == ["rb-insert", "avl-insert", "delete-diff"]
    drafts = [r for r in server.requests if is_draft(r)]
    assert len(drafts) == 1 and drafts[0].body["response_format"]["type"] == "json_schema"
    again = llm_evaluator(server, embedder, tmp_path).evaluate(ANSWER + " 补充。", question=QUESTION)
    assert again.question_id == first.question_id  # the cached draft: the same entry, no second draft
    assert len([r for r in server.requests if is_draft(r)]) == 1


def test_a_draft_that_is_not_a_valid_entry_is_asked_again_then_refused_and_not_cached(
    server: ChatServer, embedder: Embedder, tmp_path: Path
) -> None:
    bad = {**DRAFT, "criteria": [{"id": "Bad Id", "weight": 9, "description": "x"}]}
    server.default = routed(json.dumps(bad, ensure_ascii=False))
    result = llm_evaluator(server, embedder, tmp_path).evaluate(ANSWER, question=QUESTION)
    assert result.question_id is None and result.score is None  # the refusal stands
    assert len([r for r in server.requests if is_draft(r)]) == 3  # first try + max_reasks (2)
    server.default = routed(json.dumps(DRAFT, ensure_ascii=False))
    fixed = llm_evaluator(server, embedder, tmp_path).evaluate(ANSWER, question=QUESTION)
    assert fixed.question_source == "drafted"  # nothing bad was cached


def test_the_llm_judge_sees_the_interviewers_grades_as_calibration_samples(
    server: ChatServer, embedder: Embedder, tmp_path: Path
) -> None:
    from evaluator.bank.feedback import add_grade
    from evaluator.judges.prompts import MAX_PROMPT_ANCHORS, prompt_anchors
    from evaluator.models import Anchor

    mine = "缩放是为了让点积的方差不随维度变大，这是我面试时听到的一个独特回答。"
    add_grade(tmp_path / "bank", question_id="attention-scale-sqrt-dk", answer=mine, grade=33, source="api")
    result = llm_evaluator(server, embedder, tmp_path).evaluate(ANSWER, question_id="attention-scale-sqrt-dk")
    assert result.user_anchors == 1 and result.score is not None
    [request] = [r for r in server.requests if "<<<ANSWER" in r.user]
    samples = request.user.split("## 校准样例")[1].split("## 待评分的回答")[0]
    assert mine in samples and "33 分" in samples

    many = tuple(Anchor(score=s, answer=f"回答 {s}") for s in range(100))
    thinned = prompt_anchors(many)
    assert len(thinned) == MAX_PROMPT_ANCHORS and thinned[0].score == 99 and thinned[-1].score == 0

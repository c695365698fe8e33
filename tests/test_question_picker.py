"""With an LLM endpoint, the model may pick among a refused question's candidates (loopback server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chat_server import ChatServer, Recorded, Reply, completion, content, error

from evaluator import Evaluator
from evaluator.judges.openai_judge import JudgeSettings, OpenAIJudge, RetryPolicy
from evaluator.judges.question_picker import QuestionPicker
from evaluator.models import Candidate

CANDIDATES = (
    Candidate(id="finetuning-methods-overview", question="大模型微调的方法有哪些？", cosine=0.9, score=0.95),
    Candidate(id="finetuning-advice", question="微调大模型有哪些实用建议？", cosine=0.9, score=0.94),
)
QUESTION = "参数高效微调"
ANSWER = "常见的有 LoRA、Adapter、Prefix Tuning、P-Tuning，只训练少量新增参数，主干冻结。"


def choose(qid: str | None):  # type: ignore[no-untyped-def]
    return lambda rec: Reply(body=completion(rec, json.dumps({"question_id": qid})))


@pytest.fixture(autouse=True)
def _clean(server: ChatServer) -> None:
    server.reset()


def settings(server: ChatServer) -> JudgeSettings:
    return JudgeSettings(model="test-model", api_key="sk-test-key", base_url=server.url, timeout_s=5,
                         retry=RetryPolicy(attempts=3, initial_wait_s=0, jitter_s=0))  # fmt: skip


def test_the_model_picks_a_candidate_and_the_choice_is_cached(server: ChatServer, tmp_path: Path) -> None:
    server.then(choose("finetuning-methods-overview"))
    picker = QuestionPicker(settings(server), tmp_path)
    assert picker.pick(QUESTION, ANSWER, CANDIDATES) == "finetuning-methods-overview"
    assert (
        QuestionPicker(settings(server), tmp_path).pick(QUESTION, ANSWER, CANDIDATES) == "finetuning-methods-overview"
    )
    assert len(server.requests) == 1  # the second picker read the cache
    sent = server.requests[0]
    assert sent.response_format == "json_schema" and "finetuning-advice" in sent.user and ANSWER in sent.user


def test_an_id_outside_the_candidates_or_none_keeps_the_refusal(server: ChatServer, tmp_path: Path) -> None:
    server.then(choose("lora-principle"), choose(None))
    assert QuestionPicker(settings(server), tmp_path).pick(QUESTION, ANSWER, CANDIDATES) is None
    assert QuestionPicker(settings(server), tmp_path / "b").pick(QUESTION, ANSWER, CANDIDATES) is None


def test_malformed_replies_and_server_errors_keep_the_refusal_and_are_not_cached(
    server: ChatServer, tmp_path: Path
) -> None:
    server.then(content("{not json"))
    picker = QuestionPicker(settings(server), tmp_path)
    assert picker.pick(QUESTION, ANSWER, CANDIDATES) is None
    server.then(error(500), error(429), error(503))  # three attempts, all failing
    assert picker.pick(QUESTION, ANSWER, CANDIDATES) is None
    server.then(choose("finetuning-advice"))
    assert picker.pick(QUESTION, ANSWER, CANDIDATES) == "finetuning-advice"
    assert len(server.requests) == 5


def test_an_endpoint_without_json_schema_gets_json_mode(server: ChatServer, tmp_path: Path) -> None:
    server.supports_json_schema = False
    server.then(choose("finetuning-advice"), choose("finetuning-advice"))  # the refused request takes one
    assert QuestionPicker(settings(server), tmp_path).pick(QUESTION, ANSWER, CANDIDATES) == "finetuning-advice"
    assert [r.response_format for r in server.requests] == ["json_schema", "json_object"]


def test_an_llm_judged_evaluation_uses_the_pick_and_says_so(server: ChatServer, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def route(rec: Recorded) -> Reply:
        if "候选题目" in rec.user:  # the picker's request
            return Reply(body=completion(rec, json.dumps({"question_id": "finetuning-methods-overview"})))
        return Reply(status=500, body={"error": {"message": "no grading in this test"}})

    server.default = route
    judge = OpenAIJudge(settings(server))
    ev = Evaluator(judge=judge, embedder=embedder, home=tmp_path)
    offline = Evaluator(judge="offline", embedder=embedder, home=tmp_path)
    assert not offline.match_with_answer(QUESTION, "这个我不太清楚。").confident  # offline: refused
    m = ev.match_with_answer(QUESTION, "这个我不太清楚。")
    assert m.confident and m.chosen_by_model and m.best is not None and m.best.id == "finetuning-methods-overview"

"""Question matching reads questions the way users type them."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from evaluator import Evaluator
from evaluator.matching.question_text import focus, is_small_talk, named_terms, normalize, terms
from evaluator.reports.answer import to_markdown

DATA = Path(__file__).resolve().parent / "data"

# Phrasings users typed that were refused or mismatched before, with the entry they ask.
USER_PHRASINGS = [
    ("PreNorm 和 PostNorm 的区别", "pre-norm-vs-post-norm"),
    ("PPO 和 DPO 的区别是什么？", "ppo-vs-dpo"),
    ("KV cache 是什么", "kv-cache-principle"),
    ("什么是 LoRA", "lora-principle"),
    ("LoRA 是什么？", "lora-principle"),
    ("FlashAttention 为什么快？", "flashattention-principle"),
    ("下一个，LoRA 的原理是什么？", "lora-principle"),
    ("最后一个，FlashAttention 为什么快？", "flashattention-principle"),
]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def _surface_variants(text: str) -> list[str]:
    """The same question as users also type it: other punctuation, width, case and spacing."""
    bare = text.rstrip("？?")
    return [
        bare,
        bare + "？",
        bare + "?",
        bare + "??",
        bare.lower(),
        bare.upper(),
        _fullwidth(bare) + "？",
        "  " + bare.replace(" ", "   ") + " ",
        re.sub(r"\s*([\u4e00-\u9fff，]+)\s*", r"\1", bare),  # no space beside Chinese
        re.sub(r"([\u4e00-\u9fff，]+)", r" \1 ", bare),  # spaces beside Chinese
        "\t" + bare.replace(" ", " \n ") + "\n",
        bare.replace("，", ",").replace("的", " 的 "),
    ]


def test_normalized_form_ignores_punctuation_width_case_and_spacing() -> None:
    assert normalize("ＫＶ　Ｃａｃｈｅ 是什么？") == normalize("kv cache是什么") == "kv cache是什么"
    assert normalize("Pre-Norm, Post-Norm!") == "pre norm post norm"


@pytest.mark.parametrize("text", [t for t, _ in USER_PHRASINGS] + ["为什么 Attention 要除以根号 d？", "what is LoRA"])
def test_punctuation_width_case_and_spacing_never_change_the_outcome(evaluator: Evaluator, text: str) -> None:
    outcomes = set()
    for variant in _surface_variants(text):
        m = evaluator.match(question=variant)
        outcomes.add((m.confident, tuple(c.id for c in m.candidates)))
    assert len(outcomes) == 1, outcomes


def test_spelling_variants_of_a_term_are_one_term() -> None:
    assert "prenorm" in terms("PreNorm") & terms("Pre-Norm") & terms("pre norm")
    assert "kvcache" in terms("KV cache") & terms("kv-cache") & terms("KVCache")
    assert "moe" in terms("what is mixture of experts") & terms("MoE 是什么")
    assert named_terms("PPO 和 DPO 的区别") == {"ppo", "dpo"}


def test_interview_talk_before_the_question_is_not_part_of_it() -> None:
    assert focus("下一个，LoRA 的原理是什么？") == "lora的原理是什么"
    assert focus("最后一个问题：FlashAttention 为什么快？") == "flashattention为什么快"
    assert focus("softmax overflow") == "softmax overflow"  # 「so」 inside a word is no filler


@pytest.mark.parametrize(("text", "qid"), USER_PHRASINGS)
def test_ordinary_phrasings_of_bank_questions_are_matched(evaluator: Evaluator, text: str, qid: str) -> None:
    m = evaluator.match(question=text)
    assert m.confident and m.best is not None and m.best.id == qid, m.candidates


def test_acronyms_must_agree_dpo_is_not_dqn(evaluator: Evaluator) -> None:
    m = evaluator.match(question="PPO 和 DPO 的区别是什么？")
    assert m.best is not None and m.best.id == "ppo-vs-dpo"
    m = evaluator.match(question="PPO 和 DQN 的区别是什么？")
    assert m.best is not None and m.best.id == "ppo-vs-dqn"


def test_english_question_finds_its_chinese_entry(evaluator: Evaluator) -> None:
    m = evaluator.match(question="Why do we divide attention scores by the square root of d_k?")
    assert m.confident and m.best is not None and m.best.id == "attention-scale-sqrt-dk"


def test_an_answer_decides_between_close_sibling_entries_and_says_so(evaluator: Evaluator) -> None:
    question = "聊聊 scaling law"
    m = evaluator.match(question=question)
    near = [c.id for c in m.candidates if m.candidates[0].score - c.score <= 0.06]
    assert {"scaling-law-compute-optimal", "scaling-law-limits"} <= set(near), m.candidates
    optimal = (
        "Kaplan 2020 发现 loss 和参数量、数据量、算力之间是幂律关系，给定算力更倾向于把模型做大；Chinchilla 重新拟合后"
        "认为参数量和训练 token 数应该按相同比例增长，大约每个参数 20 个 token，"
        "所以 70B 训练 1.4T token 比 280B 的 Gopher 更好。"
    )
    limits = (
        "Scaling law 只是经验拟合，外推有风险：高质量数据快用完了，数据墙会限制继续扩大；"
        "loss 降低不等于下游能力线性提升，"
        "有些能力看起来是突然出现的；而且边际收益递减，算力和能耗成本越来越高，推理、规划这类能力不一定靠堆规模解决。"
    )
    by_optimal = evaluator.match_with_answer(question, optimal)
    by_limits = evaluator.match_with_answer(question, limits)
    assert by_optimal.confident and by_optimal.best is not None and by_optimal.best.id == "scaling-law-compute-optimal"
    assert by_limits.confident and by_limits.best is not None and by_limits.best.id == "scaling-law-limits"
    assert by_limits.chosen_by_answer and "scaling-law-compute-optimal" in by_limits.siblings  # the report says so
    report = to_markdown(evaluator.evaluate(limits, question=question), "zh")
    assert "scaling-law-compute-optimal" in report and "按回答内容" in report


def test_question_the_bank_lacks_is_refused_even_with_an_answer(evaluator: Evaluator) -> None:
    m = evaluator.match_with_answer("YOLO 的原理是什么？", "YOLO 把检测当回归，一次前向输出所有框和类别。")
    assert not m.confident


@pytest.mark.parametrize(
    "text", ["你好，先做个自我介绍吧", "你有什么想问我的吗？", "好，今天就到这里，谢谢", "Tell me about yourself"]
)
def test_small_talk_is_not_a_question(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize("text", ["谢谢。下一个问题，请讲一下注意力机制", "你好，讲一下 LoRA 的原理", "什么是 RAG？"])
def test_a_question_after_small_talk_is_still_a_question(text: str) -> None:
    assert not is_small_talk(text)


def test_transcript_reports_small_talk_as_not_a_question_without_a_nearest_id(evaluator: Evaluator) -> None:
    text = (
        "面试官：你好，先做个自我介绍吧。\n候选人：我做了两年推荐系统，最近在做大模型微调。\n"
        "面试官：PPO 和 DPO 的区别是什么？\n"
        "候选人：PPO 要训练奖励模型再用强化学习优化，DPO 直接用偏好数据做分类式的损失。\n"
        "面试官：你有什么想问我的吗？\n候选人：团队现在主要做哪些方向？\n"
    )
    report = evaluator.evaluate_transcript(text)
    first, second = report.turns[0], report.turns[1]
    assert (first.status, first.not_a_question, first.candidates) == ("unmatched", True, ())
    assert second.evaluation is not None and second.evaluation.question_id == "ppo-vs-dpo"
    assert not second.not_a_question
    # The closing question is not a turn at all, and in no case one "not in the bank".
    assert [(r.status, r.not_a_question) for r in report.turns] == [("unmatched", True), ("graded", False)]


def test_dev_set_rows_name_real_entries(evaluator: Evaluator) -> None:
    for line in (DATA / "matching_dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert row["expected"] is None or row["expected"] in evaluator.bank, row


def test_fullwidth_helper_makes_fullwidth_text() -> None:
    assert unicodedata.normalize("NFKC", _fullwidth("KV cache?")) == "KV cache?"

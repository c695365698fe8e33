"""Sentence splitting, negation and error-claim helpers the offline judge relies on."""

from evaluator.bank.statements import error_claim
from evaluator.text import (
    contains_quote,
    is_chinese,
    is_enumeration,
    mentions_any,
    names,
    negated,
    prose_text,
    split_units,
)


def test_split_units_keeps_verbatim_sentences_and_clauses_of_long_ones() -> None:
    answer = "第一句话在这里。第二句也很短！" + "这是一个比较长的分句，" * 7 + "结束。"
    units = split_units(answer)
    assert units[0] == "第一句话在这里。" and units[1] == "第二句也很短！"
    assert all(u in answer for u in units)
    assert "这是一个比较长的分句，" in units


def test_negated_sentences_are_not_read_as_assertions() -> None:
    assert negated("DPO 不需要单独训练奖励模型")
    assert negated("It does not need a reward model")
    assert not negated("DPO 需要先训练奖励模型")
    assert not negated("不同的头关注不同的子空间")
    assert negated("长期记忆的设计已经没那么必要了")
    assert negated("Adam 下两者不等价")
    assert not negated("残差连接不可或缺")


def test_error_claim_drops_trailing_explanation_only() -> None:
    assert error_claim("除以根号 d 是为了防止数值溢出（主要原因是梯度消失而非溢出）") == "除以根号 d 是为了防止数值溢出"
    assert error_claim("把 LN 和 BN 的维度说反") == "把 LN 和 BN 的维度说反"


def test_error_claim_states_the_belief_as_a_candidate_would() -> None:
    assert error_claim("认为 FP16 (半精度) 不需要 loss scaling") == "FP16 (半精度) 不需要 loss scaling"
    assert error_claim("误以为 KV Cache 也缓存 Q（Q 只用一次）") == "KV Cache 也缓存 Q"


def test_quotes_match_ignoring_spacing_and_outer_punctuation() -> None:
    assert contains_quote("点积的方差 是 d_k。", "「点积的方差是d_k」")
    assert not contains_quote("点积的方差是 d_k。", "方差是 d_k 的平方")


def test_language_detection() -> None:
    assert is_chinese("这是中文回答 with some English terms")
    assert not is_chinese("This answer is written in English.")


def test_bare_lists_of_terms_are_enumerations() -> None:
    assert is_enumeration("KV Cache：自回归、causal mask、prefill、decode、显存换计算、GQA、MQA、PagedAttention。")
    assert is_enumeration("PET：cloze、verbalizer、[MASK]。")
    assert is_enumeration("top-k, top-p, temperature, nucleus sampling, logits processor")


def test_statements_with_commas_are_not_enumerations() -> None:
    assert not is_enumeration("BF16 指数位和 FP32 一样，范围大不容易溢出，A100 上训练首选 BF16；")
    assert not is_enumeration("BN 依赖 batch 统计，NLP 里句子长度不一、batch 又小，统计不稳；")
    assert not is_enumeration("先做 SFT，然后训练一个奖励模型，再用强化学习去优化模型。")
    assert not is_enumeration(
        "Adam keeps a moving average of the gradient, applies bias correction, and scales the step."
    )
    assert not is_enumeration("可以用 RAGAS 框架，看 faithfulness、answer relevancy、context recall 这几个指标。")


def test_prose_text_drops_term_lists_and_keeps_statements() -> None:
    answer = "LoRA：低秩、冻结、BA、rank、alpha、合并。它冻结原权重，只训练旁路的两个小矩阵。"
    assert prose_text(answer) == "它冻结原权重，只训练旁路的两个小矩阵。"
    assert prose_text("只训练旁路的两个小矩阵。") == "只训练旁路的两个小矩阵。"
    assert prose_text("低秩、冻结、BA、rank、alpha、合并") == ""


def test_names_are_matched_however_the_candidate_spaces_them() -> None:
    assert names("认为 vLLM/TensorRT-LLM 是训练框架") == {"vllm", "tensorrtllm"}
    assert names("除以根号 d 后方差为 1") == set()  # a single letter is no name
    assert mentions_any("Flash Attention 用分块计算", names("FlashAttention"))
    assert not mentions_any("稀疏、滑窗、线性 attention", names("FlashAttention"))


def test_a_full_stop_after_an_abbreviation_does_not_end_the_sentence() -> None:
    units = split_units("Qi et al. 2023 发现少量样本微调就能破坏对齐. Use e.g. LoRA. Then train.")
    assert units == ["Qi et al. 2023 发现少量样本微调就能破坏对齐.", "Use e.g. LoRA.", "Then train."]

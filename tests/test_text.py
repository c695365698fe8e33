"""Sentence splitting, negation and error-claim helpers the offline judge relies on."""

from evaluator.index import error_claim
from evaluator.text import contains_quote, is_chinese, negated, split_units


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


def test_error_claim_drops_trailing_explanation_only() -> None:
    assert error_claim("除以根号 d 是为了防止数值溢出（主要原因是梯度消失而非溢出）") == "除以根号 d 是为了防止数值溢出"
    assert error_claim("认为 FP16 (半精度) 不需要 loss scaling") == "认为 FP16 (半精度) 不需要 loss scaling"


def test_quotes_match_ignoring_spacing_and_outer_punctuation() -> None:
    assert contains_quote("点积的方差 是 d_k。", "「点积的方差是d_k」")
    assert not contains_quote("点积的方差是 d_k。", "方差是 d_k 的平方")


def test_language_detection() -> None:
    assert is_chinese("这是中文回答 with some English terms")
    assert not is_chinese("This answer is written in English.")

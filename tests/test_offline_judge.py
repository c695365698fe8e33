"""The offline judge's rules on hand-made similarities (pure logic, no model), then on the real pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluator import Evaluator, Level
from evaluator.calibration.params import load_calibration
from evaluator.judges.offline import (
    Analysis,
    anchor_grade,
    criterion_findings,
    parent_units,
    shared_verifier,
    verdict_from_analysis,
    wrong_claims,
)
from evaluator.models import Question

# The shipped settings; hand-made verifier readings sit on either side of its bar.
PARAMS = load_calibration().offline
SURE = (1.0 + PARAMS.contradiction) / 2  # a reading above the bar
UNSURE = PARAMS.contradiction / 2  # and one below it


def _analysis(
    units: list[str],
    criterion_sims: list[list[float]],
    contradiction: list[list[float]] | None = None,
    support: list[list[float]] | None = None,
    enumeration: list[bool] | None = None,
    parents: list[int] | None = None,
    statement_criterion: list[int] | None = None,
    question_sims: list[float] | None = None,
    error_sims: list[list[float]] | None = None,
) -> Analysis:
    """Hand-made similarities and verifier readings: the statements are the criteria, unless
    `statement_criterion` says which criterion each of several statements is about. A reading left
    out is NaN (the verifier did not read that pair); support defaults to 0.9 wherever unread."""
    crit = np.array(criterion_sims)
    contra = np.array(contradiction, float) if contradiction is not None else np.zeros_like(crit)
    about = statement_criterion if statement_criterion is not None else list(range(contra.shape[1]))
    errors = np.array(error_sims, float) if error_sims is not None else np.zeros((len(units), 0))
    return Analysis(
        units=units,
        enumeration=enumeration or [False] * len(units),
        baseline=0.70,
        criterion_ids=[f"c{i}" for i in range(crit.shape[1])],
        criterion_sims=crit,
        keywords_in_prose=[0.0] * crit.shape[1],
        keywords_anywhere=[0.0] * crit.shape[1],
        errors=[f"e{i}" for i in range(errors.shape[1])],
        error_sims=errors,
        anchor_cosines=[],
        anchor_scores=[],
        parents=parents or list(range(len(units))),
        question_sims=np.array(question_sims or []),
        statements=[f"s{i}" for i in range(contra.shape[1])],
        statement_criterion=about,
        contradiction=contra,
        support=np.array(support, float) if support is not None else np.full_like(crit, 0.9),
    )


def _anchored(answer_length: float) -> Analysis:
    """Four anchors the embedding cannot tell apart, graded by how much they say (log length)."""
    a = _analysis(["回答"], [[0.8]])
    a.anchor_texts = ["短", "较短", "较长", "很长"]
    a.anchor_scores = [20.0, 40.0, 60.0, 80.0]
    a.anchor_cosines = [0.9] * 4
    a.anchor_gram = np.full((4, 4), 0.9) + 0.1 * np.eye(4)
    a.anchor_lexical = np.zeros(4)
    a.anchor_lexical_gram = np.zeros((4, 4))
    a.anchor_profiles = np.array([[2.0, 0.8], [3.0, 0.8], [4.0, 0.8], [5.0, 0.8]])
    a.answer_profile = np.array([answer_length, 0.8])
    return a


def test_anchor_regression_follows_the_length_profile_only_when_weighted() -> None:
    # Profile weights off, then on for length alone (the shipped judge weighs both a little).
    ridge = PARAMS.model_copy(
        update={"anchor_method": "ridge", "anchor_ridge": 0.01, "anchor_length": 0.0, "anchor_reference": 0.0}
    )
    with_length = ridge.model_copy(update={"anchor_length": 0.3})
    plain_short, plain_long = anchor_grade(_anchored(2.0), ridge), anchor_grade(_anchored(5.0), ridge)
    assert plain_short == pytest.approx(50.0) and plain_long == pytest.approx(50.0)  # the anchors' mean
    short, long = anchor_grade(_anchored(2.0), with_length), anchor_grade(_anchored(5.0), with_length)
    assert short is not None and long is not None
    assert short < 35.0 and long > 65.0


def test_an_anchor_left_out_of_its_own_estimate_leaves_the_profile_consistent() -> None:
    with_length = PARAMS.model_copy(update={"anchor_method": "ridge", "anchor_ridge": 0.01, "anchor_length": 0.3})
    grade = anchor_grade(_anchored(5.0), with_length, exclude_anchor="很长")
    assert grade is not None and grade > 55.0  # the three remaining anchors still rise with length


def test_an_answer_longer_than_every_anchor_is_graded_as_long_as_the_longest() -> None:
    with_length = PARAMS.model_copy(update={"anchor_method": "ridge", "anchor_ridge": 0.01, "anchor_length": 0.3})
    longest = anchor_grade(_anchored(5.0), with_length)
    assert longest is not None
    assert anchor_grade(_anchored(9.0), with_length) == pytest.approx(longest)


def test_the_verifier_reads_a_clause_the_same_whatever_mark_it_was_cut_at() -> None:
    """A clause keeps the comma it was cut at; its reading must not depend on it (it once did, from
    0.29 to 0.99 for the same swap of BN and LN)."""
    point = "LN 对每个样本在特征维上统计"
    clause = "BN 是拿一个 batch 里所有样本的同一个特征维算均值方差"
    readings = shared_verifier().probabilities([(point, clause), (point, clause + "，"), (point + "。", clause + "。")])
    assert np.allclose(readings, readings[0], atol=1e-6)


def test_a_unit_the_verifier_reads_as_contradicting_a_statement_is_a_wrong_claim() -> None:
    a = _analysis(["错的说法", "对的说法"], [[0.90, 0.70], [0.90, 0.72]], contradiction=[[0.1, SURE], [0.2, 0.1]])
    assert wrong_claims(a, PARAMS) == {0: 1}


def test_a_contradiction_below_the_threshold_is_not_reported() -> None:
    # The candidate gets the benefit of the doubt below the bar.
    a = _analysis(["拿不准的说法"], [[0.90]], contradiction=[[UNSURE]])
    assert wrong_claims(a, PARAMS) == {}
    assert wrong_claims(a, PARAMS.model_copy(update={"contradiction": UNSURE / 2})) == {0: 0}


def test_a_unit_making_a_wrong_claim_earns_no_credit() -> None:
    a = _analysis(["错的说法", "别的"], [[0.85], [0.71]], contradiction=[[SURE], [0.0]], statement_criterion=[1])
    a.criterion_ids.append("c1")
    a.criterion_sims = np.array([[0.85, 0.70], [0.71, 0.70]])
    a.keywords_in_prose.append(0.0)
    a.support = np.full((2, 2), 0.9)
    wrong = wrong_claims(a, PARAMS)
    assert wrong == {0: 0}
    assert criterion_findings(a, PARAMS, {})[0].level is Level.met
    finding = criterion_findings(a, PARAMS, wrong)[0]
    assert finding.level is Level.missing and finding.unit != 0


def test_a_unit_close_to_a_point_without_supporting_it_earns_at_most_partial() -> None:
    # Close by embedding (0.9 over a 0.7 baseline), but the verifier does not read it as saying it.
    # The rule is calibrated (the shipped bar may be 0, closeness alone): tested here with a bar on.
    params = PARAMS.model_copy(update={"support": max(PARAMS.support, 0.5)})
    close = _analysis(["话题相同的句子"], [[0.90]], support=[[params.support / 2]])
    assert criterion_findings(close, params, {})[0].level is Level.partial
    unread = _analysis(["话题相同的句子"], [[0.90]], support=[[np.nan]])
    assert criterion_findings(unread, params, {})[0].level is Level.partial
    supported = _analysis(["讲清楚的句子"], [[0.90]], support=[[(1.0 + params.support) / 2]])
    assert criterion_findings(supported, params, {})[0].level is Level.met
    # With the support threshold off, closeness alone decides.
    assert criterion_findings(close, params.model_copy(update={"support": 0.0}), {})[0].level is Level.met


def test_a_wrong_claim_is_reported_with_the_statement_it_contradicts_or_the_common_error_it_is() -> None:
    question = Question.model_validate(
        {
            "id": "q",
            "question": "问题？",
            "reference": "参考。",
            "topic": "attention",
            "difficulty": 1,
            "rubric": {"id": "q", "criteria": [{"id": "c0", "weight": 1, "description": "要点描述"}]},
        }
    )
    plain = _analysis(["错的说法"], [[0.9]], contradiction=[[SURE]])
    plain.statements = ["要点描述"]
    verdict = verdict_from_analysis(question, plain, PARAMS)
    assert verdict.errors == ["与「要点描述」矛盾（原文：「错的说法」）"]
    assert verdict.criteria[0].level is Level.missing
    named = _analysis(["错的说法"], [[0.9]], contradiction=[[SURE]], error_sims=[[0.9]])
    named.errors = ["常见错误"]
    assert verdict_from_analysis(question, named, PARAMS).errors == ["常见错误（原文：「错的说法」）"]


def test_a_bare_list_of_terms_earns_at_most_partial() -> None:
    listed = _analysis(["术语、术语、术语"], [[0.95]], enumeration=[True])
    assert criterion_findings(listed, PARAMS, {})[0].level is Level.partial
    explained = _analysis(["术语、术语、术语", "解释清楚的句子"], [[0.95], [0.80]], enumeration=[True, False])
    finding = criterion_findings(explained, PARAMS, {})[0]
    assert finding.level is Level.met and finding.unit == 1


def test_keyword_salad_is_told_to_explain_and_scores_below_an_explained_answer(evaluator: Evaluator) -> None:
    salad = (
        "KV Cache：自回归、causal mask、prefill、decode、显存换计算、2×层数×头数×head_dim、"
        "GQA、MQA、PagedAttention、KV 量化。"
    )
    explained = (
        "自回归生成时，因为 causal mask，前面 token 每层的 K、V 算出来以后就不会再变，所以第一次算完缓存起来，"
        "之后每一步只需要为新 token 计算 q、k、v，把新的 k、v 追加进缓存，"
        "再用 q 和整个缓存做注意力，省掉了对前缀的重复计算。"
        "代价是显存：每个 token 要存 2 × 层数 × KV 头数 × head_dim × 字节数，随 batch 和序列长度线性增长，"
        "所以有 GQA、MQA 减少 KV 头，PagedAttention 分页管理显存减少碎片。"
    )
    s = evaluator.evaluate(salad, question_id="kv-cache-principle")
    e = evaluator.evaluate(explained, question_id="kv-cache-principle")
    assert s.score is not None and e.score is not None
    assert all(c.level is not Level.met for c in s.criteria)
    assert "罗列" in s.feedback
    assert s.parts is not None and s.parts.similarity == 0.0  # nothing but the list: no prose to compare
    assert e.score > s.score + 20


def test_a_clause_belongs_to_its_sentence() -> None:
    units = ["所以除以根号 d_k，把点积的方差拉回到 1 左右，让输入分布稳定。", "把点积的方差拉回到 1 左右，"]
    assert parent_units(units) == [0, 0]


def test_the_readme_example_is_not_accused_of_a_wrong_claim(evaluator: Evaluator) -> None:
    answer = (Path(__file__).parents[1] / "examples" / "answer.txt").read_text(encoding="utf-8")
    result = evaluator.evaluate(answer, question_id="attention-scale-sqrt-dk")
    # A correct answer missing one minor point (weight 1 of 9): no wrong claim, the other 3 points
    # credited (met, or partial where its wording stays under the calibrated bar).
    assert result.errors == () and result.score is not None
    levels = [c.level for c in result.criteria]
    assert levels.count(Level.missing) <= 1 and levels.count(Level.met) >= 2


def test_the_readme_example_passes(evaluator: Evaluator) -> None:
    answer = (Path(__file__).parents[1] / "examples" / "answer.txt").read_text(encoding="utf-8")
    result = evaluator.evaluate(answer, question_id="attention-scale-sqrt-dk")
    assert result.score is not None and result.score >= 60


def test_a_wrong_clause_discredits_its_whole_sentence_and_is_reported_once() -> None:
    # Unit 0 is the sentence, unit 1 its wrong clause, unit 2 another sentence; the claim contradicts
    # statement 1 (about criterion c1), so c0 may still be met, but not by the tainted sentence.
    a = _analysis(
        ["它是为了防止梯度上溢，所以要把 loss 乘一个系数。", "它是为了防止梯度上溢，", "别的句子。"],
        [[0.90, 0.70], [0.72, 0.70], [0.80, 0.70]],
        contradiction=[[0.0, UNSURE], [0.0, SURE], [0.0, 0.0]],
        parents=[0, 0, 2],
    )
    wrong = wrong_claims(a, PARAMS)
    assert wrong == {1: 1}
    finding = criterion_findings(a, PARAMS, wrong)[0]
    assert finding.level is Level.met and finding.unit == 2
    both = _analysis(
        ["它是为了防止梯度上溢，所以要把 loss 乘一个系数。", "它是为了防止梯度上溢，"],
        [[0.90, 0.70], [0.72, 0.70]],
        contradiction=[[0.0, SURE], [0.0, SURE]],
        parents=[0, 0],
    )
    assert wrong_claims(both, PARAMS) == {0: 1}


def test_a_wrong_claim_voids_the_rubric_point_it_is_about() -> None:
    # Unit 1 explains c0 well, but unit 0 contradicts a reference sentence about c0.
    a = _analysis(
        ["错的说法", "讲 c0 的句子"],
        [[0.72], [0.92]],
        contradiction=[[0.0, SURE], [0.0, 0.0]],
        statement_criterion=[0, 0],
    )
    assert criterion_findings(a, PARAMS, {})[0].level is Level.met
    assert criterion_findings(a, PARAMS, wrong_claims(a, PARAMS))[0].level is Level.missing


def test_restating_the_question_is_no_evidence() -> None:
    # The question's own wording comes as close to c0 (0.84) as the answer's only sentence does.
    restated = _analysis(["chosen 和 rejected 同时下降是已知问题"], [[0.845]], question_sims=[0.84])
    assert criterion_findings(restated, PARAMS, {})[0].level is Level.missing
    explained = _analysis(["只约束差值，不约束绝对概率"], [[0.84 + PARAMS.met + 0.03]], question_sims=[0.84])
    assert criterion_findings(explained, PARAMS, {})[0].level is Level.met


def test_an_english_answer_is_told_the_offline_grade_runs_low(evaluator: Evaluator) -> None:
    english = (
        "Dividing by sqrt(d_k) keeps the variance of the dot products at about 1, so softmax does not "
        "saturate and its gradients do not vanish."
    )
    chinese = "除以根号 d_k 是为了让点积的方差保持在 1 左右，避免 softmax 饱和、梯度消失。"
    assert "English" in evaluator.evaluate(english, question_id="attention-scale-sqrt-dk").feedback
    assert "English" not in evaluator.evaluate(chinese, question_id="attention-scale-sqrt-dk").feedback


def test_other_methods_that_cut_complexity_are_not_read_as_a_claim_about_flashattention(
    evaluator: Evaluator,
) -> None:
    qid = "attention-problems-and-optimizations"
    other_methods = (
        "标准 attention 的复杂度是 n²。稀疏注意力、滑动窗口和线性 attention 都能把复杂度降下来，代价是近似。"
    )
    assert evaluator.evaluate(other_methods, question_id=qid).errors == ()


@pytest.mark.xfail(strict=True, reason="verifier: P(contradicts) below the calibrated bar for this claim")
def test_flashattention_said_to_make_attention_linear_is_a_wrong_claim(evaluator: Evaluator) -> None:
    claim = "FlashAttention 通过分块计算把复杂度降成了线性。"
    assert evaluator.evaluate(claim, question_id="attention-problems-and-optimizations").errors


def test_a_doubtful_unit_is_not_accused_but_earns_nothing_for_its_point() -> None:
    # Close to c0 and read as supporting it, but the verifier also finds it may contradict c0's
    # statement: below the bar of a reported claim, at the level where credit stops.
    doubt = PARAMS.model_copy(update={"doubt": UNSURE})
    a = _analysis(["可疑的说法", "别的话"], [[0.92], [0.60]], contradiction=[[UNSURE], [0.0]])
    assert wrong_claims(a, doubt) == {}
    assert criterion_findings(a, doubt.model_copy(update={"doubt": 1.0}), {})[0].level is Level.met
    assert criterion_findings(a, doubt, {})[0].level is Level.missing


def test_an_answer_identical_to_an_anchor_has_that_anchors_profile(evaluator: Evaluator) -> None:
    # The regression compares an answer's profile with its anchors': both must be measured alike (an
    # anchor's whole length against an answer's on-topic length read every answer as shorter).
    judge = evaluator.offline_judge()
    question = evaluator.bank.get("kv-cache-principle")
    for i, anchor in enumerate(question.rubric.anchors):
        analysis = judge.analyze(question, anchor.answer)
        np.testing.assert_allclose(analysis.answer_profile, analysis.anchor_profiles[i], atol=1e-4)

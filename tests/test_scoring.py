import pytest

from evaluator.calibration.params import anchor_share, load_calibration
from evaluator.errors import ConfigError
from evaluator.models import Level
from evaluator.scoring import anchor_estimate, band, blend, error_penalty, rubric_score, similarity_score


def test_rubric_score_weights_levels():
    levels = [(3, Level.met), (2, Level.partial), (1, Level.missing)]
    assert rubric_score(levels) == pytest.approx(100 * (3 + 1) / 6)


def test_error_penalty_is_capped_at_three_claims():
    assert error_penalty(1, per_error=10) == 10
    assert error_penalty(10, per_error=10) == 30
    assert error_penalty(0, per_error=10) == 0


def test_penalty_comes_off_the_final_score_and_never_below_zero():
    assert blend(80, 40, alpha=0.75, penalty=20) == pytest.approx(50)
    assert blend(10, 10, alpha=0.5, penalty=30) == 0


def test_similarity_score_clips_to_range():
    assert similarity_score(0.5, lo=0.6, hi=0.9) == 0
    assert similarity_score(0.75, lo=0.6, hi=0.9) == pytest.approx(50)
    assert similarity_score(0.95, lo=0.6, hi=0.9) == 100
    with pytest.raises(ConfigError):
        similarity_score(0.7, lo=0.9, hi=0.6)


def test_blend_mixes_rubric_similarity_and_anchor():
    assert blend(80, 40, alpha=0.75) == pytest.approx(70)
    assert blend(80, 40, alpha=0.75, anchor=30, anchor_weight=0.5) == pytest.approx(50)
    assert blend(80, 40, alpha=0.75, anchor=None, anchor_weight=0.5) == pytest.approx(70)


def test_anchor_estimate_prefers_nearest_anchor():
    est = anchor_estimate([0.95, 0.80, 0.60], [90, 40, 10], k=3, temperature=0.02)
    assert est is not None and 85 < est <= 90
    assert anchor_estimate([], [], k=3, temperature=0.05) is None


def test_band_names_score_ranges():
    assert [band(s) for s in (95, 75, 55, 35, 5, None)] == ["excellent", "good", "fair", "weak", "poor", "unscored"]


def test_an_answer_in_english_prose_takes_the_foreign_anchor_share():
    cal = load_calibration().model_copy(update={"anchor_weight": 0.1, "anchor_weight_foreign": 0.9})
    english = "Dividing by sqrt(d_k) keeps the variance of the dot products near one, so softmax does not saturate."
    chinese = "除以根号 d_k 是为了让点积方差保持在 1 左右，避免 softmax 饱和。"
    english_terms = "相关概念：softmax、variance、saturation、gradient、temperature、scaling"
    assert anchor_share(cal, english, has_anchor=True) == 0.9
    assert anchor_share(cal, chinese, has_anchor=True) == 0.1
    assert anchor_share(cal, english_terms, has_anchor=True) == 0.1  # a list of terms is no language
    assert anchor_share(cal, english, has_anchor=False) == 0.0
    assert anchor_share(cal.model_copy(update={"anchor_weight_foreign": None}), english, has_anchor=True) == 0.1

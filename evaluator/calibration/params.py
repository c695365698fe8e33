"""The fitted parameters the package ships (`calibration.json`), versioned."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.text import is_chinese, prose_text

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "calibration.json"  # evaluator/calibration.json


class OfflineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    met: float = Field(description="criterion signal at or above which a criterion is met")
    partial: float = Field(description="criterion signal at or above which it is partial")
    keyword_bonus: float = Field(ge=0.0, description="signal added for full keyword coverage")
    error_threshold: float = Field(description="cosine at which a wrong claim is reported as the common error it is")
    contradiction: float = Field(
        default=0.5, ge=0.0, le=1.0, description="verifier P(contradicts) at which a unit is a wrong claim"
    )
    support: float = Field(
        default=0.0, ge=0.0, le=1.0, description="verifier P(supports) a unit needs to meet a criterion (0: off)"
    )
    doubt: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="verifier P(contradicts) at which a unit earns no credit for the point it is about (1: off)",
    )
    anchor_k: int = Field(ge=1)
    anchor_temperature: float = Field(gt=0.0)
    anchor_method: Literal["knn", "ridge"] = Field(
        default="knn", description="nearest anchors (few anchors) or kernel ridge regression over them (many)"
    )
    anchor_ridge: float = Field(default=0.03, gt=0.0, description="ridge strength of the regression")
    anchor_lexical: float = Field(default=0.0, ge=0.0, description="weight of char n-grams in its kernel")
    anchor_length: float = Field(default=0.0, ge=0.0, description="weight of the answer's log length in it")
    anchor_reference: float = Field(default=0.0, ge=0.0, description="weight of the cosine to the reference in it")


class MatchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_lexical: float = Field(ge=0.0, description="weight of char n-gram similarity, questions")
    answer_lexical: float = Field(ge=0.0, description="weight of char n-gram similarity, answers")
    question_min: float
    question_margin: float
    question_sure: float = Field(description="top cosine that is confident whatever the margin")
    answer_min: float
    answer_margin: float


class Calibration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    fitted_on: str
    alpha: float = Field(ge=0.0, le=1.0)
    lo: float
    hi: float
    similarity_lexical: float = Field(
        default=0.0, ge=0.0, description="weight of char n-gram similarity to the reference in the similarity part"
    )
    anchor_weight: float = Field(ge=0.0, le=1.0)
    anchor_weight_foreign: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="anchor share for answers not written in Chinese (None: same as anchor_weight)",
    )
    error_penalty: float = Field(default=10.0, ge=0.0, description="points off the final score per wrong claim")
    offline: OfflineParams
    match: MatchParams
    metrics: dict[str, float] = Field(default_factory=dict)


def anchor_share(cal: Calibration, answer: str, has_anchor: bool) -> float:
    """β for this answer. The rubric and reference are Chinese and the embedding model reads English
    against them poorly (with one common β: human 93 vs offline 42 on eval_data's English answers), while the anchor
    regression also compares the answer's own terms with graded answers': a foreign-language answer
    leans on it more, by as much as the calibration part supports."""
    if not has_anchor:
        return 0.0
    return (
        cal.anchor_weight_foreign if cal.anchor_weight_foreign is not None and is_foreign(answer) else cal.anchor_weight
    )


def is_foreign(answer: str) -> bool:
    """Prose not in Chinese. A bare list of (mostly English) terms is no language: it stays Chinese."""
    prose = prose_text(answer)
    return bool(prose) and not is_chinese(prose)


@lru_cache(maxsize=4)
def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    return Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))


def save_calibration(cal: Calibration, path: Path = CALIBRATION_FILE) -> None:
    path.write_text(json.dumps(cal.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    load_calibration.cache_clear()

"""Readers' verdicts on anchor grades: `eval_data/anchor_review.jsonl` beside the bank.

An anchor whose grade and judged coverage disagree is resolved by a person reading it against the
rubric. The reading is kept, one JSON object a line, keyed by question id and a hash of the anchor's
text: a changed anchor (new text) or a re-graded one (a grade other than the one read) has not been
read and is flagged again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluator.errors import BankError
from evaluator.models import Level

ANCHOR_REVIEW_FILE = Path("eval_data") / "anchor_review.jsonl"


def anchor_sha(answer: str) -> str:
    """A short, stable name for an anchor's text."""
    return hashlib.sha256(answer.encode()).hexdigest()[:12]


class AnchorReview(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question_id: str
    anchor_sha: str = Field(pattern=r"^[0-9a-f]{12}$")
    grade: int = Field(ge=0, le=100, description="the grade the anchor carries after the reading")
    reader_coverage: int = Field(ge=0, le=100, description="weighted share of the rubric the reader found")
    levels: dict[str, Level]
    verdict: Literal["fits", "regraded"]
    previous_grade: int | None = Field(default=None, ge=0, le=100, description="before a regrade")
    reason: str = Field(min_length=1)


def load_anchor_reviews(root: Path) -> dict[tuple[str, str], AnchorReview]:
    """(question id, anchor sha) -> the reading; empty for a bank without the file."""
    path = root / ANCHOR_REVIEW_FILE
    if not path.is_file():
        return {}
    reviews = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            review = AnchorReview.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise BankError(f"{path}:{n}: not an anchor review ({str(exc).splitlines()[0]})") from None
        reviews[(review.question_id, review.anchor_sha)] = review
    return reviews

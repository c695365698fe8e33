"""What a bank entry states, as the judges read it: its reference sentences, its common errors as
the claims a candidate would make, its criteria as text to embed. Pure text, no I/O."""

from __future__ import annotations

import re

from evaluator.models import Question
from evaluator.text import split_units


def reference_units(q: Question) -> list[str]:
    """Sentences of the reference answer: what a correct statement about this question is close to."""
    return split_units(q.reference)


_BELIEF = re.compile(r"^(误认为|错误地认为|认为|误以为|以为)\s*")


def error_claim(error: str) -> str:
    """The misconception itself, without a trailing （explanation）: a correct sentence about the
    same subject must not match the error through its correction."""
    claim = error.strip()
    if claim.endswith("）") and "（" in claim:
        claim = claim[: claim.rindex("（")].strip()
    # 「认为 X」 describes the misconception; a candidate who holds it simply says X.
    claim = _BELIEF.sub("", claim).strip()
    return claim or error


def criterion_text(description: str, keywords: tuple[str, ...]) -> str:
    return description if not keywords else f"{description}（{'、'.join(keywords)}）"

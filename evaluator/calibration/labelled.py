"""Labelled answers (ours in eval_data/, or the ADS format) and banks imported from them."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluator.bank.loader import QuestionBank
from evaluator.errors import InputError
from evaluator.models import Anchor, Criterion, Question, Rubric
from evaluator.text import split_units

MAX_AUTO_CRITERIA = 7
M = TypeVar("M", bound=BaseModel)


class LabelledAnswer(BaseModel):
    """One human-graded answer: ours (eval_data/answers.jsonl) or converted from ADS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    question_id: str
    answer: str
    grade: float = Field(ge=0, le=100)
    split: Literal["calibration", "test"] = "test"
    style: str = ""
    rationale: str = ""
    # The blind set records the false statements an answer makes (and the grader's corrections).
    wrong_claims: tuple[str, ...] = ()
    grade_note: str = ""


class AdsRow(BaseModel):
    """A row of the SAS-Datasets ADS files: score "0".."10", references 1-3 ("" when unused)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    score: float = Field(ge=0, le=10)
    answer: str
    q_id: str
    question: str
    reference1: str = ""
    reference2: str = ""
    reference3: str = ""

    @property
    def references(self) -> list[str]:
        return [r.strip() for r in (self.reference1, self.reference2, self.reference3) if r.strip()]


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path}:{n}: each line must be a JSON object")
        rows.append(row)
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


def is_ads(path: Path) -> bool:
    rows = _jsonl(path)
    return "q_id" in rows[0] and "reference1" in rows[0]


def _load_rows(path: Path, model: type[M]) -> list[M]:
    out = []
    for n, row in enumerate(_jsonl(path), 1):
        try:
            out.append(model.model_validate(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(f"{path}:{n}:{'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    return out


def load_labelled(path: Path) -> list[LabelledAnswer]:
    return _load_rows(path, LabelledAnswer)


# The graded sets `evaluate calibrate` fits on (their calibration parts), under the bank's eval_data/:
# answers written beside the references, and answers in candidates' own words (eval_data/CANDIDATE.md).
# The blind set (blind_answers.jsonl) is never among them.
CALIBRATION_SETS = ("answers.jsonl", "candidate_answers.jsonl")


def load_calibration_sets(root: Path | None) -> list[LabelledAnswer]:
    if root is None:
        return []
    folder = root / "eval_data"
    return [a for name in CALIBRATION_SETS if (folder / name).is_file() for a in load_labelled(folder / name)]


def load_ads(path: Path) -> list[AdsRow]:
    return _load_rows(path, AdsRow)


def ads_answers(rows: list[AdsRow], prefix: str) -> list[LabelledAnswer]:
    return [
        LabelledAnswer(id=f"{prefix}-{i}", question_id=ads_id(r.q_id), answer=r.answer, grade=10.0 * r.score)
        for i, r in enumerate(rows)
    ]


def ads_id(q_id: str) -> str:
    return "ads-" + re.sub(r"[^a-z0-9]+", "-", q_id.lower()).strip("-")


def auto_rubric(qid: str, references: list[str], anchors: list[Anchor]) -> Rubric:
    """Criteria derived from the reference answer(s): their key sentences, equally weighted."""
    points: list[str] = []
    for ref in references:
        for unit in split_units(ref):
            if len(unit) >= 6 and unit not in points:
                points.append(unit)
    points = points[:MAX_AUTO_CRITERIA] or [references[0]]
    criteria = tuple(Criterion(id=f"point-{i + 1}", weight=1, description=p) for i, p in enumerate(points))
    return Rubric(id=qid, criteria=criteria, anchors=tuple(anchors), auto_derived=True)


def ads_bank(questions_from: list[AdsRow], anchors: list[LabelledAnswer]) -> QuestionBank:
    """A bank of the ADS questions (from any of the given rows); anchors = graded answers given."""
    by_q: dict[str, AdsRow] = {}
    for r in questions_from:
        by_q.setdefault(ads_id(r.q_id), r)
    graded: dict[str, list[Anchor]] = defaultdict(list)
    for a in anchors:
        if a.answer.strip():
            graded[a.question_id].append(Anchor(score=round(a.grade), answer=a.answer.strip()))
    questions = []
    for qid, row in sorted(by_q.items()):
        refs = row.references or [row.question]
        questions.append(
            Question(
                id=qid, question=row.question.strip(), topic="fundamentals", reference=refs[0],
                rubric=auto_rubric(qid, refs, graded.get(qid, [])), sources=("ads",),
            )
        )  # fmt: skip
    digest = hashlib.sha256(
        json.dumps([q.model_dump(mode="json") for q in questions], ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    return QuestionBank(questions, digest)

"""The interviewer's own grades: stored as anchors of their questions in the user bank.

Every graded answer gets an evaluation id (a hash of its question id and answer) and a small record
under `EVALUATOR_HOME/evaluations/`, so a grade can be given later from the result alone
(`evaluate grade RESULT.json 72`, `POST /v1/feedback {evaluation_id, grade}`).

Grades go to `grades.jsonl` in the user bank: append-only, one JSON object a line with the time and
the source. A repeated submission (same question, answer, grade and note) is not appended again; a
new grade for the same answer is appended and the latest one counts. Writers hold an exclusive lock
(a thread lock and `flock` on a lock file) while they read the file and append one whole line, so
concurrent requests neither lose nor tear lines; a reader skips a line that does not parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluator.encoders.vector_store import atomic_write, locked
from evaluator.errors import InputError, UnknownEvaluation

GRADES_FILE = "grades.jsonl"
RECORDS_DIR = "evaluations"
MAX_NOTE_CHARS = 2000
Source = Literal["cli", "api", "import"]
_LOCK = threading.Lock()


class EvaluationRecord(BaseModel):
    """What a later grade needs to know about a graded answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    question_id: str
    question: str
    answer: str
    score: float | None = None


class GradeRecord(BaseModel):
    """One line of grades.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="hash of question id, answer, grade and note: a repeat is not appended")
    time: str = Field(description="UTC, ISO 8601")
    source: Source
    question_id: str
    answer: str = Field(min_length=1)
    grade: float = Field(ge=0, le=100)
    note: str = ""
    evaluation_id: str | None = None
    evaluator_score: float | None = Field(default=None, description="the evaluator's score of the same answer")


def evaluation_id(question_id: str, answer: str) -> str:
    return hashlib.sha256(f"{question_id}\0{answer.strip()}".encode()).hexdigest()[:16]


def parse_grade(value: str | float) -> float:
    """A human grade, 0-100; InputError (one line) otherwise."""
    try:
        grade = float(value)
    except (TypeError, ValueError):
        raise InputError(f"grade {value!r} is not a number; give a grade from 0 to 100") from None
    if not math.isfinite(grade) or not 0 <= grade <= 100:
        raise InputError(f"grade {value} is outside 0-100")
    return grade


# -- evaluation records -----------------------------------------------------------------------------


def save_record(home: Path, record: EvaluationRecord) -> None:
    path = home / RECORDS_DIR / f"{record.id}.json"
    with contextlib.suppress(OSError):  # a read-only home costs the later grade, never the evaluation
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(record.model_dump_json().encode("utf-8")))


def load_record(home: Path, eval_id: str) -> EvaluationRecord:
    safe = "".join(ch for ch in eval_id if ch.isalnum())
    path = home / RECORDS_DIR / f"{safe}.json"
    if not safe or safe != eval_id or not path.is_file():
        raise UnknownEvaluation(f"unknown evaluation id {eval_id!r}: no answer graded here has it "
                         f"(records are kept in {home / RECORDS_DIR})")  # fmt: skip
    try:
        return EvaluationRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError, UnicodeDecodeError):
        raise InputError(f"{path}: the evaluation record is damaged; grade the answer again") from None


def record_from_result(home: Path, path: Path) -> EvaluationRecord:
    """The record of the evaluation a JSON result file (`evaluate FILE -f json`) reports."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not a JSON result (write one with `evaluate ANSWER -f json -o {path}`)") from None
    eval_id = data.get("evaluation_id") if isinstance(data, dict) else None
    if not isinstance(eval_id, str) or not eval_id:
        raise InputError(f"{path}: has no evaluation_id (only a graded answer's JSON result can be graded)")
    return load_record(home, eval_id)


# -- grades -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """This process's threads, then other processes (the lock file beside grades.jsonl)."""
    with _LOCK, locked(root / GRADES_FILE):
        yield


def read_grades(root: Path) -> list[GradeRecord]:
    """Every stored grade, oldest first; a line that does not parse (cut by a crash) is skipped."""
    path = root / GRADES_FILE
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        with contextlib.suppress(ValidationError, ValueError):
            out.append(GradeRecord.model_validate_json(line))
    return out


def latest_grades(root: Path) -> dict[str, list[GradeRecord]]:
    """Per question, the latest grade of each distinct answer."""
    by_answer: dict[tuple[str, str], GradeRecord] = {}
    for g in read_grades(root):
        by_answer[(g.question_id, g.answer.strip())] = g
    out: dict[str, list[GradeRecord]] = {}
    for g in by_answer.values():
        out.setdefault(g.question_id, []).append(g)
    return out


def add_grade(
    root: Path,
    *,
    question_id: str,
    answer: str,
    grade: float,
    source: Source,
    note: str = "",
    eval_id: str | None = None,
    evaluator_score: float | None = None,
) -> tuple[GradeRecord, bool]:
    """Append a grade; returns it and whether it was new (False: the same submission was stored)."""
    grade = parse_grade(grade)
    answer = answer.strip()
    if not answer:
        raise InputError("the graded answer is empty")
    if len(note) > MAX_NOTE_CHARS:
        raise InputError(f"the note has {len(note)} characters; the limit is {MAX_NOTE_CHARS}")
    key = hashlib.sha256(json.dumps([question_id, answer, grade, note.strip()], ensure_ascii=False).encode())
    record = GradeRecord(
        key=key.hexdigest()[:24], time=datetime.now(UTC).isoformat(timespec="seconds"), source=source,
        question_id=question_id, answer=answer, grade=grade, note=note.strip(), evaluation_id=eval_id,
        evaluator_score=evaluator_score,
    )  # fmt: skip
    with _locked(root):
        for old in read_grades(root):
            if old.key == record.key:
                return old, False
        line = (record.model_dump_json() + "\n").encode("utf-8")
        fd = os.open(root / GRADES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of one whole line, in append mode
            os.fsync(fd)
        finally:
            os.close(fd)
    return record, True

"""`evaluate bank check`: load-time validation plus the bank's quality rules and seed coverage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from evaluator.bank.loader import REFERENCE_DIR, RUBRIC_DIR, load_questions
from evaluator.config import default_bank_dir
from evaluator.models import Question

MIN_CRITERIA, MAX_CRITERIA = 3, 7
MIN_ANCHORS = 4
MIN_REFERENCE_CHARS, MAX_REFERENCE_CHARS = 200, 700
COVERAGE_FILE = Path("eval_data") / "seed_coverage.yaml"
_CODE_BLOCK = re.compile(r"```.*?```", re.S)


class CoverageItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: str
    text: str
    id: str


@dataclass
class CheckReport:
    n_questions: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def prose_length(reference: str) -> int:
    """Characters of the reference answer outside code blocks, whitespace not counted."""
    return len("".join(_CODE_BLOCK.sub("", reference).split()))


def quality_problems(q: Question, root: Path) -> list[str]:
    ref = root / REFERENCE_DIR / f"{q.id}.md"
    rub = root / RUBRIC_DIR / f"{q.id}.yaml"
    problems = []
    n = len(q.rubric.criteria)
    if not MIN_CRITERIA <= n <= MAX_CRITERIA:
        problems.append(f"{rub}:criteria: {n} criteria; a rubric has {MIN_CRITERIA}-{MAX_CRITERIA}")
    if len(q.rubric.anchors) < MIN_ANCHORS:
        problems.append(f"{rub}:anchors: {len(q.rubric.anchors)} anchors; at least {MIN_ANCHORS} are needed")
    elif max(a.score for a in q.rubric.anchors) - min(a.score for a in q.rubric.anchors) < 50:
        problems.append(f"{rub}:anchors: scores do not spread over the range (need a strong and a weak one)")
    length = prose_length(q.reference)
    if not MIN_REFERENCE_CHARS <= length <= MAX_REFERENCE_CHARS:
        problems.append(
            f"{ref}: reference answer has {length} characters of prose; "
            f"expected {MIN_REFERENCE_CHARS}-{MAX_REFERENCE_CHARS}"
        )
    return problems


def load_coverage(path: Path) -> tuple[list[CoverageItem], list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"{path}: cannot read ({exc})"]
    if not isinstance(data, list):
        return [], [f"{path}: must be a YAML list of {{seed, text, id}}"]
    items, problems = [], []
    for i, raw in enumerate(data):
        try:
            items.append(CoverageItem.model_validate(raw))
        except ValidationError as exc:
            problems.append(f"{path}:{i}: {exc.errors()[0]['msg']}")
    return items, problems


def check_bank(bank_dir: Path | None = None, strict: bool = True) -> CheckReport:
    root = Path(bank_dir or default_bank_dir())
    questions, problems, _ = load_questions(root)
    report = CheckReport(n_questions=len(questions), problems=list(problems))
    quality = [p for q in questions for p in quality_problems(q, root)]
    if strict:
        report.problems += quality
    else:
        report.notes += [f"warning: {p}" for p in quality]
    coverage = root / COVERAGE_FILE
    if coverage.is_file():
        items, probs = load_coverage(coverage)
        report.problems += probs
        ids = {q.id for q in questions}
        for item in items:
            if item.id not in ids:
                report.problems.append(f"{coverage}: seed question {item.text!r} maps to unknown id {item.id!r}")
        report.notes.append(f"seed coverage: {len(items)} seed questions mapped onto {len({i.id for i in items})} ids")
    return report

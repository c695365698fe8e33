"""Load and validate the question bank: reference_answers/*.md + rubrics/*.yaml."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evaluator.errors import BankError, UnknownQuestion
from evaluator.models import Question, QuestionMeta, Rubric

REFERENCE_DIR = "reference_answers"
RUBRIC_DIR = "rubrics"


def _format_validation(path: Path, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{path}:{loc}: {err['msg']}")
    return problems


# libyaml's loader parses the bank about 7x faster than the pure-Python one (same data): the bank is
# loaded on every CLI run.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path, text: str) -> tuple[Any, list[str]]:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [f"{path}:{where}: invalid YAML ({problem})"]


def _read_text(path: Path) -> tuple[str, list[str]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError:
        return "", [f"{path}: not valid UTF-8"]
    except OSError as exc:
        return "", [f"{path}: cannot read ({exc.strerror})"]


def split_front_matter(path: Path, text: str) -> tuple[Any, str, list[str]]:
    """`---\\n<yaml>\\n---\\n<body>` -> (yaml data, body, problems)."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, "", [f"{path}:1: missing YAML front matter (first line must be '---')"]
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            data, problems = _load_yaml(path, "\n".join(lines[1:i]))
            return data, "\n".join(lines[i + 1 :]).strip(), problems
    return None, "", [f"{path}: front matter is not closed by a '---' line"]


def _load_reference(path: Path) -> tuple[QuestionMeta | None, str, list[str]]:
    text, problems = _read_text(path)
    if problems:
        return None, "", problems
    data, body, problems = split_front_matter(path, text)
    if problems:
        return None, "", problems
    if not isinstance(data, dict):
        return None, "", [f"{path}:front matter: must be a mapping"]
    try:
        meta = QuestionMeta.model_validate(data)
    except ValidationError as exc:
        return None, "", _format_validation(path, exc)
    if meta.id != path.stem:
        return None, "", [f"{path}:id: {meta.id!r} does not match the file name {path.stem!r}"]
    if not body:
        return None, "", [f"{path}: the reference answer (body after the front matter) is empty"]
    return meta, body, []


def _load_rubric(path: Path) -> tuple[Rubric | None, list[str]]:
    text, problems = _read_text(path)
    if problems:
        return None, problems
    data, problems = _load_yaml(path, text)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [f"{path}: must be a YAML mapping"]
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        return None, _format_validation(path, exc)
    if rubric.id != path.stem:
        return None, [f"{path}:id: {rubric.id!r} does not match the file name {path.stem!r}"]
    return rubric, []


def _norm_phrase(text: str) -> str:
    return "".join(text.lower().split()).rstrip("?？。.")


class QuestionBank:
    """An immutable, validated set of questions with a content hash."""

    def __init__(
        self,
        questions: list[Question],
        content_hash: str,
        root: Path | None = None,
        *,
        origins: dict[str, str] | None = None,
        user_anchors: dict[str, int] | None = None,
    ):
        self._questions = {q.id: q for q in questions}
        self.content_hash = content_hash
        self.root = root
        # Where each entry came from when a user bank extends this one (see evaluator.bank.user), and
        # how many of a question's anchors are the interviewer's own grades.
        self.origins = origins or {}
        self.user_anchors = user_anchors or {}

    def origin(self, qid: str) -> str:
        return self.origins.get(qid, "bundled")

    def __len__(self) -> int:
        return len(self._questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self._questions.values())

    def __contains__(self, qid: object) -> bool:
        return qid in self._questions

    def get(self, qid: str) -> Question:
        try:
            return self._questions[qid]
        except KeyError:
            raise UnknownQuestion(f"no question with id {qid!r} in the bank") from None

    @property
    def ids(self) -> list[str]:
        return list(self._questions)

    @property
    def topics(self) -> list[str]:
        return sorted({q.topic for q in self})

    @classmethod
    def load(cls, root: Path) -> QuestionBank:
        """Load the bank under `root`; raise BankError listing every problem found."""
        questions, problems, digest = load_questions(root)
        if problems:
            raise BankError.from_problems(problems)
        return cls(questions, digest, root)


def load_questions(root: Path) -> tuple[list[Question], list[str], str]:
    """Load and cross-check every entry; return (questions, problems, content hash)."""
    ref_dir, rub_dir = root / REFERENCE_DIR, root / RUBRIC_DIR
    problems: list[str] = []
    for d in (ref_dir, rub_dir):
        if not d.is_dir():
            problems.append(f"{d}: bank directory not found")
    if problems:
        return [], problems, ""
    ref_files = sorted(ref_dir.glob("*.md"))
    rub_files = sorted(rub_dir.glob("*.yaml"))
    digest = hashlib.sha256()
    for f in [*ref_files, *rub_files]:
        digest.update(f"{f.parent.name}/{f.name}\0".encode())
        digest.update(f.read_bytes())
        digest.update(b"\0")
    refs: dict[str, tuple[QuestionMeta, str]] = {}
    for f in ref_files:
        meta, body, probs = _load_reference(f)
        problems += probs
        if meta is not None:
            refs[meta.id] = (meta, body)
    rubrics: dict[str, Rubric] = {}
    for f in rub_files:
        rubric, probs = _load_rubric(f)
        problems += probs
        if rubric is not None:
            rubrics[rubric.id] = rubric
    ref_stems = {f.stem for f in ref_files}
    rub_stems = {f.stem for f in rub_files}
    for qid in sorted(ref_stems - rub_stems):
        problems.append(f"{ref_dir / (qid + '.md')}: has no rubric {rub_dir / (qid + '.yaml')}")
    for qid in sorted(rub_stems - ref_stems):
        problems.append(f"{rub_dir / (qid + '.yaml')}: has no reference answer {ref_dir / (qid + '.md')}")
    questions = [
        Question(
            id=qid,
            question=meta.question,
            aliases=meta.aliases,
            topic=meta.topic,
            difficulty=meta.difficulty,
            sources=meta.sources,
            reference=body,
            rubric=rubrics[qid],
        )
        for qid, (meta, body) in refs.items()
        if qid in rubrics
    ]
    owner: dict[str, str] = {}
    for q in questions:
        for phrase in q.phrasings:
            key = _norm_phrase(phrase)
            other = owner.setdefault(key, q.id)
            if other != q.id:
                problems.append(f"{ref_dir / (q.id + '.md')}:aliases: {phrase!r} is also a phrasing of {other!r}")
    if not ref_files and not problems:
        problems.append(f"{ref_dir}: the bank has no questions")
    return questions, problems, digest.hexdigest()

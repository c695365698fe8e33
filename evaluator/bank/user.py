"""The user's own bank: questions they add and the grades they give, on top of the bundled bank.

Layout of a user bank directory (`EVALUATOR_HOME/bank/` unless `--user-bank DIR`):
  reference_answers/<id>.md, rubrics/<id>.yaml   the same format as the bundled bank
  grades.jsonl                                    the interviewer's grades (see evaluator.bank.feedback)
An entry whose id is a bundled one replaces it (and the reports say so); the bundled bank is only
ever read. The grades become anchors of their questions, so the judges use them at once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import yaml
from pydantic import ValidationError

from evaluator.bank.feedback import GRADES_FILE, latest_grades
from evaluator.bank.loader import REFERENCE_DIR, RUBRIC_DIR, QuestionBank, load_questions, split_front_matter
from evaluator.calibration.labelled import auto_rubric
from evaluator.config import home_dir
from evaluator.errors import BankError, InputError
from evaluator.models import KEBAB, Anchor, Question, QuestionMeta, Rubric

ORIGIN_BUNDLED = "bundled"
ORIGIN_USER = "user"
ORIGIN_OVERRIDE = "user-override"  # a user entry with a bundled entry's id
ORIGIN_GIVEN = "given"  # a question with a reference given for this evaluation only
ORIGIN_DRAFTED = "drafted"  # reference and rubric drafted by the LLM judge's model
ADHOC_TOPIC = "open-questions"


def default_user_bank() -> Path:
    return home_dir() / "bank"


def has_entries(root: Path) -> bool:
    return (root / REFERENCE_DIR).is_dir() and any((root / REFERENCE_DIR).glob("*.md"))


def with_user_bank(base: QuestionBank, root: Path) -> QuestionBank:
    """`base` extended (and, id for id, overridden) by the user bank at `root`, with the user's grades
    added to their questions' anchors. `base` itself when the user bank is empty."""
    grades_path = root / GRADES_FILE
    if not has_entries(root) and not grades_path.is_file():
        return base
    user: list[Question] = []
    digest = hashlib.sha256(base.content_hash.encode())
    if has_entries(root):
        user, problems, user_hash = load_questions(root)
        if problems:
            raise BankError.from_problems([f"user bank: {p}" for p in problems])
        digest.update(user_hash.encode())
    questions = {q.id: q for q in base}
    origins = dict(base.origins)
    for q in user:
        origins[q.id] = ORIGIN_OVERRIDE if q.id in questions else ORIGIN_USER
        questions[q.id] = q
    counts: dict[str, int] = {}
    graded = latest_grades(root)
    for qid, items in graded.items():
        entry = questions.get(qid)
        if entry is None:
            continue  # a question given for one evaluation: its grades apply when it is given again
        own = {a.answer for a in entry.rubric.anchors}
        extra = [Anchor(score=round(g.grade), answer=g.answer) for g in items if g.answer not in own]
        if extra:
            questions[qid] = with_anchors(entry, extra)
            counts[qid] = len(extra)
            digest.update(json.dumps([[qid, a.score, a.answer] for a in extra], ensure_ascii=False).encode())
    return QuestionBank(list(questions.values()), digest.hexdigest(), base.root, origins=origins, user_anchors=counts)


def with_anchors(q: Question, extra: list[Anchor]) -> Question:
    rubric = q.rubric.model_copy(update={"anchors": (*q.rubric.anchors, *extra)})
    return q.model_copy(update={"rubric": rubric})


def adhoc_id(question: str, reference: str) -> str:
    """A stable id for a question given with its reference: the same pair grades against the same
    entry (and the same grades) every time."""
    key = hashlib.sha256(f"{question.strip()}\0{reference.strip()}".encode()).hexdigest()[:12]
    return f"given-{key}"


def adhoc_question(question: str, reference: str, root: Path) -> Question:
    """A one-off entry: the given reference with a rubric derived from it, plus the user's grades of
    earlier answers to the same question and reference."""
    qid = adhoc_id(question, reference)
    anchors = [Anchor(score=round(g.grade), answer=g.answer) for g in latest_grades(root).get(qid, [])]
    return Question(
        id=qid, question=question.strip(), topic=ADHOC_TOPIC, reference=reference.strip(),
        rubric=auto_rubric(qid, [reference.strip()], anchors), sources=("given",),
    )  # fmt: skip


# -- writing entries --------------------------------------------------------------------------------


def read_reference(path: Path) -> str:
    """A reference answer from a file: plain text or Markdown (front matter, if any, is dropped)."""
    try:
        text = path.read_text(encoding="utf-8").lstrip("\ufeff")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if text.startswith("---"):
        _data, text, problems = split_front_matter(path, text)
        if problems:
            raise InputError(problems[0])
    text = text.strip()
    if len(text) < 10:
        raise InputError(f"{path}: the reference answer is empty or too short (at least 10 characters)")
    return text


def read_rubric(path: Path, qid: str) -> Rubric:
    """A rubric file for a new entry; its `id` may be left out (it takes the entry's)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"{path}: {where}invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a rubric must be a YAML mapping with `criteria:`")
    data.setdefault("id", qid)
    if data["id"] != qid:
        raise InputError(f"{path}:id: {data['id']!r} is not the entry's id {qid!r} (give --id {data['id']})")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"{path}:{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def new_id(question: str, taken: set[str]) -> str:
    """`user-<hash>`: Chinese questions have no ASCII words to make a readable id from."""
    base = "user-" + hashlib.sha256(question.strip().encode()).hexdigest()[:8]
    return base if base not in taken else f"{base}-{len(taken)}"


def add_entry(
    bundled: QuestionBank,
    root: Path,
    *,
    question: str,
    reference: str,
    qid: str | None = None,
    rubric: Rubric | None = None,
    topic: str = ADHOC_TOPIC,
    aliases: tuple[str, ...] = (),
    override: bool = False,
) -> tuple[Question, str]:
    """Validate and write one user entry; returns it and its origin. Nothing is written on a problem."""
    current = with_user_bank(bundled, root)
    if qid is None:
        qid = new_id(question, set(current.ids))
    if not KEBAB.match(qid):
        raise InputError(f"--id {qid}: not kebab-case ([a-z0-9] words joined by '-')")
    if qid in bundled and bundled.origins.get(qid, ORIGIN_BUNDLED) == ORIGIN_BUNDLED and not override:
        raise InputError(f"--id {qid}: the bundled bank has this id; add --override to replace it with yours")
    try:
        meta = QuestionMeta(id=qid, question=question.strip(), aliases=aliases, topic=topic, sources=("user",))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"{'.'.join(map(str, err['loc']))}: {err['msg'].replace('Value error, ', '')}") from None
    mine = {p.lower().strip() for p in meta.question.splitlines()} | {a.lower().strip() for a in aliases}
    for q in current:
        if q.id != qid and mine & {p.lower().strip() for p in q.phrasings}:
            raise InputError(f"the question or an alias is already a phrasing of {q.id!r}; grade against that one")
    rubric = rubric or auto_rubric(qid, [reference], [])
    front = yaml.safe_dump(meta.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    ref_text = f"---\n{front}---\n{reference.strip()}\n"
    rub_text = yaml.safe_dump(rubric.model_dump(mode="json", exclude_defaults=True) | {"id": qid},
                              allow_unicode=True, sort_keys=False)  # fmt: skip
    ref_path, rub_path = root / REFERENCE_DIR / f"{qid}.md", root / RUBRIC_DIR / f"{qid}.yaml"
    ref_path.parent.mkdir(parents=True, exist_ok=True)
    rub_path.parent.mkdir(parents=True, exist_ok=True)
    old = {p: p.read_bytes() for p in (ref_path, rub_path) if p.exists()}
    ref_path.write_text(ref_text, encoding="utf-8")
    rub_path.write_text(rub_text, encoding="utf-8")
    try:
        merged = with_user_bank(bundled, root)  # the entry as the loader reads it, checked as a whole
    except BankError:
        for p in (ref_path, rub_path):  # leave the bank as it was
            if p in old:
                p.write_bytes(old[p])
            else:
                p.unlink(missing_ok=True)
        raise
    return merged.get(qid), merged.origins[qid]


def export_bank(root: Path, dest: Path) -> int:
    """Copy the user bank (entries and grades) to `dest`, a directory another person can load with
    `--user-bank DIR` or `--bank DIR`. Returns the number of entries."""
    if dest.exists() and any(dest.iterdir()):
        raise InputError(f"{dest}: exists and is not empty; export into a new directory")
    if not has_entries(root) and not (root / GRADES_FILE).is_file():
        raise InputError(f"{root}: the user bank is empty; add a question with `evaluate bank add`")
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for sub in (REFERENCE_DIR, RUBRIC_DIR):
        (dest / sub).mkdir(exist_ok=True)
        for f in sorted((root / sub).glob("*")) if (root / sub).is_dir() else []:
            shutil.copy2(f, dest / sub / f.name)
            n += sub == REFERENCE_DIR
    if (root / GRADES_FILE).is_file():
        shutil.copy2(root / GRADES_FILE, dest / GRADES_FILE)
    return n

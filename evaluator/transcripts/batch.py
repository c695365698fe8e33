"""Batch scoring of a transcript: match every turn, judge concurrently, append each result as it finishes.

    turns ──► match (one batched embedding call for all questions and answers)
          ──► judge (the judge's async twin, at most `concurrency` at a time)
          ──► score (Evaluator.score) ──► one JSONL line per finished turn ──► summary

A turn is graded only against a confidently matched bank question: turns with no confident match are
reported as "not in the bank", unanswered questions are listed, and a turn whose judge fails (after the
judge's own retries) is recorded with its error while the batch goes on. `resume` reuses the results
already in the results file whose key still matches: the key hashes the turn's text and its basis (judge,
model, endpoint, prompt version, sampling, samples, calibration version, bank content, embedding model),
so a result made with anything else is graded again, and the report counts those (`regraded`). Failed
turns are retried. Ctrl-C raises `BatchInterrupted` (a KeyboardInterrupt) carrying the partial report;
every finished turn is already on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from evaluator.core import SamplingJudge, check_answer, median_of_samples, unmatched
from evaluator.encoders.embedder import Embedder
from evaluator.errors import EvaluatorError, InputError, UnknownQuestion
from evaluator.judges import Judge, JudgeRequest, OfflineJudge
from evaluator.matching.question_text import is_small_talk
from evaluator.models import Match, Question, ResultBasis, TranscriptReport, TranscriptTurn, TurnResult, TurnStatus
from evaluator.text import split_units
from evaluator.transcripts.parse import load_transcript, question_focus, question_parts
from evaluator.transcripts.summary import summarize

if TYPE_CHECKING:
    from evaluator.calibration.params import Calibration
    from evaluator.core import Evaluator

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64


class BatchObserver(Protocol):
    """Progress hooks (the CLI's progress bar). Called from the thread that runs the batch."""

    def started(self, total: int, reused: int) -> None: ...

    def finished(self, result: TurnResult) -> None: ...


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: `report` holds every turn finished so far (complete=False)."""

    def __init__(self, report: TranscriptReport):
        super().__init__("interrupted")
        self.report = report


@runtime_checkable
class DescribedJudge(Protocol):
    """A judge whose verdicts depend on settings besides its name (an LLM judge: model, endpoint, ...)."""

    def identity(self) -> dict[str, str | None]: ...


def result_basis(ev: Evaluator, judge: Judge) -> ResultBasis:
    """What, besides a turn's text, decides its result with this evaluator and judge."""
    ident = judge.identity() if isinstance(judge, DescribedJudge) else {}
    return ResultBasis(
        judge=judge.name, model=ident.get("model"), endpoint=ident.get("endpoint"),
        prompt_version=ident.get("prompt_version"), sampling=ident.get("sampling"),
        samples=ev.samples if isinstance(judge, SamplingJudge) else 1,  # a deterministic judge ignores it
        calibration=calibration_id(ev.calibration), bank=ev.bank.content_hash, embedding=ev.embedder.name,
    )  # fmt: skip


def calibration_id(cal: Calibration) -> str:
    """The calibration's version and a hash of its content: a refit that kept the version still counts."""
    return f"{cal.version}+{hashlib.sha256(cal.model_dump_json().encode('utf-8')).hexdigest()[:8]}"


def _hash(value: object) -> str:
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def content_key(turn: TranscriptTurn) -> str:
    """The turn's text, whatever it was graded with: finds a stored result that has gone stale."""
    return _hash({"question": turn.question, "answer": turn.answer, "question_id": turn.question_id})


def turn_key(turn: TranscriptTurn, basis: ResultBasis) -> str:
    """What identifies a turn's result: its content and its basis, not its position."""
    return _hash({"turn": content_key(turn), "basis": basis.model_dump(mode="json")})


_BASIS_LABELS = {
    "judge": "judge", "model": "model", "endpoint": "endpoint", "prompt_version": "prompt version",
    "sampling": "sampling", "samples": "samples", "calibration": "calibration version", "bank": "bank content",
    "embedding": "embedding model",
}  # fmt: skip


def basis_changes(old: ResultBasis | None, new: ResultBasis) -> list[str]:
    """What differs between a stored result's basis and today's, for the user: "model a -> b"."""
    if old is None:
        return ["stored by an earlier version (no basis recorded)"]
    changes = []
    for name, label in _BASIS_LABELS.items():
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            if name == "bank":
                changes.append(f"{label} {str(before)[:12]} -> {str(after)[:12]}")
            else:
                changes.append(f"{label} {before} -> {after}")
    return changes


# -- the results file -------------------------------------------------------------------------------


class ResultsLog:
    """Append-only JSONL of TurnResult, one line per finished turn, flushed and fsynced as written."""

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[str] | None = None

    def load(self) -> tuple[dict[str, TurnResult], int]:
        """Results by key (a later line wins) and the number of unreadable lines (a torn last write)."""
        results: dict[str, TurnResult] = {}
        bad = 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return results, 0
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read the results file ({exc})") from exc
        # Split as bytes: a write cut inside a multi-byte character spoils only its own line (pydantic
        # rejects the bad UTF-8 there), not the decoding of the whole file.
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                result = TurnResult.model_validate_json(line)
            except ValueError:
                bad += 1
                continue
            results[result.key] = result
        return results, bad

    def open(self, fresh: bool) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                self._file = self.path.open("w", encoding="utf-8")
                return
            torn = self.path.exists() and self.path.stat().st_size > 0 and not self.path.read_bytes().endswith(b"\n")
            self._file = self.path.open("a", encoding="utf-8")
            if torn:  # an interrupted write left half a line: end it so the next line stays valid
                self._file.write("\n")
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write the results file ({exc.strerror})") from exc

    def append(self, result: TurnResult) -> None:
        if self._file is None:
            return
        self._file.write(result.model_dump_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# -- matching ------------------------------------------------------------------------------------------


def _embedded_up_front(base: Embedder, texts: Sequence[str]) -> Embedder:
    """The evaluator's model with every turn's texts embedded up front in one batch, kept apart from the
    evaluator's own embedder (a server's batches do not accumulate in it)."""
    scratch = base.scratch()
    scratch.embed_up_front(texts)
    return scratch


def choose_match(ev: Evaluator, turn: TranscriptTurn) -> tuple[Match, str | None]:
    """The bank question of a turn and how it was found (None: no confident match).

    The question text decides when it is confident. A turn holding two questions asked in a row is
    matched part by part; when the parts match different bank questions, the answer picks one. When
    the question is close to the bank but ambiguous (its top score clears the bar, the margin does
    not), the answer picks among its top candidates; an answer match that clears the bar and agrees with
    the question's top candidate is accepted too (an English question against the Chinese bank). A
    follow-up question («那为什么呢？») may be matched by its answer alone, when that is confident."""
    if turn.question_id:
        return ev.pinned(turn.question_id), "id"
    parts = question_parts(turn.question)
    answer_match: Match | None = None

    def by_answer() -> Match | None:
        nonlocal answer_match
        if answer_match is None and turn.answer.strip():
            answer_match = ev.match(answer=turn.answer)
        return answer_match

    if len(parts) > 1:
        sure = [m for m in (ev.match(question=p) for p in parts) if m.confident and m.best is not None]
        ids = list(dict.fromkeys(m.best.id for m in sure if m.best is not None))
        if len(ids) == 1:
            return sure[0], "question"
        if len(ids) > 1:
            am = by_answer()
            ranked = [c.id for c in am.candidates] if am is not None else []
            pick = min(ids, key=lambda i: ranked.index(i) if i in ranked else len(ranked) + ids.index(i))
            return next(m for m in sure if m.best is not None and m.best.id == pick), "question+answer"
    qm = ev.match(question=question_focus(turn.question))
    if qm.best is None:
        return qm, None
    am = by_answer()
    if am is not None:
        picked = ev.resolve_by_answer(qm, turn.answer, am)
        if picked is not None:
            return picked, ("question" if picked is qm else "question+answer")
    if qm.confident:
        return qm, "question"
    if am is not None and turn.follow_up_of is not None and am.confident:
        return am, "answer"
    by_model = ev.pick_with_model(qm, turn.question, turn.answer) if turn.answer.strip() else None
    if by_model is not None:
        return by_model, "question+model"
    return qm, None


def match_texts(turn: TranscriptTurn) -> list[str]:
    """Every text `choose_match` embeds with the judge's model for a turn (embedded up front, in one
    batch): the answer, which decides between close entries. Questions are matched with e5."""
    return [turn.answer.strip()] if turn.answer.strip() else []


# -- the batch ---------------------------------------------------------------------------------------


def run_transcript(
    ev: Evaluator,
    source: str | Path,
    *,
    results: Path | str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    observer: BatchObserver | None = None,
) -> TranscriptReport:
    """Parse a transcript (a path, '-', or the text itself) and grade every turn. See `run_turns`."""
    name, turns = load_transcript(source)
    return run_turns(
        ev, turns, source=name, results=results, resume=resume, overwrite=overwrite, concurrency=concurrency,
        observer=observer,
    )  # fmt: skip


def run_turns(
    ev: Evaluator,
    turns: Sequence[TranscriptTurn],
    *,
    source: str = "<transcript>",
    results: Path | str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    observer: BatchObserver | None = None,
    previous: Sequence[TurnResult] = (),
) -> TranscriptReport:
    """Grade turns, appending each finished result to `results` (JSONL) when given.

    `resume` reuses the finished results already in that file whose key still matches (failed and stale
    turns run again); without it an existing non-empty file is an error unless `overwrite`, so a
    finished run is never lost by accident. `previous` are results kept elsewhere (the service's job
    store), reused by the same rule."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    if resume and results is None:
        raise InputError("resume needs a results file")
    started = time.perf_counter()
    judge = ev.judge
    log = ResultsLog(Path(results)) if results is not None else None
    stored: dict[str, TurnResult] = {}
    if log is not None:
        stored, _bad = log.load()
        if stored and not resume and not overwrite:
            raise InputError(
                f"{log.path}: already holds {len(stored)} turn results; pass --resume to continue that run, "
                "or choose another results file"
            )
        if not resume:
            stored = {}
    stored.update((r.key, r) for r in previous)
    basis = result_basis(ev, judge)
    # A finished result of the same text under another key was made with something else (a model, the
    # bank, ...): it is graded again and counted, never handed back as if it were today's.
    stale = {content_key(r.turn): r for r in stored.values() if r.finished}
    done: dict[int, TurnResult] = {}
    todo: list[tuple[TranscriptTurn, str]] = []
    regraded = 0
    because: dict[str, None] = {}
    for turn in turns:
        key = turn_key(turn, basis)
        found = stored.get(key)
        if found is not None and found.finished:
            done[turn.index] = found.model_copy(update={"turn": turn})
            continue
        todo.append((turn, key))
        old = stale.get(content_key(turn))
        if old is not None and old.key != key:
            regraded += 1
            because.update(dict.fromkeys(basis_changes(old.basis, basis)))
    reused = len(done)

    def report(complete: bool) -> TranscriptReport:
        ordered = tuple(done[t.index] for t in turns if t.index in done)
        return TranscriptReport(
            source=source, judge=judge.name, complete=complete, results_path=str(log.path) if log else None,
            turns=ordered, summary=summarize(ordered, total=len(turns)),
            seconds=round(time.perf_counter() - started, 2), reused=reused, regraded=regraded,
            regraded_because=tuple(because),
        )  # fmt: skip

    if observer is not None:
        observer.started(len(turns), len(done))
    try:
        if log is not None:
            log.open(fresh=not resume)
        if todo:

            def record(result: TurnResult) -> None:
                result = result.model_copy(update={"basis": basis})
                done[result.turn.index] = result
                if log is not None:
                    log.append(result)
                if observer is not None:
                    observer.finished(result)

            asyncio.run(_run(ev, todo, concurrency, record))
    except KeyboardInterrupt:
        raise BatchInterrupted(report(complete=False)) from None
    finally:
        if log is not None:
            log.close()
    return report(complete=True)


@dataclass
class _Graded:
    """A turn that will be judged: its bank question, the checked answer and the match."""

    turn: TranscriptTurn
    key: str
    question: Question
    answer: str
    match: Match
    how: str


def _failed(turn: TranscriptTurn, key: str, exc: Exception) -> TurnResult:
    error = str(exc) if isinstance(exc, EvaluatorError) else f"{type(exc).__name__}: {exc}"
    return TurnResult(key=key, turn=turn, status="failed", error=error or type(exc).__name__)


def _plan(view: Evaluator, judge_name: str, turn: TranscriptTurn, key: str) -> TurnResult | _Graded:
    """Match one turn: a final result (unmatched, unanswered) or what to judge."""
    if not turn.question_id and is_small_talk(turn.question):
        return TurnResult(key=key, turn=turn, status="unmatched", not_a_question=True)
    try:
        match, how = choose_match(view, turn)
    except UnknownQuestion as exc:  # a pinned id that is not in the bank
        return TurnResult(key=key, turn=turn, status="unmatched", error=str(exc))
    if not turn.answer.strip():
        return TurnResult(key=key, turn=turn, status="unanswered", matched_by=how, candidates=match.candidates)
    if how is None or match.best is None:
        return TurnResult(
            key=key, turn=turn, status="unmatched", candidates=match.candidates,
            evaluation=unmatched(match, judge_name),
        )  # fmt: skip
    return _Graded(turn, key, view.bank.get(match.best.id), check_answer(turn.answer), match, how)


def _batch_judge(judge: Judge, view: Evaluator, graded: list[_Graded]) -> Judge:
    """The offline judge embeds each answer's sentences: embed them for every turn in one batch, and
    judge with a copy of it that looks them up. Other judges are returned as they are."""
    if not isinstance(judge, OfflineJudge) or not graded:
        return judge
    view.embedder.embed_up_front([u for g in graded for u in (split_units(g.answer) or [g.answer.strip()])])
    return OfflineJudge(view.index.with_embedder(view.embedder), judge.params)


async def _run(
    ev: Evaluator,
    todo: list[tuple[TranscriptTurn, str]],
    concurrency: int,
    record: Callable[[TurnResult], None],
) -> None:
    # One embedding call up front for every answer (matching lets the answer decide between close
    # entries, the offline judge and the similarity part read it); matching and scoring look vectors up.
    judge = ev.judge
    texts = [t for turn, _ in todo for t in match_texts(turn)]
    await asyncio.to_thread(lambda: ev.index)  # load (or build) the bank index once, shared by the view
    view = ev.with_embedder(await asyncio.to_thread(_embedded_up_front, ev.embedder, texts))
    graded: list[_Graded] = []
    for turn, key in todo:
        t0 = time.perf_counter()
        try:
            plan = _plan(view, judge.name, turn, key)
        except Exception as exc:  # any failure of one turn is that turn's result; the batch goes on
            plan = _failed(turn, key, exc)
        if isinstance(plan, _Graded):
            graded.append(plan)
        else:
            record(plan.model_copy(update={"seconds": round(time.perf_counter() - t0, 3)}))
    judge = await asyncio.to_thread(_batch_judge, judge, view, graded)
    answers_ready = asyncio.ensure_future(asyncio.to_thread(view.embedder.embed_up_front, [g.answer for g in graded]))
    semaphore = asyncio.Semaphore(concurrency)

    async def one(g: _Graded) -> None:
        t0 = time.perf_counter()
        try:
            async with semaphore:
                result = await _grade(view, judge, g, answers_ready)
        except Exception as exc:  # any failure of one turn is that turn's result; the batch goes on
            result = _failed(g.turn, g.key, exc)
        record(result.model_copy(update={"seconds": round(time.perf_counter() - t0, 3)}))

    await asyncio.gather(*(one(g) for g in graded))


async def _grade(view: Evaluator, judge: Judge, g: _Graded, answers_ready: asyncio.Future[None]) -> TurnResult:
    request = JudgeRequest(question=g.question, answer=g.answer)
    if view.samples > 1 and isinstance(judge, SamplingJudge):
        sampler = judge
        verdicts = await asyncio.gather(
            *(asyncio.to_thread(sampler.judge_sample, request, i) for i in range(view.samples))
        )
        evaluation = median_of_samples([view.score(g.question, g.answer, v, g.match) for v in verdicts])
    else:
        verdict = await judge.ajudge(request)
        await answers_ready
        evaluation = view.score(g.question, g.answer, verdict, g.match)
    status: TurnStatus = "graded" if evaluation.score is not None else "unscored"
    return TurnResult(key=g.key, turn=g.turn, status=status, evaluation=evaluation, matched_by=g.how)


__all__ = [
    "BatchInterrupted",
    "BatchObserver",
    "ResultsLog",
    "basis_changes",
    "calibration_id",
    "choose_match",
    "content_key",
    "default_results_path",
    "result_basis",
    "run_transcript",
    "run_turns",
    "turn_key",
]


def default_results_path(home: Path, source: str, turns: Sequence[TranscriptTurn]) -> Path:
    """Where the CLI keeps a run's results when --results is not given: the cache dir, one file per
    transcript file (so --resume finds it again after the transcript is edited), or per content for stdin."""
    if source.startswith("<"):
        ident = json.dumps([t.model_dump(mode="json") for t in turns], ensure_ascii=False)
        stem = "stdin"
    else:
        ident = str(Path(source).resolve())
        stem = Path(source).stem
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:12]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:40] or "transcript"
    return home / "runs" / f"{safe}-{digest}.jsonl"

"""`evaluate` command line: parse options, call the library, render, map errors to exit codes."""

from __future__ import annotations

import difflib
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from evaluator.errors import BankError, EvaluatorError, InputError, NoConfidentMatch, UnknownQuestion

if TYPE_CHECKING:
    from evaluator.bank.loader import QuestionBank
    from evaluator.models import Evaluation


def _plain_help() -> None:
    """Help that reads like a man page: no `<bool>` beside a flag, `FILE` rather than `{file}` in usage.

    Typer prints both by default; patched here (guarded, so another Typer version only loses the polish)."""
    from typer import core

    option_type = getattr(core.TyperOption, "display_type_rich", None)
    if option_type is not None:

        def display_type_rich(self: core.TyperOption, ctx: typer.Context) -> str | None:
            return None if self.is_flag else option_type(self, ctx)

        core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign,assignment]
    if hasattr(core.TyperArgument, "_usage_display_name"):

        def usage_name(self: core.TyperArgument) -> str:
            name = (self.metavar or self.name or "arg").upper()
            return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")

        core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


_plain_help()

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Grade answers to LLM interview questions.")
bank_app = typer.Typer(no_args_is_help=True, help="Inspect and validate the question bank.")
app.add_typer(bank_app, name="bank")

SUBCOMMANDS = {"grade", "bank", "match", "calibrate", "benchmark", "transcript", "serve", "--help", "-h", "--version"}


class Format(StrEnum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"


BankOpt = Annotated[Path | None, typer.Option("--bank", help="Bank directory (rubrics/ + reference_answers/).")]
JudgeOpt = Annotated[str | None, typer.Option("--judge", help="auto | offline | openai")]
UserBankOpt = Annotated[
    Path | None,
    typer.Option("--user-bank", help="Your own bank: added questions and your grades (default $EVALUATOR_HOME/bank)."),
]


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{output}: cannot write ({exc.strerror})") from exc


def _check_output(output: Path | None) -> None:
    """Fail on an unwritable -o before any grading, not after it."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise InputError(f"{output}: cannot write the report (it is a directory)")
    if not parent.is_dir():
        raise InputError(f"{output}: cannot write the report (directory {parent} does not exist)")
    if not os.access(parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise InputError(f"{output}: cannot write the report (permission denied)")


def _check_question_id(ids: list[str], question_id: str | None) -> None:
    if question_id is None or question_id in ids:
        return
    close = difflib.get_close_matches(question_id, ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "`evaluate match QUESTION` shows the ids"
    raise UnknownQuestion(f"--question-id {question_id}: no such question in the bank; {hint}")


def _transcript_note(file: str, answer: str) -> None:
    """An answer file that is really a mock-interview transcript gets pointed at `evaluate transcript`."""
    from evaluator.transcripts.parse import parse_transcript

    try:
        turns = parse_transcript(answer, file)
    except EvaluatorError:
        return
    if len(turns) >= 2:
        typer.echo(f"note: {file} looks like a mock-interview transcript ({len(turns)} question/answer turns); "
                   f"to grade each answer, run `evaluate transcript {file}`", err=True)  # fmt: skip


@app.command()
def grade(
    file: Annotated[str, typer.Argument(help="Answer file (UTF-8 text), or - for stdin; with GRADE, a JSON result.")],
    human_grade: Annotated[
        str | None,
        typer.Argument(metavar="GRADE", help="Your grade (0-100) of the answer a JSON result reports (an anchor)."),
    ] = None,
    question: Annotated[str | None, typer.Option("--question", "-q", help="The question asked.")] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Reference answer file: grade against it (with --question).")
    ] = None,
    give_grade: Annotated[
        str | None, typer.Option("--grade", help="Your own grade of this answer (0-100), stored as an anchor.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with your grade.")] = "",
    user_bank: UserBankOpt = None,
    question_id: Annotated[str | None, typer.Option("--question-id", help="Pin a bank question id.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    show_reference: Annotated[bool, typer.Option("--show-reference", help="Include the reference answer.")] = False,
    bank: BankOpt = None,
    judge: JudgeOpt = None,
    model: Annotated[str | None, typer.Option("--model", help="LLM judge model (default $EVALUATOR_MODEL).")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint (default $EVALUATOR_BASE_URL).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Call the LLM judge even for a cached answer.")] = False,
    samples: Annotated[
        int, typer.Option("--samples", min=1, max=15, help="LLM judgments to take; report the median and spread.")
    ] = 1,
) -> None:
    """Grade one answer (the default command: `evaluate answer.txt`); `evaluate grade RESULT.json 72` gives your own."""
    from evaluator.bank.feedback import parse_grade
    from evaluator.inputs import read_text_file

    if human_grade is not None:
        _record_grade(Path(file), human_grade, note, user_bank)
        return
    mine = parse_grade(give_grade) if give_grade is not None else None
    if reference is not None and not (question or "").strip():
        raise InputError("--reference needs --question: the question the reference answers")
    answer = read_text_file(file)
    ref_text = _read_reference(reference) if reference is not None else None
    _check_output(output)
    _transcript_note(file, answer)
    # Only now the pipeline (FAISS, the models): bad input fails in a fraction of a second.
    from evaluator import Evaluator
    from evaluator.judges.openai_judge import JudgeOptions
    from evaluator.reports.answer import render_terminal, report_language, to_json, to_markdown

    options = JudgeOptions(model=model, base_url=base_url, cache=False if no_cache else None)
    ev = Evaluator(bank=bank, judge=judge, judge_options=options, samples=samples, user_bank=user_bank)
    _check_question_id(ev.bank.ids, question_id)
    result = ev.evaluate(answer, question=question, question_id=question_id, include_reference=show_reference,
                         reference=ref_text)  # fmt: skip
    picked = _pick_candidate(result) if result.question_id is None and file != "-" else None
    if picked is not None:
        result = ev.evaluate(answer, question_id=picked, include_reference=show_reference)
    lang = report_language(answer)
    if fmt is Format.json:
        _emit(to_json(result), output)
    elif fmt is Format.markdown or output is not None:
        _emit(to_markdown(result, lang), output)
    else:
        render_terminal(result, Console(), lang)
    if result.question_id is None:
        if result.match.candidates:
            typer.echo("grade against one of them with --question-id ID; `evaluate bank search WORDS` finds others",
                       err=True)  # fmt: skip
        if question:
            typer.echo("for a question the bank lacks: give its reference answer (--reference FILE), add it with "
                       "`evaluate bank add`, or configure an LLM endpoint to draft one", err=True)  # fmt: skip
        raise typer.Exit(NoConfidentMatch.exit_code)
    if mine is not None and result.evaluation_id is not None:
        _record_grade_of(ev.home, result.evaluation_id, mine, note, ev.user_bank)


def _read_reference(path: Path) -> str:
    from evaluator.bank.user import read_reference

    return read_reference(path)


def _record_grade(result_file: Path, value: str, note: str, user_bank: Path | None) -> None:
    """`evaluate grade RESULT.json 72`: checked whole before anything is written."""
    from evaluator.bank.feedback import parse_grade, record_from_result
    from evaluator.config import home_dir

    grade_value = parse_grade(value)
    home = home_dir()
    record = record_from_result(home, result_file)
    _record_grade_of(home, record.id, grade_value, note, user_bank)


def _record_grade_of(home: Path, eval_id: str, value: float, note: str, user_bank: Path | None) -> None:
    from evaluator.bank.feedback import add_grade, load_record, read_grades

    record = load_record(home, eval_id)
    root = user_bank or home / "bank"
    stored, new = add_grade(root, question_id=record.question_id, answer=record.answer, grade=value, source="cli",
                            note=note, eval_id=record.id, evaluator_score=record.score)  # fmt: skip
    mine = len({g.answer for g in read_grades(root) if g.question_id == record.question_id})
    what = "stored" if new else "already stored"
    typer.echo(f"grade {stored.grade:g} {what} for {record.question_id} (evaluation {record.id}); {mine} graded "
               "answer(s) of yours for this question, used from the next evaluation", err=True)  # fmt: skip


def _names_a_file(text: str) -> bool:
    """One token that is an existing file or ends like a text file name (a question has words or a '?')."""
    one = text.strip()
    if not one or any(ch.isspace() for ch in one) or "?" in one or "？" in one:
        return False
    if one.lower().endswith((".txt", ".md", ".markdown", ".json", ".jsonl")):
        return True
    try:
        return Path(one).is_file()
    except OSError:  # a name too long for the file system is a text, not a file
        return False


@app.command()
def match(
    text: Annotated[str, typer.Argument(help="A question (or, with --answer, an answer file).")],
    answer: Annotated[bool, typer.Option("--answer", help="TEXT is an answer file; match by answer.")] = False,
    bank: BankOpt = None,
) -> None:
    """Show which bank questions a question text (or an answer) matches."""
    from evaluator import Evaluator
    from evaluator.inputs import read_text_file
    from evaluator.reports.answer import candidates_lines

    if not answer and _names_a_file(text):
        if not Path(text).is_file():
            raise InputError(f"{text}: file not found (to match a question text that looks like a file name, "
                             "add a space or a question mark)")  # fmt: skip
        answer = True  # a file name is never meant as a question text: match the answer inside it
        typer.echo(f"{text} is a file: matching the answer in it (as --answer)", err=True)
    ev = Evaluator(bank=bank, judge="offline")
    m = ev.match(answer=read_text_file(text)) if answer else ev.match(question=text)
    typer.echo(f"confident: {m.confident} (margin {m.margin:.3f})")
    for line in candidates_lines(m):
        typer.echo("  " + line)
    if not m.confident:
        raise typer.Exit(NoConfidentMatch.exit_code)


@bank_app.command("check")
def bank_check(
    bank: BankOpt = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Quality rules warn instead of failing.")] = False,
    judge_checks: Annotated[
        bool,
        typer.Option("--judge/--no-judge", help="Also run the offline judge over references and anchors (minutes)."),
    ] = False,
) -> None:
    """Validate every rubric and reference answer, the seed coverage list, and (with the offline judge)
    that no correct text is reported as a common error, which correct sentences the judge misreads, and
    which anchors are graded far from the coverage the judge finds without a reader's verdict."""
    from evaluator.bank.check import check_bank

    report = check_bank(bank, strict=not lenient)
    if judge_checks and not report.problems:
        from evaluator import Evaluator
        from evaluator.bank.anchor_review import ANCHOR_REVIEW_FILE
        from evaluator.bank.audit import COVERAGE_GAP_MAX, audit_bank

        ev = Evaluator(bank=bank, judge="offline")
        audit = audit_bank(ev)
        rubrics = (ev.bank.root or Path(".")) / "rubrics"
        report.problems += [f"{rubrics / a.question_id}.yaml: {a.describe()}" for a in audit.common_error_hits]
        report.notes += [f"warning: {rubrics / a.question_id}.yaml: {a.describe()}" for a in audit.misreadings]
        report.notes += [
            f"warning: {rubrics / g.question_id}.yaml: {g.describe()} (not read yet: see {ANCHOR_REVIEW_FILE})"
            for g in audit.unread_gaps
        ]
        read = [g for g in audit.gaps if g.review is not None]
        report.notes.append(
            f"judge checks: {audit.texts_checked} correct texts, {len(audit.misreadings)} sentence(s) of them "
            f"misread as a wrong claim; {audit.anchors_checked} anchors, {len(audit.gaps)} graded more than "
            f"{COVERAGE_GAP_MAX:.0f} points from their judged coverage ({len(read)} read and kept or re-graded)"
        )
    for line in report.problems:
        typer.echo(line, err=True)
    for line in report.notes:
        typer.echo(line)
    if report.problems:
        typer.echo(f"bank check: {len(report.problems)} problem(s)", err=True)
        raise typer.Exit(BankError.exit_code)
    typer.echo(f"bank check: ok ({report.n_questions} questions)")


@bank_app.command("list")
def bank_list(
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic (see the list without it).")] = None,
    bank: BankOpt = None,
    user_bank: UserBankOpt = None,
) -> None:
    """Print every question id with its question (grade against one with --question-id ID); yours are marked."""
    from evaluator.bank.loader import QuestionBank
    from evaluator.bank.user import default_user_bank, with_user_bank
    from evaluator.config import default_bank_dir

    merged = with_user_bank(QuestionBank.load(Path(bank or default_bank_dir())), user_bank or default_user_bank())
    topics = sorted({q.topic for q in merged})
    if topic is not None and topic not in topics:
        raise InputError(f"--topic {topic}: no such topic; topics: {', '.join(topics)}")
    marks = {"user": "\t[yours]", "user-override": "\t[yours, replaces the bundled entry]"}
    for q in merged:
        if topic is None or q.topic == topic:
            typer.echo(f"{q.id}\t{q.topic}\t{q.question}{marks.get(merged.origin(q.id), '')}")


@bank_app.command("add")
def bank_add(
    question: Annotated[str, typer.Option("--question", "-q", help="The question, as you ask it.")],
    reference: Annotated[Path, typer.Option("--reference", help="Reference answer file (text or Markdown).")],
    rubric: Annotated[
        Path | None, typer.Option("--rubric", help="Rubric YAML (criteria, ...); default: derived from the reference.")
    ] = None,
    qid: Annotated[str | None, typer.Option("--id", help="Entry id, kebab-case (default: user-<hash>).")] = None,
    topic: Annotated[str, typer.Option("--topic", help="Topic (see `evaluate bank list`).")] = "open-questions",
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another phrasing (repeatable).")] = None,
    override: Annotated[bool, typer.Option("--override", help="Replace the bundled entry with this id.")] = False,
    bank: BankOpt = None,
    user_bank: UserBankOpt = None,
) -> None:
    """Add your own question to your bank (never to the bundled one); matching and grading use it at once."""
    from evaluator.bank.loader import QuestionBank
    from evaluator.bank.user import add_entry, default_user_bank, new_id, read_reference, read_rubric
    from evaluator.config import default_bank_dir

    ref_text = read_reference(reference)
    root = user_bank or default_user_bank()
    base = QuestionBank.load(Path(bank or default_bank_dir()))
    entry_id = qid or new_id(question, set(base.ids))
    rub = read_rubric(rubric, entry_id) if rubric is not None else None
    q, origin = add_entry(base, root, question=question, reference=ref_text, qid=entry_id, rubric=rub, topic=topic,
                          aliases=tuple(alias or ()), override=override)  # fmt: skip
    how = "its rubric derived from the reference" if q.rubric.auto_derived else "with your rubric"
    note = " (replaces the bundled entry with this id)" if origin == "user-override" else ""
    typer.echo(f"added {q.id}{note} to {root}, {how} ({len(q.rubric.criteria)} criteria)")


@bank_app.command("export")
def bank_export(
    dest: Annotated[Path, typer.Argument(help="A new directory to write your bank into.")],
    user_bank: UserBankOpt = None,
) -> None:
    """Write your bank (questions and grades) as a directory another person can load with --user-bank."""
    from evaluator.bank.user import default_user_bank, export_bank

    n = export_bank(user_bank or default_user_bank(), dest)
    typer.echo(f"exported {n} question(s) and your grades to {dest} (load with --user-bank {dest})")


@bank_app.command("search")
def bank_search(
    text: Annotated[str, typer.Argument(help="Words of the question, in any language.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=50, help="How many to show.")] = 10,
    bank: BankOpt = None,
    user_bank: UserBankOpt = None,
) -> None:
    """Print the bank questions closest to TEXT, best first, with their ids."""
    from evaluator import Evaluator

    if not text.strip():
        raise InputError("bank search needs some words to search for")
    ev = Evaluator(bank=bank, judge="offline", user_bank=user_bank)
    for c in ev.match(question=text, k=limit).candidates:
        typer.echo(f"{c.id}\t{c.question}")


def _pick_candidate(result: Evaluation) -> str | None:
    """On a terminal, let the user pick one of a refusal's candidates; None when not interactive."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or not result.match.candidates:
        return None
    typer.echo("没有足够把握确定是哪道题。请选择题号（回车放弃）/ Pick the question (Enter to skip):", err=True)
    for n, c in enumerate(result.match.candidates, 1):
        typer.echo(f"  {n}. {c.question}  [{c.id}]", err=True)
    choice = typer.prompt("#", default="", show_default=False, err=True).strip()
    if choice.isdigit() and 1 <= int(choice) <= len(result.match.candidates):
        return result.match.candidates[int(choice) - 1].id
    return None


@app.command()
def calibrate(
    bank: BankOpt = None,
    write: Annotated[bool, typer.Option("--write/--dry-run", help="Write the fitted calibration.")] = True,
    version: Annotated[str | None, typer.Option("--version-tag", help="Version string to record.")] = None,
    user: Annotated[bool, typer.Option("--user", help="Refit the blend on your own graded answers instead.")] = False,
    user_bank: UserBankOpt = None,
    shipped: Annotated[
        bool, typer.Option("--shipped", help="Write the package's evaluator/calibration.json (maintainers).")
    ] = False,
    refit_match: Annotated[
        bool, typer.Option("--refit-match", help="Also refit the match thresholds (kept as they are by default).")
    ] = False,
) -> None:
    """Fit α, lo, hi, the anchor weight and the offline judge's thresholds on the calibration part.

    The result goes to your own directory (used from then on, like `--user`'s) unless --shipped."""
    from datetime import date

    from evaluator import Evaluator

    if user:
        _calibrate_user(bank, user_bank, write, version or f"{date.today().isoformat()}.user")
        return
    from evaluator.calibration.fitting import collect_samples, evaluate_params, fit, fit_match
    from evaluator.calibration.labelled import load_calibration_sets
    from evaluator.calibration.params import load_calibration, save_calibration
    from evaluator.calibration.user import save_user_calibration

    # The user's entries and grades are not fitting data; the shipped calibration gives the "before"
    # figures and the match thresholds kept.
    ev = Evaluator(bank=_shipped_bank(bank), judge="offline", calibration=load_calibration())
    labelled = load_calibration_sets(ev.bank.root)
    samples = collect_samples(ev, [a for a in labelled if a.question_id in ev.bank])
    # Labelled answers (eval_data) are what real answers look like; the bank's anchors are already
    # the judge's neighbours, so they are fitting data only for a bank without labelled answers.
    samples = [s for s in samples if s.exclude_anchor is None] or samples
    test = [s for s in samples if s.test]
    before = evaluate_params(test, ev.calibration)
    tag = version or f"{date.today().isoformat()}.1"
    fitted = fit(samples, ev.calibration, tag)
    if refit_match:
        match_params, match_metrics = fit_match(ev, fitted.match)
    else:  # the match thresholds are fitted with the question matcher (scripts/fit_question_match.py)
        match_params = ev.calibration.match
        match_metrics = {k: v for k, v in ev.calibration.metrics.items() if k.endswith("match_balanced_accuracy")}
    after = evaluate_params(test, fitted)
    train_metrics = evaluate_params([s for s in samples if not s.test], fitted)
    metrics = {f"test_{k}": v for k, v in after.items()} | {f"calibration_{k}": v for k, v in train_metrics.items()}
    fitted = fitted.model_copy(update={"match": match_params, "metrics": metrics | match_metrics})
    typer.echo(f"samples: {len(samples) - len(test)} calibration, {len(test)} test")
    typer.echo(f"test part before: {before}")
    typer.echo(f"test part after:  {after}")
    typer.echo(f"match: {match_params.model_dump()} {match_metrics}")
    typer.echo(
        f"fitted: alpha={fitted.alpha} lo={fitted.lo} hi={fitted.hi} anchor_weight={fitted.anchor_weight} "
        f"(foreign-language answers: {fitted.anchor_weight_foreign}) "
        f"offline={fitted.offline.model_dump()}"
    )
    if write and shipped:
        save_calibration(fitted)
        typer.echo("wrote evaluator/calibration.json")
    elif write:
        path = save_user_calibration(user_bank or ev.home / "bank", fitted)
        typer.echo(f"wrote {path} (used from now on; delete it to go back to the shipped calibration)")


def _shipped_bank(bank: Path | None) -> QuestionBank:
    """The bank without the user's: a bank object given whole is not extended by the user bank."""
    from evaluator.bank.loader import QuestionBank
    from evaluator.config import default_bank_dir

    return QuestionBank.load(Path(bank or default_bank_dir()))


def _calibrate_user(bank: Path | None, user_bank: Path | None, write: bool, version: str) -> None:
    from evaluator import Evaluator
    from evaluator.calibration.params import load_calibration
    from evaluator.calibration.user import MIN_USER_GRADES, calibrate_user, save_user_calibration

    ev = Evaluator(bank=bank, judge="offline", user_bank=user_bank, calibration=load_calibration())
    fitted, n, before, after = calibrate_user(ev, version)
    if fitted is None:
        typer.echo(
            f"calibrate --user: {n} graded answer(s) of yours; at least {MIN_USER_GRADES} are needed to "
            "refit the blend (the shipped one stays); `evaluate grade RESULT.json GRADE` adds one",
            err=False,
        )
        return
    typer.echo(f"your {n} graded answers (each left out of its own anchor estimate):")
    typer.echo(f"  shipped blend: {before}")
    typer.echo(f"  refitted:      {after}")
    if write:
        path = save_user_calibration(ev.user_bank or ev.home / "bank", fitted)
        typer.echo(f"wrote {path} (used for your bank from now on; delete it to go back to the shipped blend)")


class TranscriptFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    html = "html"


@app.command("transcript")
def transcript_cmd(
    file: Annotated[str, typer.Argument(help="Transcript: Markdown/text with speaker turns, JSON, JSONL; - = stdin.")],
    fmt: Annotated[TranscriptFormat, typer.Option("--format", "-f")] = TranscriptFormat.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    results: Annotated[
        Path | None, typer.Option("--results", help="JSONL file each finished turn is appended to (default: cache).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Reuse finished turns; stale ones are re-graded.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64, help="Turns judged at once.")] = 4,
    bank: BankOpt = None,
    judge: JudgeOpt = None,
    model: Annotated[str | None, typer.Option("--model", help="LLM judge model (default $EVALUATOR_MODEL).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Call the LLM judge even for cached answers.")] = False,
    user_bank: UserBankOpt = None,
) -> None:
    """Grade every answer of a mock-interview transcript (also: `evaluate FILE --transcript`)."""
    from evaluator import Evaluator
    from evaluator.judges.openai_judge import JudgeOptions
    from evaluator.reports import transcript as tr
    from evaluator.reports.answer import report_language
    from evaluator.transcripts.batch import BatchInterrupted, default_results_path, run_turns
    from evaluator.transcripts.parse import load_transcript

    name, turns = load_transcript(file)  # bad input fails before the model loads
    _check_output(output)
    # The LLM judge keeps as many calls in flight as turns are judged at once.
    options = JudgeOptions(model=model, base_url=base_url, cache=False if no_cache else None, concurrency=concurrency)
    ev = Evaluator(bank=bank, judge=judge, judge_options=options, user_bank=user_bank)
    path = results or default_results_path(ev.home, name, turns)
    interrupted = False
    with tr.ProgressBar(Console(stderr=True), report_language(*[t.answer for t in turns])) as bar:
        try:
            report = run_turns(ev, turns, source=name, results=path, resume=resume, overwrite=results is None,
                               concurrency=concurrency, observer=bar)  # fmt: skip
        except BatchInterrupted as exc:
            report, interrupted = exc.report, True
    if fmt is TranscriptFormat.json:
        _emit(tr.to_json(report), output)
    elif fmt is TranscriptFormat.html:
        _emit(tr.to_html(report), output)
    elif fmt is TranscriptFormat.markdown or output is not None:
        _emit(tr.to_markdown(report), output)
    else:
        tr.render_terminal(report, Console())
    s = report.summary
    if resume:
        note = f"resume: {report.reused} turn(s) reused from {path}, {report.regraded} re-graded"
        if report.regraded:
            note += f" (their stored results no longer match: {'; '.join(report.regraded_because)})"
        typer.echo(note, err=True)
    if interrupted:
        typer.echo(f"interrupted: {len(report.turns)} of {s.total} turns finished, saved in {path}; "
                   "run again with --resume to continue", err=True)  # fmt: skip
        raise typer.Exit(130)
    if s.failed:
        typer.echo(f"{s.failed} turn(s) failed (see the report); run again with --resume to retry them", err=True)
        raise typer.Exit(1)


@app.command()
def benchmark(
    file: Annotated[Path, typer.Argument(help="Labelled answers: eval_data JSONL or an ADS-format JSONL.")] = Path(
        "eval_data/answers.jsonl"
    ),
    anchors: Annotated[
        Path | None, typer.Option("--anchors", help="ADS file whose graded answers are the anchors.")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="k for cross-validation on a single ADS file.")] = 5,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.terminal,
    bank: BankOpt = None,
) -> None:
    """Agreement with human grades (Pearson, Spearman, QWK, RMSE) beside baselines from the same run."""
    import json as _json

    from evaluator import Evaluator
    from evaluator.calibration.benchmark import benchmark_kfold, benchmark_split
    from evaluator.calibration.labelled import ads_answers, ads_bank, is_ads, load_ads, load_labelled
    from evaluator.encoders.embedder import Embedder

    if is_ads(file):
        test_rows = load_ads(file)
        if anchors is not None:
            train_rows = load_ads(anchors)
            train, test = ads_answers(train_rows, "train"), ads_answers(test_rows, "test")
            ads = ads_bank(train_rows + test_rows, train)
            result = benchmark_split(f"{file.name} (anchors: {anchors.name})", Evaluator(bank=ads, judge="offline"),
                                     train, test, refit=True)  # fmt: skip
        else:
            answers = ads_answers(test_rows, "row")
            shared = Embedder()  # one model and one set of vectors across the folds
            result = benchmark_kfold(
                f"{file.name}", answers, lambda rest: ads_bank(test_rows, rest),
                lambda b: Evaluator(bank=b, judge="offline", embedder=shared), k=folds,
            )  # fmt: skip
    else:
        labelled = load_labelled(file)
        ev = Evaluator(bank=_shipped_bank(bank), judge="offline")  # measures the package, not the user's grades
        calib = [a for a in labelled if a.split == "calibration"]
        test = [a for a in labelled if a.split == "test"]
        result = benchmark_split(f"{file.name} (test part)", ev, calib, test)
    if fmt is Format.json:
        typer.echo(_json.dumps(result.__dict__, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{result.name}: {result.n} answers graded, {result.unscored} unscored")
    for note in result.notes:
        typer.echo(f"  {note}")
    typer.echo(f"{'system':40s} {'pearson':>8s} {'spearman':>8s} {'qwk':>8s} {'rmse':>8s}")
    for name, m in result.systems.items():
        typer.echo(f"{name:40s} {m['pearson']:8.3f} {m['spearman']:8.3f} {m['qwk']:8.3f} {m['rmse']:8.2f}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Evaluations run at once.")] = 8,
    bank: BankOpt = None,
    judge: JudgeOpt = None,
    user_bank: UserBankOpt = None,
) -> None:
    """Serve the HTTP API (/v1, docs at /docs) and the practice page (/). Token: $EVALUATOR_API_TOKEN."""
    from evaluator.service.app import serve as run_service

    run_service(host, port, bank=bank, judge=judge, workers=workers, user_bank=user_bank)


def _usage_line(exc: typer.TyperException) -> str:
    """A usage error as one line: the problem and where to look, never the usage block or a traceback."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "evaluate"
    if type(exc).__name__ == "NoArgsIsHelpError":  # bare `evaluate` or `evaluate bank`: help went to stdout
        what = "an answer file or a command" if command == "evaluate" else "a command"
        return f"error: {command} needs {what}; see `{command} --help`"
    # pydantic-style coercion messages start with "Value error, "; the user never wrote pydantic.
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    return f"error: {message} (see `{command} --help`)"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if "--transcript" in args and args[0] not in SUBCOMMANDS:
        args = ["transcript", *[a for a in args if a != "--transcript"]]  # `evaluate FILE --transcript`
    if args and args[0] not in SUBCOMMANDS and (args[0] == "-" or not args[0].startswith("-")):
        args.insert(0, "grade")  # `evaluate answer.txt` is `evaluate grade answer.txt`
    try:
        # a command's typer.Exit(n) comes back as n here
        code = app(args, prog_name="evaluate", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except EvaluatorError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument, bad value
        if debug:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
        typer.echo(_usage_line(exc), err=True)
        sys.exit(InputError.exit_code)  # a usage error is an input error
    except Exception as exc:  # anything unexpected: one line, no traceback
        if debug:
            raise
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""`evaluate` command line: parse options, call the library, render, map errors to exit codes."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evaluator.errors import EvaluatorError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Grade answers to LLM interview questions.")
bank_app = typer.Typer(no_args_is_help=True, help="Inspect and validate the question bank.")
app.add_typer(bank_app, name="bank")

SUBCOMMANDS = {"grade", "bank", "match", "--help", "-h", "--version"}
NO_CONFIDENT_MATCH = 3


class Format(str, Enum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"


BankOpt = Annotated[Path | None, typer.Option("--bank", help="Bank directory (rubrics/ + reference_answers/).")]
JudgeOpt = Annotated[str | None, typer.Option("--judge", help="auto | offline | openai")]


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EvaluatorError(f"{output}: cannot write ({exc.strerror})") from exc


@app.command()
def grade(
    file: Annotated[str, typer.Argument(help="Answer file (UTF-8 text), or - for stdin.")],
    question: Annotated[str | None, typer.Option("--question", "-q", help="The question asked.")] = None,
    question_id: Annotated[str | None, typer.Option("--question-id", help="Pin a bank question id.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    show_reference: Annotated[bool, typer.Option("--show-reference", help="Include the reference answer.")] = False,
    bank: BankOpt = None,
    judge: JudgeOpt = None,
) -> None:
    """Grade one answer (the default command: `evaluate answer.txt`)."""
    from evaluator import Evaluator
    from evaluator.inputs import read_text_file
    from evaluator.reports import render_terminal, to_json, to_markdown

    answer = read_text_file(file)
    ev = Evaluator(bank=bank, judge=judge)
    result = ev.evaluate(answer, question=question, question_id=question_id, include_reference=show_reference)
    if fmt is Format.json:
        _emit(to_json(result), output)
    elif fmt is Format.markdown:
        _emit(to_markdown(result), output)
    elif output is not None:
        _emit(to_markdown(result), output)
    else:
        render_terminal(result, Console())
    if result.question_id is None:
        raise typer.Exit(NO_CONFIDENT_MATCH)


@app.command()
def match(
    text: Annotated[str, typer.Argument(help="A question (or, with --answer, an answer file).")],
    answer: Annotated[bool, typer.Option("--answer", help="TEXT is an answer file; match by answer.")] = False,
    bank: BankOpt = None,
) -> None:
    """Show which bank questions a question text (or an answer) matches."""
    from evaluator import Evaluator
    from evaluator.inputs import read_text_file
    from evaluator.reports import candidates_lines

    ev = Evaluator(bank=bank, judge="offline")
    m = ev.match(answer=read_text_file(text)) if answer else ev.match(question=text)
    typer.echo(f"confident: {m.confident} (margin {m.margin:.3f})")
    for line in candidates_lines(m):
        typer.echo("  " + line)
    if not m.confident:
        raise typer.Exit(NO_CONFIDENT_MATCH)


@bank_app.command("check")
def bank_check(
    bank: BankOpt = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Quality rules warn instead of failing.")] = False,
) -> None:
    """Validate every rubric and reference answer, and the seed coverage list."""
    from evaluator.bank_check import check_bank

    report = check_bank(bank, strict=not lenient)
    for line in report.problems:
        typer.echo(line, err=True)
    for line in report.notes:
        typer.echo(line)
    if report.problems:
        typer.echo(f"bank check: {len(report.problems)} problem(s)", err=True)
        raise typer.Exit(4)
    typer.echo(f"bank check: ok ({report.n_questions} questions)")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if args and args[0] not in SUBCOMMANDS and not args[0].startswith("-"):
        args.insert(0, "grade")  # `evaluate answer.txt` is `evaluate grade answer.txt`
    try:
        app(args, standalone_mode=False)
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
    except Exception as exc:  # click usage errors and anything unexpected: one line, no traceback
        if debug:
            raise
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

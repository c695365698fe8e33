"""Renderers: terminal (rich), JSON, Markdown. They format; they never compute scores."""

from __future__ import annotations

import json

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .models import Evaluation, Level, Match

LEVEL_MARK = {Level.met: "✔ met", Level.partial: "◐ partial", Level.missing: "✘ missing"}
LEVEL_STYLE = {Level.met: "green", Level.partial: "yellow", Level.missing: "red"}


def to_json(ev: Evaluation) -> str:
    return json.dumps(ev.model_dump(mode="json"), ensure_ascii=False, indent=2)


def _parts_line(ev: Evaluation) -> str:
    p = ev.parts
    if p is None:
        return ""
    lexical = f" + {p.lexical_weight:.2f} × n-gram {p.lexical:.3f}" if p.lexical_weight else ""
    line = (
        f"rubric {p.rubric:.1f} × α={p.alpha:.2f} + similarity {p.similarity:.1f} × {1 - p.alpha:.2f} "
        f"(cosine {p.cosine:.3f}{lexical}, lo={p.lo:.2f}, hi={p.hi:.2f})"
    )
    if p.anchor is not None and p.anchor_weight > 0:
        line += f", blended with anchor grade {p.anchor:.1f} × β={p.anchor_weight:.2f}"
    if p.error_penalty:
        line += f"; wrong-claim penalty −{p.error_penalty:.0f} on the final score"
    return line


def judge_meta_line(ev: Evaluation) -> str:
    """Model, prompt version, tokens and cache status of an LLM judge; empty for the offline judge."""
    m = ev.judge_meta
    if ev.judge == "offline" or m.model is None:
        return ""
    parts = [f"model {m.model}"]
    if m.base_url:
        parts.append(f"at {m.base_url}")
    if m.prompt_version:
        parts.append(f"prompt {m.prompt_version}")
    if m.cached:
        parts.append("cache hit (no call)")
    else:
        u = m.usage
        calls = f"{u.calls} call" + ("s" if u.calls != 1 else "")
        parts.append(f"tokens {u.input_tokens} in / {u.output_tokens} out ({calls})")
        parts.append("cache miss")
    if m.samples > 1:
        spread = f", spread {m.score_spread:.1f}" if m.score_spread is not None else ""
        parts.append(f"median of {m.samples} samples{spread}")
    return " · ".join(parts)


def candidates_lines(match: Match) -> list[str]:
    return [f"{c.score:.3f} (cosine {c.cosine:.3f})  {c.id}  {c.question}" for c in match.candidates]


def render_terminal(ev: Evaluation, console: Console) -> None:
    if ev.question_id is None:
        console.print("[bold red]No confident match[/] — not graded, to avoid using the wrong rubric.")
        console.print("Closest questions (match score, id, question); pin one with --question-id:")
        for line in candidates_lines(ev.match):
            console.print("  " + line, markup=False)
        return
    header = Text()
    header.append(f"{ev.question}\n", style="bold")
    header.append(f"id {ev.question_id} · topic {ev.topic} · judge {ev.judge}", style="dim")
    if ev.match.by != "id" and ev.match.best is not None:
        header.append(f" · matched by {ev.match.by} (score {ev.match.best.score:.3f})", style="dim")
    if ev.auto_rubric:
        header.append(" · auto-derived rubric", style="dim")
    if judge_meta_line(ev):
        header.append(f"\njudge {judge_meta_line(ev)}", style="dim")
    if ev.score is None:
        console.print(Panel(Group(header, Text(f"\nUNSCORED: {ev.unscored_reason}", style="bold red"))))
        return
    score = Text(f"\nScore {ev.score:.0f}/100 ({ev.band})", style="bold cyan")
    console.print(Panel(Group(header, score, Text(_parts_line(ev), style="dim"))))
    table = Table(show_lines=False, expand=True)
    table.add_column("criterion", ratio=3)
    table.add_column("w", justify="right", width=2)
    table.add_column("verdict", width=10)
    table.add_column("evidence from the answer", ratio=3)
    for c in ev.criteria:
        evidence = c.evidence or ("(quote not found in the answer)" if not c.evidence_verified else "")
        table.add_row(c.description, str(c.weight), Text(LEVEL_MARK[c.level], style=LEVEL_STYLE[c.level]), evidence)
    console.print(table)
    if ev.errors:
        console.print("[bold red]Wrong or doubtful claims:[/]")
        for e in ev.errors:
            console.print(f"  • {e}", markup=False)
    if ev.missing:
        console.print("[bold]Missing:[/]")
        for m in ev.missing:
            console.print(f"  • {m}", markup=False)
    if ev.feedback:
        console.print("[bold]Advice:[/] ", end="")
        console.print(ev.feedback, markup=False)
    if ev.reference:
        console.print(Panel(ev.reference, title="reference answer"))


def to_markdown(ev: Evaluation) -> str:
    if ev.question_id is None:
        lines = ["# No confident match", "", "Not graded. Closest questions:", ""]
        lines += [f"- `{c.id}` {c.question} (match score {c.score:.3f})" for c in ev.match.candidates]
        return "\n".join(lines) + "\n"
    lines = [f"# {ev.question}", "", f"- id: `{ev.question_id}` · topic: {ev.topic} · judge: {ev.judge}"]
    if judge_meta_line(ev):
        lines.append(f"- judge {judge_meta_line(ev)}")
    if ev.score is None:
        lines += ["", f"**Unscored**: {ev.unscored_reason}"]
        return "\n".join(lines) + "\n"
    lines += [f"- **score: {ev.score:.0f}/100 ({ev.band})**", f"- {_parts_line(ev)}", ""]
    lines += ["| criterion | weight | verdict | evidence |", "|---|---|---|---|"]
    for c in ev.criteria:
        cell = c.evidence or ("(quote not found in the answer)" if not c.evidence_verified else "")
        cell = cell.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {c.description} | {c.weight} | {c.level.value} | {cell} |")
    if ev.errors:
        lines += ["", "## Wrong or doubtful claims", ""] + [f"- {e}" for e in ev.errors]
    if ev.missing:
        lines += ["", "## Missing", ""] + [f"- {m}" for m in ev.missing]
    if ev.feedback:
        lines += ["", "## Advice", "", ev.feedback]
    if ev.reference:
        lines += ["", "## Reference answer", "", ev.reference]
    return "\n".join(lines) + "\n"

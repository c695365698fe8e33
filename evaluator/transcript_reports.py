"""Renderers for a graded transcript: terminal (rich, with a live progress bar), JSON, Markdown, HTML.

They format; they never compute scores (the summary comes from evaluator.summary). The HTML report is
one self-contained file: inline CSS, inline SVG charts, no scripts, fonts or other external resources.
"""

from __future__ import annotations

import html
import json
from types import TracebackType

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .models import TopicScore, TranscriptReport, TurnResult
from .reports import to_markdown as evaluation_markdown

STATUS_LABEL = {
    "graded": "graded",
    "unscored": "unscored",
    "unmatched": "not in the bank",
    "unanswered": "no answer",
    "failed": "failed",
}
STATUS_STYLE = {"graded": "", "unscored": "yellow", "unmatched": "dim", "unanswered": "dim", "failed": "bold red"}
BAND_COLOR = {"excellent": "#1a7f37", "good": "#4c9a2a", "fair": "#bf8700", "weak": "#d1602a", "poor": "#cf222e"}


def _score_style(score: float | None) -> str:
    if score is None:
        return "dim"
    return "green" if score >= 70 else "yellow" if score >= 50 else "red"


def _color(score: float | None) -> str:
    if score is None:
        return "#8c959f"
    if score >= 85:
        return BAND_COLOR["excellent"]
    if score >= 70:
        return BAND_COLOR["good"]
    if score >= 50:
        return BAND_COLOR["fair"]
    if score >= 30:
        return BAND_COLOR["weak"]
    return BAND_COLOR["poor"]


def _short(text: str, n: int) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def _bank_id(r: TurnResult) -> str:
    if r.evaluation is not None and r.evaluation.question_id:
        return r.evaluation.question_id
    if r.status == "unanswered" and r.matched_by and r.candidates:
        return r.candidates[0].id
    return ""


def _score(r: TurnResult) -> float | None:
    return r.evaluation.score if r.evaluation is not None else None


def _status_note(r: TurnResult) -> str:
    if r.status == "failed":
        return r.error or "failed"
    if r.status == "unscored" and r.evaluation is not None:
        return r.evaluation.unscored_reason or ""
    if r.status == "unmatched":
        if r.error:
            return r.error
        if r.candidates:
            return f"closest: {r.candidates[0].id} ({r.candidates[0].cosine:.2f})"
    if r.matched_by and r.matched_by != "question" and r.status == "graded":
        return f"matched by {r.matched_by}"
    return ""


def to_json(report: TranscriptReport) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2)


# -- terminal --------------------------------------------------------------------------------------------


class ProgressBar:
    """A rich progress bar for the batch (a BatchObserver); silent when the console is not a terminal."""

    def __init__(self, console: Console):
        self.console = console
        self._progress = Progress(
            TextColumn("[bold]grading[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._progress.add_task("", total=None)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def started(self, total: int, reused: int) -> None:
        note = f"{reused} from the results file" if reused else ""
        self._progress.update(self._task, total=total, completed=reused, description=note)

    def finished(self, result: TurnResult) -> None:
        score = _score(result)
        last = f"#{result.turn.index} {_bank_id(result) or STATUS_LABEL[result.status]}"
        if score is not None:
            last += f" {score:.0f}"
        self._progress.update(self._task, advance=1, description=last)


def render_terminal(report: TranscriptReport, console: Console) -> None:
    s = report.summary
    table = Table(title=f"{report.source} · judge {report.judge}", expand=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("question", ratio=4)
    table.add_column("bank id", ratio=2)
    table.add_column("topic", ratio=1)
    table.add_column("score", justify="right", width=5)
    table.add_column("status", ratio=2)
    for r in report.turns:
        score = _score(r)
        question = ("↳ " if r.turn.follow_up_of else "") + _short(r.turn.question, 60)
        status = Text(STATUS_LABEL[r.status], style=STATUS_STYLE[r.status])
        note = _status_note(r)
        if note:
            status.append(f"\n{_short(note, 80)}", style="dim")
        table.add_row(
            str(r.turn.index), question, _bank_id(r), r.evaluation.topic or "" if r.evaluation else "",
            Text("—" if score is None else f"{score:.0f}", style=_score_style(score)), status,
        )  # fmt: skip
    console.print(table)
    head = Text()
    if s.overall is None:
        head.append("No graded turns", style="bold")
    else:
        head.append(f"Overall {s.overall:.0f}/100 ({s.band})", style=f"bold {_score_style(s.overall)}")
        head.append(f" over {s.graded} graded turn" + ("s" if s.graded != 1 else ""))
    head.append(f"\n{_counts_line(report)}", style="dim")
    if not report.complete:
        head.append(f"\nINTERRUPTED: {s.pending} turns not run", style="bold red")
    lines: list[Text] = [head]
    if s.topics:
        topics = Text()
        topics.append("\nBy topic\n", style="bold")
        width = 24
        for t in s.topics:
            filled = round(t.score / 100 * width)
            topics.append(f"  {t.topic:<22} ")
            topics.append("█" * filled, style=_score_style(t.score))
            topics.append("░" * (width - filled), style="dim")
            topics.append(f" {t.score:5.1f}  ({t.graded})\n")
        lines.append(topics)
    if s.strongest:
        lines.append(Text("Strongest: " + _areas(s.strongest), style="green"))
    if s.weakest:
        lines.append(Text("Weakest:   " + _areas(s.weakest), style="red"))
    if s.study_next:
        study = Text()
        study.append("\nStudy next\n", style="bold")
        for i, item in enumerate(s.study_next, start=1):
            study.append(f"  {i}. {item.criterion}", style="")
            study.append(f"\n     ({item.question_id}, turn {', '.join(map(str, item.turns))}, {item.level.value})\n",
                         style="dim")  # fmt: skip
        lines.append(study)
    body = Text("\n").join(lines)
    console.print(Panel(body, title="summary"))
    if report.results_path:
        console.print(f"results: {report.results_path}", style="dim", markup=False)


def _areas(topics: tuple[TopicScore, ...]) -> str:
    return ", ".join(f"{t.topic} ({t.score:.0f})" for t in topics)


def _counts_line(report: TranscriptReport) -> str:
    s = report.summary
    parts = [f"{s.total} turns", f"{s.graded} graded", f"{s.unmatched} not in the bank", f"{s.unanswered} unanswered",
             f"{s.unscored} unscored", f"{s.failed} failed"]  # fmt: skip
    if s.pending:
        parts.append(f"{s.pending} not run")
    return " · ".join(parts)


# -- Markdown ---------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: TranscriptReport) -> str:
    s = report.summary
    lines = [f"# Mock interview report: {report.source}", "", f"- judge: {report.judge}"]
    if s.overall is not None:
        lines.append(f"- **overall: {s.overall:.0f}/100 ({s.band})** over {s.graded} graded turns")
    lines.append(f"- {_counts_line(report)}")
    if not report.complete:
        lines.append(f"- **interrupted**: {s.pending} turns not run; continue with `--resume`")
    if s.topics:
        lines += ["", "## Scores by topic", "", "| topic | score | graded turns |", "|---|---:|---:|"]
        lines += [f"| {t.topic} | {t.score:.1f} | {t.graded} |" for t in s.topics]
    if s.strongest:
        lines += ["", f"**Strongest:** {_areas(s.strongest)}"]
    if s.weakest:
        lines += ["", f"**Weakest:** {_areas(s.weakest)}"]
    if s.study_next:
        lines += ["", "## Study next", ""]
        for i, item in enumerate(s.study_next, start=1):
            turns = ", ".join(map(str, item.turns))
            lines.append(f"{i}. {item.criterion} — `{item.question_id}` (turn {turns}, {item.level.value})")
    lines += ["", "## Turns", "", "| # | question | bank id | score | status |", "|---:|---|---|---:|---|"]
    for r in report.turns:
        score = _score(r)
        status = STATUS_LABEL[r.status] + (f": {_status_note(r)}" if _status_note(r) else "")
        lines.append(
            f"| {r.turn.index} | {_cell(_short(r.turn.question, 80))} | {_bank_id(r)} | "
            f"{'—' if score is None else f'{score:.0f}'} | {_cell(status)} |"
        )
    for r in report.turns:
        if r.status not in ("graded", "unscored") or r.evaluation is None:
            continue
        lines += ["", f"## Turn {r.turn.index}", "", f"> {_cell(r.turn.question)}", ""]
        detail = evaluation_markdown(r.evaluation)
        lines += ["#" + ln if ln.startswith("#") else ln for ln in detail.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------------------

_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;background:var(--soft);color:var(--fg);
font:15px/1.6 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 20px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 12px}h3{font-size:16px;margin:0}
.muted{color:var(--muted)}.card{background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:18px 20px}
.hero{display:flex;gap:28px;align-items:center;flex-wrap:wrap}
.big{font-size:54px;font-weight:700;line-height:1}.band{font-size:15px;font-weight:600;text-transform:uppercase}
.counts{display:flex;gap:10px;flex-wrap:wrap;margin-top:10px}
.pill{border:1px solid var(--line);border-radius:999px;padding:2px 10px;font-size:13px;background:var(--soft)}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:760px){.grid{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;background:var(--bg)}
th,td{border-bottom:1px solid var(--line);padding:7px 9px;text-align:left;vertical-align:top;font-size:14px}
th{background:var(--soft);font-weight:600}td.num{text-align:right;white-space:nowrap}
.bar{height:8px;border-radius:4px;background:#eaeef2;min-width:60px}.bar>span{display:block;height:8px;border-radius:4px}
.tag{font-size:12px;border-radius:4px;padding:1px 6px;white-space:nowrap}
.graded{background:#dafbe1}.unscored{background:#fff8c5}.unmatched,.unanswered{background:#eaeef2}
.failed{background:#ffebe9;color:#cf222e}
details{background:var(--bg);border:1px solid var(--line);border-radius:10px;margin:10px 0;padding:0 16px}
summary{cursor:pointer;padding:12px 0;display:flex;gap:12px;align-items:baseline}
summary::-webkit-details-marker{display:none}.score{font-weight:700;min-width:2.5em}
.answer{white-space:pre-wrap;background:var(--soft);border-radius:8px;padding:10px 12px;font-size:14px}
.met{color:#1a7f37}.partial{color:#9a6700}.missing{color:#cf222e}
ol.study li{margin:6px 0}.warn{background:#ffebe9;border-color:#ff8182}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def topic_chart_svg(topics: tuple[TopicScore, ...]) -> str:
    """A horizontal bar chart of topic scores (0-100), inline SVG."""
    if not topics:
        return '<p class="muted">No graded turns.</p>'
    label_w, bar_w, row_h, pad = 190, 420, 30, 8
    height = pad * 2 + row_h * len(topics) + 20
    width = label_w + bar_w + 70
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="score by topic" style="max-width:{width}px">'
    ]
    for tick in (0, 50, 70, 85, 100):
        x = label_w + bar_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - 20}" stroke="#d0d7de" '
                     f'stroke-dasharray="3 3"/>')  # fmt: skip
        parts.append(f'<text x="{x:.1f}" y="{height - 5}" font-size="11" fill="#656d76" '
                     f'text-anchor="middle">{tick}</text>')  # fmt: skip
    for i, t in enumerate(topics):
        y = pad + i * row_h
        w = bar_w * max(0.0, min(100.0, t.score)) / 100
        parts.append(f'<text x="{label_w - 8}" y="{y + 19}" font-size="13" text-anchor="end" '
                     f'fill="#1f2328">{_e(t.topic)}</text>')  # fmt: skip
        parts.append(f'<rect x="{label_w}" y="{y + 6}" width="{w:.1f}" height="17" rx="3" fill="{_color(t.score)}">'
                     f"<title>{_e(t.topic)}: {t.score:.1f} ({t.graded} graded)</title></rect>")  # fmt: skip
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" font-size="12" fill="#1f2328">'
                     f"{t.score:.0f} · {t.graded}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def turn_chart_svg(report: TranscriptReport) -> str:
    """One column per turn: its score, or a grey stub when it was not graded."""
    turns = report.turns
    if not turns:
        return ""
    col, gap, h, top = 22, 6, 120, 10
    width = max(200, len(turns) * (col + gap) + 40)
    parts = [f'<svg viewBox="0 0 {width} {h + 36}" width="100%" role="img" '
             f'aria-label="score per turn" style="max-width:{width}px">']  # fmt: skip
    for tick in (0, 50, 100):
        y = top + h - h * tick / 100
        parts.append(f'<line x1="30" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#d0d7de" stroke-dasharray="3 3"/>')
        parts.append(f'<text x="24" y="{y + 4:.1f}" font-size="10" fill="#656d76" text-anchor="end">{tick}</text>')
    for i, r in enumerate(turns):
        x = 36 + i * (col + gap)
        score = _score(r)
        bh = h * (score if score is not None else 4) / 100
        label = f"#{r.turn.index} {_bank_id(r) or STATUS_LABEL[r.status]}"
        label += f": {score:.0f}" if score is not None else ""
        parts.append(f'<rect x="{x}" y="{top + h - bh:.1f}" width="{col}" height="{bh:.1f}" rx="2" '
                     f'fill="{_color(score)}"><title>{_e(label)}</title></rect>')  # fmt: skip
        parts.append(f'<text x="{x + col / 2}" y="{top + h + 14}" font-size="10" fill="#656d76" '
                     f'text-anchor="middle">{r.turn.index}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _turn_html(r: TurnResult) -> str:
    ev = r.evaluation
    score = _score(r)
    head = (
        f'<summary><span class="score" style="color:{_color(score)}">{"—" if score is None else f"{score:.0f}"}</span>'
        f"<span><b>#{r.turn.index}</b> {'↳ ' if r.turn.follow_up_of else ''}{_e(r.turn.question)}</span>"
        f'<span class="tag {r.status}">{_e(STATUS_LABEL[r.status])}</span></summary>'
    )
    body = []
    meta = []
    if ev is not None and ev.question_id:
        meta.append(f"bank: <code>{_e(ev.question_id)}</code> · {_e(ev.question or '')} · topic {_e(ev.topic or '')}")
    note = _status_note(r)
    if note:
        meta.append(_e(note))
    if r.status == "unmatched" and r.candidates:
        meta.append("closest: " + "; ".join(f"<code>{_e(c.id)}</code> {c.cosine:.2f}" for c in r.candidates[:3]))
    if meta:
        body.append('<p class="muted">' + "<br>".join(meta) + "</p>")
    if r.turn.answer:
        body.append(f'<div class="answer">{_e(r.turn.answer)}</div>')
    if ev is not None and ev.parts is not None:
        p = ev.parts
        body.append(
            f'<p class="muted">rubric {p.rubric:.0f} × α={p.alpha:.2f} + similarity {p.similarity:.0f} × '
            f"{1 - p.alpha:.2f}" + (f", anchor grade {p.anchor:.0f} × β={p.anchor_weight:.2f}" if p.anchor else "")
            + (f"; wrong-claim penalty −{p.error_penalty:.0f}" if p.error_penalty else "") + "</p>"
        )  # fmt: skip
    if ev is not None and ev.criteria:
        rows = "".join(
            f"<tr><td>{_e(c.description)}</td><td class='num'>{c.weight}</td>"
            f"<td class='{c.level.value}'>{c.level.value}</td><td>{_e(c.evidence)}</td></tr>"
            for c in ev.criteria
        )
        body.append(f"<table><tr><th>criterion</th><th>w</th><th>verdict</th><th>evidence</th></tr>{rows}</table>")
    if ev is not None and ev.errors:
        body.append("<p><b>Wrong or doubtful claims</b></p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in ev.errors)
                    + "</ul>")  # fmt: skip
    if ev is not None and ev.feedback:
        body.append(f"<p><b>Advice</b> {_e(ev.feedback)}</p>")
    return f"<details>{head}{''.join(body)}</details>"


def to_html(report: TranscriptReport) -> str:
    s = report.summary
    overall = "—" if s.overall is None else f"{s.overall:.0f}"
    counts = [("turns", s.total), ("graded", s.graded), ("not in the bank", s.unmatched),
              ("unanswered", s.unanswered), ("unscored", s.unscored), ("failed", s.failed)]  # fmt: skip
    if s.pending:
        counts.append(("not run", s.pending))
    pills = "".join(f'<span class="pill">{_e(n)} {_e(label)}</span>' for label, n in counts)
    warn = (
        f'<div class="card warn" style="margin-top:12px">Interrupted: {s.pending} turns were not run. '
        "Continue with <code>--resume</code>.</div>"
        if not report.complete
        else ""
    )
    areas = ""
    if s.strongest:
        areas += f"<p><b>Strongest:</b> {_e(_areas(s.strongest))}</p>"
    if s.weakest:
        areas += f"<p><b>Weakest:</b> {_e(_areas(s.weakest))}</p>"
    study = "".join(
        f"<li>{_e(i.criterion)}<br><span class='muted'><code>{_e(i.question_id)}</code> · "
        f"turn {_e(', '.join(map(str, i.turns)))} · {_e(i.level.value)}</span></li>"
        for i in s.study_next
    )
    study_html = f'<ol class="study">{study}</ol>' if study else '<p class="muted">Nothing missing.</p>'
    rows = "".join(
        f"<tr><td class='num'>{r.turn.index}</td><td>{_e(_short(r.turn.question, 70))}</td>"
        f"<td><code>{_e(_bank_id(r))}</code></td>"
        f"<td class='num'>{'—' if _score(r) is None else f'{_score(r):.0f}'}</td>"
        f"<td><div class='bar'><span style='width:{_score(r) or 0:.0f}%;"
        f"background:{_color(_score(r))}'></span></div></td>"
        f"<td><span class='tag {r.status}'>{_e(STATUS_LABEL[r.status])}</span></td></tr>"
        for r in report.turns
    )
    turns = "".join(_turn_html(r) for r in report.turns)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mock interview report · {_e(report.source)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>Mock interview report</h1>
<p class="muted">{_e(report.source)} · judge {_e(report.judge)} · {report.seconds:.1f} s</p>
<div class="card hero">
<div><div class="big" style="color:{_color(s.overall)}">{overall}</div>
<div class="band" style="color:{_color(s.overall)}">{_e(s.band)}</div></div>
<div><div>Overall score over {s.graded} graded turn{"s" if s.graded != 1 else ""}
(each graded turn counts once)</div><div class="counts">{pills}</div></div>
</div>{warn}
<div class="grid" style="margin-top:16px">
<div class="card"><h3>Score by topic</h3>{topic_chart_svg(s.topics)}{areas}</div>
<div class="card"><h3>Study next</h3>{study_html}<h3 style="margin-top:14px">Score per turn</h3>
{turn_chart_svg(report)}</div>
</div>
<h2>Turns</h2>
<table><tr><th>#</th><th>question</th><th>bank id</th><th>score</th><th></th><th>status</th></tr>{rows}</table>
<h2>Details</h2>
{turns}
</main></body></html>
"""

"""Renderers for a graded transcript: terminal (rich, with a live progress bar), JSON, Markdown, HTML.

They format; they never compute scores (the summary comes from evaluator.summary). The HTML report is
one self-contained file: inline CSS, inline SVG charts, no scripts, fonts or other external resources.
"""

from __future__ import annotations

import html
import json
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from evaluator.models import StudyItem, TopicScore, TranscriptReport, TurnResult
from evaluator.reports.answer import Lang, band_label, label, parts_line, report_language, topic_label
from evaluator.reports.answer import to_markdown as evaluation_markdown

# key: (Chinese, English); a report is in the interview's language throughout.
TEXT: dict[str, tuple[str, str]] = {
    "graded": ("已评分", "graded"),
    "unscored": ("无法评分", "unscored"),
    "unmatched": ("不在题库中", "not in the bank"),
    "not_a_question": ("不是技术问题", "not a question"),
    "unanswered": ("未作答", "no answer"),
    "failed": ("失败", "failed"),
    "not_run": ("未运行", "not run"),
    "turns": ("轮", "turns"),
    "title": ("模拟面试报告", "Mock interview report"),
    "overall": ("总分", "Overall"),
    "over": ("取 {n} 个已评分回答的平均（每个回答同等计入）", "over {n} graded turn(s) (each graded turn counts once)"),
    "no_graded": ("没有已评分的回答", "No graded turns"),
    "interrupted": ("已中断：{n} 轮未运行，用 --resume 继续", "Interrupted: {n} turns not run; continue with --resume"),
    "by_topic": ("各主题得分", "Score by topic"),
    "graded_turns": ("已评分轮数", "graded turns"),
    "strongest": ("最强", "Strongest"),
    "weakest": ("最弱", "Weakest"),
    "study_next": ("接下来学什么", "Study next"),
    "nothing_missing": ("没有缺漏的要点。", "Nothing missing."),
    "correct": ("纠正错误说法：", "Correct this wrong claim: "),
    "about": ("关于要点：", "about: "),
    "turn_n": ("第 {n} 轮", "turn {n}"),
    "per_turn": ("每轮得分", "Score per turn"),
    "turns_heading": ("各轮结果", "Turns"),
    "details_heading": ("逐轮详情", "Details"),
    "question": ("问题", "question"),
    "bank_id": ("题库编号", "bank id"),
    "topic": ("主题", "topic"),
    "score": ("得分", "score"),
    "status": ("状态", "status"),
    "bank": ("题库题目", "bank"),
    "closest": ("题库中最接近的题目", "closest bank questions"),
    "closest_legend": (
        "~编号：不在题库中的问题最接近的题库题目（未评分）",
        "~id: the closest bank question to a question not in the bank (not graded)",
    ),
    "by_answer": ("按回答内容匹配到题目", "matched by the answer"),
    "judge": ("评分器", "judge"),
    "results": ("结果文件", "results"),
    "summary": ("总结", "summary"),
    "grading": ("评分中", "grading"),
}
STATUS_STYLE = {"graded": "", "unscored": "yellow", "unmatched": "dim", "unanswered": "dim", "failed": "bold red"}
BAND_COLOR = {"excellent": "#1a7f37", "good": "#4c9a2a", "fair": "#bf8700", "weak": "#d1602a", "poor": "#cf222e"}


def t(key: str, lang: Lang, **values: object) -> str:
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


def transcript_language(report: TranscriptReport) -> Lang:
    """The interview's language: the candidate's answers (the questions when nothing was answered)."""
    answers = [r.turn.answer for r in report.turns if r.turn.answer.strip()]
    return report_language(*(answers or [r.turn.question for r in report.turns]))


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


def _status_note(r: TurnResult, lang: Lang, closest: bool = True) -> str:
    """Why a turn was not graded, in words (no similarities: those are in --format json)."""
    if r.status == "failed":
        return r.error or t("failed", lang)
    if r.status == "unscored" and r.evaluation is not None:
        return r.evaluation.unscored_reason or ""
    if r.status == "unmatched":
        if r.not_a_question:
            return t("not_a_question", lang)
        if r.error:
            return r.error
        if r.candidates and closest:
            return f"{t('closest', lang)}: {r.candidates[0].id}"
    if r.matched_by and r.matched_by != "question" and r.status == "graded":
        return t("by_answer", lang)
    return ""


def _study_lines(item: StudyItem, lang: Lang) -> tuple[str, str]:
    """What to study (a wrong claim to correct first) and where it came up."""
    turns = ", ".join(map(str, item.turns))
    where = f"{item.question_id} · {t('turn_n', lang, n=turns)}"
    if item.wrong_claim:
        return t("correct", lang) + item.wrong_claim, f"{t('about', lang)}{_short(item.criterion, 40)} · {where}"
    return item.criterion, f"{where} · {label(item.level.value, lang)}"


def to_json(report: TranscriptReport) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2)


# -- terminal --------------------------------------------------------------------------------------------


class ProgressBar:
    """A rich progress bar for the batch (a BatchObserver); silent when the console is not a terminal."""

    def __init__(self, console: Console, lang: Lang = "en"):
        self.console = console
        self.lang = lang
        self._progress = Progress(
            TextColumn(f"[bold]{t('grading', lang)}[/]"),
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
        note = (
            (f"{reused} 轮取自结果文件" if self.lang == "zh" else f"{reused} from the results file") if reused else ""
        )
        self._progress.update(self._task, total=total, completed=reused, description=note)

    def finished(self, result: TurnResult) -> None:
        score = _score(result)
        last = f"#{result.turn.index} {_bank_id(result) or t(result.status, self.lang)}"
        if score is not None:
            last += f" {score:.0f}"
        self._progress.update(self._task, advance=1, description=last)


def render_terminal(report: TranscriptReport, console: Console, lang: Lang | None = None) -> None:
    lang = lang or transcript_language(report)
    s = report.summary
    table = Table(title=f"{report.source} · {t('judge', lang)} {report.judge}", expand=True)
    # At 80 columns every id and status must still read whole: those columns get the width of their
    # longest entry and the question gives up width first; notes go under the question.
    # An unmatched turn shows its closest bank question in the id column as "~id" (dim), so the id
    # stays whole there rather than folding inside a note.
    closest = [
        f"~{r.candidates[0].id}" if r.status == "unmatched" and not r.error and r.candidates else ""
        for r in report.turns
    ]
    ids = [_bank_id(r) or near for r, near in zip(report.turns, closest, strict=True)]
    statuses = [t(r.status, lang) for r in report.turns]
    id_width = min(32, max([console.measure(Text(x)).maximum for x in ids] + [8]))
    status_width = max([console.measure(Text(x)).maximum for x in statuses] + [6])
    table.add_column("#", justify="right", width=3, no_wrap=True)
    table.add_column(t("question", lang), ratio=1, overflow="fold", min_width=16)
    table.add_column(t("bank_id", lang), width=id_width, overflow="fold")
    table.add_column(t("score", lang), justify="right", width=5, no_wrap=True)
    table.add_column(t("status", lang), width=status_width, no_wrap=True)
    for r, bank_id, near, status_text in zip(report.turns, ids, closest, statuses, strict=True):
        score = _score(r)
        question = Text(("↳ " if r.turn.follow_up_of else "") + _short(r.turn.question, 60))
        note = _status_note(r, lang, closest=False)
        if note:
            question.append(f"\n{_short(note, 80)}", style="dim")
        table.add_row(
            str(r.turn.index), question, Text(bank_id, style="dim" if near else ""),
            Text("—" if score is None else f"{score:.0f}", style=_score_style(score)),
            Text(status_text, style=STATUS_STYLE[r.status]),
        )  # fmt: skip
    console.print(table)
    if any(closest):
        console.print(t("closest_legend", lang), style="dim", markup=False)
    head = Text()
    if s.overall is None:
        head.append(t("no_graded", lang), style="bold")
    else:
        band = f"（{band_label(s.band, lang)}）" if lang == "zh" else f" ({s.band})"
        head.append(f"{t('overall', lang)} {s.overall:.0f}/100{band}", style=f"bold {_score_style(s.overall)}")
        head.append(" " + t("over", lang, n=s.graded))
    head.append(f"\n{_counts_line(report, lang)}", style="dim")
    if not report.complete:
        head.append("\n" + t("interrupted", lang, n=s.pending), style="bold red")
    parts: list[RenderableType] = [head]
    if s.topics:
        topics = Text()
        topics.append(f"\n{t('by_topic', lang)}\n", style="bold")
        width = 24
        for tp in s.topics:
            filled = round(tp.score / 100 * width)
            name = topic_label(tp.topic, lang)
            topics.append("  " + name + " " * max(1, 22 - console.measure(Text(name)).maximum))
            topics.append("█" * filled, style=_score_style(tp.score))
            topics.append("░" * (width - filled), style="dim")
            topics.append(f" {tp.score:5.1f}  ({tp.graded})" + ("\n" if tp is not s.topics[-1] else ""))
        parts.append(topics)
    if s.strongest or s.weakest:
        parts.append(Text())
    if s.strongest:
        parts.append(Text(f"{t('strongest', lang)}: " + _areas(s.strongest, lang), style="green"))
    if s.weakest:
        parts.append(Text(f"{t('weakest', lang)}: " + _areas(s.weakest, lang), style="red"))
    if s.study_next:
        parts.append(Text(f"\n{t('study_next', lang)}", style="bold"))
        study = Table.grid(padding=(0, 1))
        study.add_column(justify="right", width=4)
        study.add_column(ratio=1, overflow="fold")
        for i, item in enumerate(s.study_next, start=1):
            what, where = _study_lines(item, lang)
            cell = Text(what, style="bold red" if item.wrong_claim else "")
            cell.append(f"\n{where}", style="dim")
            study.add_row(f"{i}.", cell)
        parts.append(study)
    body = Group(*parts)
    console.print(Panel(body, title=t("summary", lang)))
    if report.results_path:
        console.print(f"{t('results', lang)}: {report.results_path}", style="dim", markup=False)


def _areas(topics: tuple[TopicScore, ...], lang: Lang) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{topic_label(tp.topic, lang)} ({tp.score:.0f})" for tp in topics)


def _counts_line(report: TranscriptReport, lang: Lang) -> str:
    s = report.summary
    counts = [("turns", s.total), ("graded", s.graded), ("unmatched", s.unmatched), ("unanswered", s.unanswered),
              ("unscored", s.unscored), ("failed", s.failed)]  # fmt: skip
    counts += [("not_run", s.pending)] if s.pending else []
    if lang == "zh":
        return " · ".join(f"共 {n} 轮" if key == "turns" else f"{t(key, lang)} {n}" for key, n in counts)
    return " · ".join(f"{n} {t(key, lang)}" for key, n in counts)


# -- Markdown ---------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: TranscriptReport, lang: Lang | None = None) -> str:
    lang = lang or transcript_language(report)
    s = report.summary
    lines = [f"# {t('title', lang)}: {report.source}", "", f"- {t('judge', lang)}: {report.judge}"]
    if s.overall is not None:
        band = f"（{band_label(s.band, lang)}）" if lang == "zh" else f" ({s.band})"
        lines.append(f"- **{t('overall', lang)}: {s.overall:.0f}/100{band}** {t('over', lang, n=s.graded)}")
    lines.append(f"- {_counts_line(report, lang)}")
    if not report.complete:
        lines.append(f"- **{t('interrupted', lang, n=s.pending)}**")
    if s.topics:
        head = f"| {t('topic', lang)} | {t('score', lang)} | {t('graded_turns', lang)} |"
        lines += ["", f"## {t('by_topic', lang)}", "", head, "|---|---:|---:|"]
        lines += [f"| {topic_label(tp.topic, lang)} | {tp.score:.1f} | {tp.graded} |" for tp in s.topics]
    if s.strongest:
        lines += ["", f"**{t('strongest', lang)}:** {_areas(s.strongest, lang)}"]
    if s.weakest:
        lines += ["", f"**{t('weakest', lang)}:** {_areas(s.weakest, lang)}"]
    if s.study_next:
        lines += ["", f"## {t('study_next', lang)}", ""]
        for i, item in enumerate(s.study_next, start=1):
            what, where = _study_lines(item, lang)
            lines.append(f"{i}. {'**' + what + '**' if item.wrong_claim else what} — {where}")
    columns = [t("question", lang), t("bank_id", lang), t("score", lang), t("status", lang)]
    lines += [
        "",
        f"## {t('turns_heading', lang)}",
        "",
        "| # | " + " | ".join(columns) + " |",
        "|---:|---|---|---:|---|",
    ]
    for r in report.turns:
        score = _score(r)
        note = _status_note(r, lang)
        status = t(r.status, lang) + (f": {note}" if note else "")
        lines.append(
            f"| {r.turn.index} | {_cell(_short(r.turn.question, 80))} | {_bank_id(r)} | "
            f"{'—' if score is None else f'{score:.0f}'} | {_cell(status)} |"
        )
    for r in report.turns:
        if r.status not in ("graded", "unscored") or r.evaluation is None:
            continue
        lines += ["", f"## {t('turn_n', lang, n=r.turn.index).capitalize()}", "", f"> {_cell(r.turn.question)}", ""]
        detail = evaluation_markdown(r.evaluation, lang)
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
th{background:var(--soft);font-weight:600;white-space:nowrap}td.num{text-align:right;white-space:nowrap}
.bar{height:8px;border-radius:4px;background:#eaeef2;min-width:60px}.bar>span{display:block;height:8px;border-radius:4px}
.tag{font-size:12px;border-radius:4px;padding:1px 6px;white-space:nowrap}
.graded{background:#dafbe1}.unscored{background:#fff8c5}.unmatched,.unanswered{background:#eaeef2}
.failed{background:#ffebe9;color:#cf222e}
details{background:var(--bg);border:1px solid var(--line);border-radius:10px;margin:10px 0;padding:0 16px}
summary{cursor:pointer;padding:12px 0;display:flex;gap:12px;align-items:baseline}
summary::-webkit-details-marker{display:none}.score{font-weight:700;min-width:2.5em}
.answer{white-space:pre-wrap;background:var(--soft);border-radius:8px;padding:10px 12px;font-size:14px}
.met{color:#1a7f37}.partial{color:#9a6700}.missing{color:#cf222e}
td.met,td.partial,td.missing{white-space:nowrap}
ol.study li{margin:6px 0}ol.study li.wrong{color:#cf222e}.warn{background:#ffebe9;border-color:#ff8182}
.bar.empty{background:none;border:1px dashed #d0d7de}.why{color:var(--muted);font-size:13px;margin-top:2px}
.small{font-size:12px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text_width(text: str, size: float) -> float:
    """Rough rendered width of a label: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def topic_chart_svg(topics: tuple[TopicScore, ...], lang: Lang = "en") -> str:
    """A horizontal bar chart of topic scores (0-100), inline SVG, drawn at its natural size so its
    labels read at 14 px (never scaled down into a narrow column)."""
    if not topics:
        return f'<p class="muted">{_e(t("no_graded", lang))}</p>'
    font = 14
    names = [topic_label(tp.topic, lang) for tp in topics]
    label_w = int(min(300, max(100, max(_text_width(n, font) for n in names) + 16)))
    bar_w, row_h, pad = 460, 32, 8
    height = pad * 2 + row_h * len(topics) + 22
    width = label_w + bar_w + 80
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_e(t("by_topic", lang))}" style="max-width:{width}px">'
    ]
    for tick in (0, 50, 70, 85, 100):
        x = label_w + bar_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - 22}" stroke="#d0d7de" '
                     f'stroke-dasharray="3 3"/>')  # fmt: skip
        parts.append(f'<text x="{x:.1f}" y="{height - 5}" font-size="12" fill="#656d76" '
                     f'text-anchor="middle">{tick}</text>')  # fmt: skip
    for i, (tp, name) in enumerate(zip(topics, names, strict=True)):
        y = pad + i * row_h
        w = bar_w * max(0.0, min(100.0, tp.score)) / 100
        w = max(w, 3.0)  # a 0 is a visible sliver, not a missing bar
        parts.append(f'<text x="{label_w - 10}" y="{y + 21}" font-size="{font}" text-anchor="end" '
                     f'fill="#1f2328">{_e(name)}</text>')  # fmt: skip
        parts.append(f'<rect x="{label_w}" y="{y + 6}" width="{w:.1f}" height="20" rx="3" fill="{_color(tp.score)}">'
                     f"<title>{_e(name)}: {tp.score:.1f} ({tp.graded})</title></rect>")  # fmt: skip
        parts.append(f'<text x="{label_w + w + 8:.1f}" y="{y + 21}" font-size="13" fill="#1f2328">'
                     f"{tp.score:.0f} · {tp.graded}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def turn_chart_svg(report: TranscriptReport, lang: Lang = "en") -> str:
    """One column per turn: its score (a 0 is a red sliver on the axis), or a dashed grey outline
    when the turn was not graded, so "scored 0" and "not graded" never look alike."""
    turns = report.turns
    if not turns:
        return ""
    col, gap, h, top = 22, 6, 120, 10
    width = max(200, len(turns) * (col + gap) + 40)
    parts = [f'<svg viewBox="0 0 {width} {h + 36}" width="100%" role="img" '
             f'aria-label="{_e(t("per_turn", lang))}" style="max-width:{width}px">']  # fmt: skip
    for tick in (0, 50, 100):
        y = top + h - h * tick / 100
        parts.append(f'<line x1="30" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#d0d7de" stroke-dasharray="3 3"/>')
        parts.append(f'<text x="24" y="{y + 4:.1f}" font-size="10" fill="#656d76" text-anchor="end">{tick}</text>')
    for i, r in enumerate(turns):
        x = 36 + i * (col + gap)
        score = _score(r)
        name = f"#{r.turn.index} {_bank_id(r) or t(r.status, lang)}"
        if score is None:
            bh = h * 0.25
            shape = (f'<rect x="{x + 0.5}" y="{top + h - bh:.1f}" width="{col - 1}" height="{bh:.1f}" rx="2" '
                     'fill="none" stroke="#8c959f" stroke-dasharray="3 2"'
                     f' data-status="{r.status}">')  # fmt: skip
            tip = f"{name}: {t(r.status, lang)}"
        else:
            bh = max(h * score / 100, 3.0)
            shape = (f'<rect x="{x}" y="{top + h - bh:.1f}" width="{col}" height="{bh:.1f}" rx="2" '
                     f'fill="{_color(score)}" data-score="{score:.0f}">')  # fmt: skip
            tip = f"{name}: {score:.0f}"
        parts.append(f"{shape}<title>{_e(tip)}</title></rect>")
        parts.append(f'<text x="{x + col / 2}" y="{top + h + 14}" font-size="10" fill="#656d76" '
                     f'text-anchor="middle">{r.turn.index}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _turn_html(r: TurnResult, lang: Lang) -> str:
    ev = r.evaluation
    score = _score(r)
    head = (
        f'<summary><span class="score" style="color:{_color(score)}">{"—" if score is None else f"{score:.0f}"}</span>'
        f"<span><b>#{r.turn.index}</b> {'↳ ' if r.turn.follow_up_of else ''}{_e(r.turn.question)}</span>"
        f'<span class="tag {r.status}">{_e(t(r.status, lang))}</span></summary>'
    )
    body = []
    meta = []
    if ev is not None and ev.question_id:
        meta.append(f"{_e(t('bank', lang))}: <code>{_e(ev.question_id)}</code> · {_e(ev.question or '')} · "
                    f"{_e(t('topic', lang))} {_e(topic_label(ev.topic, lang))}")  # fmt: skip
    note = _status_note(r, lang, closest=False)  # the closest questions get their own line below
    if note:
        meta.append(_e(note))
    if r.status == "unmatched" and r.candidates:
        meta.append(f"{_e(t('closest', lang))}: "
                    + "; ".join(f"<code>{_e(c.id)}</code> {_e(c.question)}" for c in r.candidates[:3]))  # fmt: skip
    if meta:
        body.append('<p class="muted">' + "<br>".join(meta) + "</p>")
    if r.turn.answer:
        body.append(f'<div class="answer">{_e(r.turn.answer)}</div>')
    if ev is not None and ev.criteria:
        rows = []
        for c in ev.criteria:
            cell = _e(c.evidence or (label("no_quote", lang) if not c.evidence_verified else ""))
            if c.comment and (c.level.value != "met" or c.wrong_claim):
                cell += f'<div class="why">{_e(c.comment)}</div>'
            verdict = f"<td class='{c.level.value}'>{_e(label(c.level.value, lang))}</td>"
            rows.append(f"<tr><td>{_e(c.description)}</td><td class='num'>{c.weight}</td>{verdict}<td>{cell}</td></tr>")
        heads = "".join(f"<th>{_e(label(k, lang))}</th>" for k in ("criterion", "weight", "verdict", "evidence"))
        body.append(f"<table><tr>{heads}</tr>{''.join(rows)}</table>")
    if ev is not None and ev.errors:
        body.append(f"<p><b>{_e(label('errors', lang))}</b></p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in ev.errors)
                    + "</ul>")  # fmt: skip
    if ev is not None and ev.feedback:
        body.append(f"<p><b>{_e(label('advice', lang))}</b> {_e(ev.feedback)}</p>")
    if ev is not None and ev.parts is not None:
        body.append(f'<p class="muted small">{_e(label("details", lang))}: {_e(parts_line(ev, lang))}</p>')
    return f'<details id="turn-{r.turn.index}">{head}{"".join(body)}</details>'


def _bar_html(score: float | None) -> str:
    if score is None:  # not graded: an empty track, unlike a 0, which shows a red sliver
        return "<div class='bar empty'></div>"
    return f"<div class='bar'><span style='width:{max(score, 2):.0f}%;background:{_color(score)}'></span></div>"


def to_html(report: TranscriptReport, lang: Lang | None = None) -> str:
    lang = lang or transcript_language(report)
    s = report.summary
    overall = "—" if s.overall is None else f"{s.overall:.0f}"
    counts = [("turns", s.total), ("graded", s.graded), ("unmatched", s.unmatched),
              ("unanswered", s.unanswered), ("unscored", s.unscored), ("failed", s.failed)]  # fmt: skip
    if s.pending:
        counts.append(("not_run", s.pending))
    pills = "".join(
        f'<span class="pill">{_e(n)} {_e(t(key, lang))}</span>' if lang == "en" or key == "turns"
        else f'<span class="pill">{_e(t(key, lang))} {_e(n)}</span>'
        for key, n in counts
    )  # fmt: skip
    warn = f'<div class="card warn" style="margin-top:12px">{_e(t("interrupted", lang, n=s.pending))}</div>'
    warn = warn if not report.complete else ""
    areas = ""
    if s.strongest:
        areas += f"<p><b>{_e(t('strongest', lang))}:</b> {_e(_areas(s.strongest, lang))}</p>"
    if s.weakest:
        areas += f"<p><b>{_e(t('weakest', lang))}:</b> {_e(_areas(s.weakest, lang))}</p>"
    study = "".join(
        f"<li class='{'wrong' if i.wrong_claim else ''}'>{_e(_study_lines(i, lang)[0])}<br>"
        f"<span class='muted'>{_e(_study_lines(i, lang)[1])}</span></li>"
        for i in s.study_next
    )
    nothing = f'<p class="muted">{_e(t("nothing_missing", lang))}</p>'
    study_html = f'<ol class="study">{study}</ol>' if study else nothing
    rows = "".join(
        f"<tr><td class='num'>{r.turn.index}</td><td>{_e(_short(r.turn.question, 70))}</td>"
        f"<td><code>{_e(_bank_id(r))}</code></td>"
        f"<td class='num'>{'—' if _score(r) is None else f'{_score(r):.0f}'}</td>"
        f"<td>{_bar_html(_score(r))}</td>"
        f"<td><span class='tag {r.status}'>{_e(t(r.status, lang))}</span></td></tr>"
        for r in report.turns
    )
    turns = "".join(_turn_html(r, lang) for r in report.turns)
    band = band_label(s.band, lang)
    heads = "".join(f"<th>{_e(x)}</th>" for x in ("#", t("question", lang), t("bank_id", lang), t("score", lang), ""))
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(t("title", lang))} · {_e(report.source)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{_e(t("title", lang))}</h1>
<p class="muted">{_e(report.source)} · {_e(t("judge", lang))} {_e(report.judge)} · {report.seconds:.1f} s</p>
<div class="card hero">
<div><div class="big" id="overall" style="color:{_color(s.overall)}">{overall}</div>
<div class="band" style="color:{_color(s.overall)}">{_e(band)}</div></div>
<div><div>{_e(t("overall", lang))} · {_e(t("over", lang, n=s.graded))}</div><div class="counts">{pills}</div></div>
</div>{warn}
<div class="card" style="margin-top:16px" id="topics"><h3>{_e(t("by_topic", lang))}</h3>
{topic_chart_svg(s.topics, lang)}{areas}</div>
<div class="grid" style="margin-top:16px">
<div class="card" id="study"><h3>{_e(t("study_next", lang))}</h3>{study_html}</div>
<div class="card"><h3>{_e(t("per_turn", lang))}</h3>{turn_chart_svg(report, lang)}</div>
</div>
<h2>{_e(t("turns_heading", lang))}</h2>
<table id="turns"><tr>{heads}<th>{_e(t("status", lang))}</th></tr>{rows}</table>
<h2>{_e(t("details_heading", lang))}</h2>
{turns}
</main></body></html>
"""

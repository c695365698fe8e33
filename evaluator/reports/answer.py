"""Renderers: terminal (rich), JSON, Markdown. They format; they never compute scores.

A report speaks the answer's language (Chinese labels for a Chinese answer). What the candidate reads
first says what was right, what was wrong and what to add; the numbers behind the grade (the blend's
parts and weights, similarities, thresholds, match scores) are in a details section at the end and in
`--format json`.
"""

from __future__ import annotations

import json
from typing import Literal

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from evaluator.models import CriterionResult, Evaluation, Level, Match
from evaluator.text import is_chinese

Lang = Literal["zh", "en"]

LEVEL_STYLE = {Level.met: "green", Level.partial: "yellow", Level.missing: "red"}

# One table of every label a report prints, so a report is never half in one language.
LABELS: dict[str, tuple[str, str]] = {  # key: (Chinese, English)
    "met": ("✔ 已答到", "✔ met"),
    "partial": ("◐ 部分答到", "◐ partial"),
    "missing": ("✘ 未答到", "✘ missing"),
    "excellent": ("优秀", "excellent"),
    "good": ("良好", "good"),
    "fair": ("及格", "fair"),
    "weak": ("较弱", "weak"),
    "poor": ("很差", "poor"),
    "unscored": ("无法评分", "unscored"),
    "unmatched": ("未匹配", "unmatched"),
    "id": ("编号", "id"),
    "topic": ("主题", "topic"),
    "judge": ("评分器", "judge"),
    "score": ("得分", "Score"),
    "criterion": ("评分要点", "criterion"),
    "weight": ("权重", "weight"),
    "verdict": ("判定", "verdict"),
    "evidence": ("回答中的依据", "evidence from the answer"),
    "no_quote": ("（引文不在回答中）", "(quote not found in the answer)"),
    "errors": ("错误或存疑的说法", "Wrong or doubtful claims"),
    "missing_points": ("缺少的要点", "Missing"),
    "advice": ("建议", "Advice"),
    "reference": ("参考答案", "Reference answer"),
    "details": ("评分细节", "Details"),
    "auto_rubric": ("评分细则由参考答案自动生成（非人工编写）", "rubric derived from the reference, not written"),
    "origin_user": ("你自己题库中的题目", "a question from your own bank"),
    "origin_user-override": (
        "你自己题库中的题目（替代了内置题库中同编号的题目）",
        "a question from your own bank (it replaces the bundled entry)",
    ),
    "origin_given": ("按你给出的参考答案评分（题库中没有这道题）", "graded against the reference answer you gave"),
    "origin_drafted": (
        "题库中没有这道题：参考答案和评分细则由 LLM 评分模型起草（非人工编写）",
        "not in the bank: the reference answer and rubric were drafted by the LLM judge's model, not written",
    ),
    "user_anchors": ("你评过分的 {n} 个回答参与了这次评分", "{n} of your own graded answers informed this grade"),
    "no_user_anchors": (
        "你还没有给这道题的回答评过分；用 evaluate grade RESULT.json 分数 给出你的评分，下次评分就会用上",
        "none of your own grades for this question yet; `evaluate grade RESULT.json GRADE` adds one for the next time",
    ),
    "unscored_title": ("无法评分", "Unscored"),
    "by_id": ("按编号指定", "pinned by id"),
    "by_question": ("按题目匹配", "matched by the question"),
    "by_answer": ("按回答内容匹配", "matched by the answer"),
    "chosen_by_model": (
        "题目文字不足以确定是哪道题，由 LLM 评分模型从候选题目中选出了这一题。",
        "The question's wording did not decide; the LLM judge's model picked this one among the candidates.",
    ),
    "siblings": (
        "这道题与 {others} 也很接近，按回答内容选了这一题。",
        "The question is also close to {others}; this one was chosen by what the answer discusses.",
    ),
    "no_match": ("没有把握确定是哪道题", "No confident match"),
    "no_match_why": ("未评分，以免用错评分细则。", "Not graded, to avoid using the wrong rubric."),
    "closest": (
        "最接近的题目（编号、题目）；用 --question-id 指定一道：",
        "Closest questions (id, question); pin one with --question-id:",
    ),
    "parts": ("构成", "Parts"),
    "rubric_part": ("评分要点", "rubric"),
    "similarity_part": ("与参考答案的接近度", "closeness to the reference"),
    "anchor_part": ("与评分样例对比", "compared with graded answers"),
    "penalty_part": ("错误说法扣分", "wrong-claim penalty"),
    "match_detail": ("题目匹配", "match"),
    "criterion_detail": ("要点相似度（基线）", "criterion similarity (baseline)"),
}


TOPIC_NAMES = {  # the bank's topic ids in Chinese (the practice page uses the same names)
    "fundamentals": "基础知识", "attention": "注意力机制", "architecture": "模型结构",
    "positional-encoding": "位置编码", "tokenization": "分词", "model-families": "主流模型",
    "moe": "混合专家（MoE）", "long-context": "长上下文", "multimodal": "多模态", "pretraining": "预训练",
    "training-efficiency": "训练效率", "distributed": "分布式训练", "fine-tuning": "微调",
    "peft": "参数高效微调", "inference": "推理", "quantization-compression": "量化与压缩",
    "decoding": "解码策略", "deployment": "部署", "alignment": "对齐", "reinforcement-learning": "强化学习",
    "reasoning": "推理能力", "hallucination": "幻觉", "rag": "检索增强（RAG）", "agents": "智能体",
    "prompting": "提示工程", "evaluation": "评测", "safety": "安全", "system-design": "系统设计",
    "coding": "编程", "open-questions": "开放问题",
}  # fmt: skip


def topic_label(topic: str | None, lang: Lang) -> str:
    return (TOPIC_NAMES.get(topic or "", topic) if lang == "zh" else topic) or ""


def label(key: str, lang: Lang) -> str:
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def report_language(*texts: str) -> Lang:
    """The language to report in: Chinese when the candidate's text is mostly Chinese."""
    return "zh" if is_chinese(" ".join(texts)) else "en"


def evaluation_language(ev: Evaluation) -> Lang:
    """The answer's language as the evaluation shows it: the quotes from the answer, and the feedback
    (written in the answer's language by both judges) without the Chinese rubric text it cites."""
    feedback = ev.feedback
    for quoted in [c.description for c in ev.criteria] + list(ev.errors) + list(ev.missing):
        feedback = feedback.replace(quoted, " ")
    text = " ".join([c.evidence for c in ev.criteria] + [feedback])
    return report_language(text) if text.strip() else "zh"


def band_label(band: str, lang: Lang) -> str:
    return label(band, lang) if band in LABELS else band


def to_json(ev: Evaluation) -> str:
    return json.dumps(ev.model_dump(mode="json"), ensure_ascii=False, indent=2)


def parts_line(ev: Evaluation, lang: Lang) -> str:
    """The blend as a sum whose terms add up to the score: each part × its weight (details section)."""
    p = ev.parts
    if p is None:
        return ""
    beta = p.anchor_weight if p.anchor is not None else 0.0
    terms = [
        f"{label('rubric_part', lang)} {p.rubric:.1f} × {(1 - beta) * p.alpha:.2f}",
        f"{label('similarity_part', lang)} {p.similarity:.1f} × {(1 - beta) * (1 - p.alpha):.2f}",
    ]
    if p.anchor is not None and beta > 0:
        terms.append(f"{label('anchor_part', lang)} {p.anchor:.1f} × {beta:.2f}")
    line = " + ".join(terms)
    if p.error_penalty:
        line += f" − {label('penalty_part', lang)} {p.error_penalty:.0f}"
    lexical = f" + {p.lexical_weight:.2f} × n-gram {p.lexical:.3f}" if p.lexical_weight else ""
    return line + f" (α={p.alpha:.2f}, β={beta:.2f}; cosine {p.cosine:.3f}{lexical}, lo={p.lo:.2f}, hi={p.hi:.2f})"


def provenance_lines(ev: Evaluation, lang: Lang) -> list[str]:
    """Where the question, its reference and rubric came from, and how many of the interviewer's own
    graded answers were anchors of this grade."""
    lines = []
    if ev.question_source != "bundled":
        lines.append(label(f"origin_{ev.question_source}", lang))
    if ev.user_anchors:
        lines.append(label("user_anchors", lang).format(n=ev.user_anchors))
    elif ev.question_source != "bundled":
        lines.append(label("no_user_anchors", lang))
    return lines


def sibling_note(ev: Evaluation, lang: Lang) -> str:
    """How the question was chosen when the question text alone did not decide."""
    if ev.match.chosen_by_model:
        return label("chosen_by_model", lang)
    if not ev.match.chosen_by_answer or not ev.match.siblings:
        return ""
    sep = "、" if lang == "zh" else ", "
    return label("siblings", lang).format(others=sep.join(ev.match.siblings))


def _match_detail(ev: Evaluation, lang: Lang) -> str:
    m = ev.match
    how = {"id": "by_id", "question": "by_question"}.get(m.by, "by_answer")
    line = label(how, lang)
    if m.by != "id" and m.best is not None:
        line += f": score {m.best.score:.3f}, cosine {m.best.cosine:.3f}, margin {m.margin:.3f}"
    return line


def details_lines(ev: Evaluation, lang: Lang) -> list[str]:
    """The numbers behind the grade, for whoever wants to check it."""
    lines = []
    if ev.parts is not None:
        lines.append(f"{label('parts', lang)}: {parts_line(ev, lang)}")
    lines.append(f"{label('match_detail', lang)}: {_match_detail(ev, lang)}")
    sims = [
        f"{c.id} {c.similarity:.2f} ({c.baseline:.2f})"
        for c in ev.criteria
        if c.similarity is not None and c.baseline is not None
    ]
    if sims:
        lines.append(f"{label('criterion_detail', lang)}: " + ", ".join(sims))
    return lines


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
    """Match scores, cosines, ids and questions (`evaluate match`, a diagnostic)."""
    return [f"{c.score:.3f} (cosine {c.cosine:.3f})  {c.id}  {c.question}" for c in match.candidates]


def _why(c: CriterionResult) -> str:
    """The judge's reason for a level short of met (for met, the quote speaks for itself)."""
    return c.comment if c.comment and (c.level is not Level.met or c.wrong_claim) else ""


def _evidence(c: CriterionResult, lang: Lang) -> str:
    return c.evidence or (label("no_quote", lang) if not c.evidence_verified else "")


def render_terminal(ev: Evaluation, console: Console, lang: Lang | None = None) -> None:
    lang = lang or evaluation_language(ev)
    if ev.question_id is None:
        console.print(f"[bold red]{label('no_match', lang)}[/] — {label('no_match_why', lang)}")
        console.print(label("closest", lang), markup=False)
        for cand in ev.match.candidates:
            console.print(f"  {cand.id}  {cand.question}", markup=False)
        return
    header = Text()
    header.append(f"{ev.question}\n", style="bold")
    header.append(f"{label('id', lang)} {ev.question_id} · {label('topic', lang)} {topic_label(ev.topic, lang)} · "
                  f"{label('judge', lang)} {ev.judge}", style="dim")  # fmt: skip
    if ev.auto_rubric:
        header.append(f" · {label('auto_rubric', lang)}", style="dim")
    for line in provenance_lines(ev, lang):
        header.append(f"\n{line}", style="dim")
    if sibling_note(ev, lang):
        header.append(f"\n{sibling_note(ev, lang)}", style="dim")
    if judge_meta_line(ev):
        header.append(f"\n{label('judge', lang)} {judge_meta_line(ev)}", style="dim")
    if ev.score is None:
        reason = f"\n{label('unscored_title', lang).upper()}: {ev.unscored_reason}"
        console.print(Panel(Group(header, Text(reason, style="bold red"))))
        return
    band = f"（{band_label(ev.band, lang)}）" if lang == "zh" else f" ({ev.band})"
    score = Text(f"\n{label('score', lang)} {ev.score:.0f}/100{band}", style="bold cyan")
    console.print(Panel(Group(header, score)))
    table = Table(show_lines=False, expand=True)
    table.add_column(label("criterion", lang), ratio=3)
    table.add_column("w", justify="right", width=2)
    table.add_column(label("verdict", lang), width=10, no_wrap=True)
    table.add_column(label("evidence", lang), ratio=3)
    for c in ev.criteria:
        cell = Text(_evidence(c, lang))
        why = _why(c)
        if why:
            cell.append(("\n" if cell else "") + why, style="dim")
        table.add_row(c.description, str(c.weight), Text(label(c.level.value, lang), style=LEVEL_STYLE[c.level]), cell)
    console.print(table)
    if ev.errors:
        console.print(f"[bold red]{label('errors', lang)}:[/]")
        for e in ev.errors:
            console.print(f"  • {e}", markup=False)
    if ev.missing:
        console.print(f"[bold]{label('missing_points', lang)}:[/]")
        for m in ev.missing:
            console.print(f"  • {m}", markup=False)
    if ev.feedback:
        console.print(f"[bold]{label('advice', lang)}:[/] ", end="")
        console.print(ev.feedback, markup=False)
    if ev.reference:
        console.print(Panel(ev.reference, title=label("reference", lang)))
    console.print(label("details", lang), style="dim bold", markup=False)
    for line in details_lines(ev, lang):
        console.print(f"  {line}", style="dim", markup=False)


def to_markdown(ev: Evaluation, lang: Lang | None = None) -> str:
    lang = lang or evaluation_language(ev)
    if ev.question_id is None:
        lines = [f"# {label('no_match', lang)}", "", label("no_match_why", lang), "", label("closest", lang), ""]
        lines += [f"- `{c.id}` {c.question}" for c in ev.match.candidates]
        lines += ["", f"## {label('details', lang)}", "", f"- {label('match_detail', lang)}: "]
        lines[-1] += "; ".join(f"`{c.id}` score {c.score:.3f}, cosine {c.cosine:.3f}" for c in ev.match.candidates)
        return "\n".join(lines) + "\n"
    lines = [
        f"# {ev.question}",
        "",
        f"- {label('id', lang)}: `{ev.question_id}` · {label('topic', lang)}: {topic_label(ev.topic, lang)} · "
        f"{label('judge', lang)}: {ev.judge}" + (f" · {label('auto_rubric', lang)}" if ev.auto_rubric else ""),
    ]
    lines += [f"- {line}" for line in provenance_lines(ev, lang)]
    if sibling_note(ev, lang):
        lines.append(f"- {sibling_note(ev, lang)}")
    if judge_meta_line(ev):
        lines.append(f"- {label('judge', lang)} {judge_meta_line(ev)}")
    if ev.score is None:
        lines += ["", f"**{label('unscored_title', lang)}**: {ev.unscored_reason}"]
        return "\n".join(lines) + "\n"
    lines += [f"- **{label('score', lang)}: {ev.score:.0f}/100 ({band_label(ev.band, lang)})**", ""]
    head = [label("criterion", lang), label("weight", lang), label("verdict", lang), label("evidence", lang)]
    lines += ["| " + " | ".join(head) + " |", "|---|---|---|---|"]
    for c in ev.criteria:
        cell = _evidence(c, lang)
        why = _why(c)
        if why:
            cell += ("<br>" if cell else "") + f"*{why}*"
        cell = cell.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {c.description} | {c.weight} | {label(c.level.value, lang)} | {cell} |")
    if ev.errors:
        lines += ["", f"## {label('errors', lang)}", ""] + [f"- {e}" for e in ev.errors]
    if ev.missing:
        lines += ["", f"## {label('missing_points', lang)}", ""] + [f"- {m}" for m in ev.missing]
    if ev.feedback:
        lines += ["", f"## {label('advice', lang)}", "", ev.feedback]
    if ev.reference:
        lines += ["", f"## {label('reference', lang)}", "", ev.reference]
    lines += ["", f"## {label('details', lang)}", ""] + [f"- {d}" for d in details_lines(ev, lang)]
    return "\n".join(lines) + "\n"

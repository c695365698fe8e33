"""Transcript parsing: a mock interview -> (question, answer) turns.

Accepted input:
- Markdown / plain text with speaker labels at the start of a line, in Chinese or English:
  「面试官：」「候选人：」「问：」「答：」「追问：」「Q:」「A:」「Q1.」「Interviewer:」「Candidate:」「我：」…,
  also bold (`**面试官：**`, `**Q**:`), heading (`### 面试官`, `## Q1: …`), list or quote prefixes and
  `[00:12:03]` timestamps. Lines without a label continue the current speaker's turn.
- Markdown notes without labels: each heading that asks something is a question, the text below it
  the answer.
- JSON: `[{"question": …, "answer": …, "question_id"?: …}]` (or `{"turns": [...]}`), or chat style
  `[{"role": "interviewer" | "candidate", "content": …}]`; JSONL: one such object per line.

Turn assembly, the same for every format with speakers: chit-chat (「好的，谢谢」, "OK, thanks") is
dropped; interviewer remarks that ask nothing are dropped; an answer split over several candidate
turns (with chit-chat or remarks between them) is joined; two questions in a row, with no reply
between them, become one turn answered by the reply that follows (the matcher looks at each part);
a question whose reply is empty or only chit-chat, or that ends the transcript, is a turn with no
answer; follow-up questions (「追问」, 「那为什么…」, "What if…") keep a link to the turn they follow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evaluator.errors import InputError
from evaluator.inputs import read_text_file
from evaluator.models import TranscriptTurn
from evaluator.text import sentences

MAX_TRANSCRIPT_CHARS = 400_000
MAX_TURNS = 300
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")

Role = Literal["interviewer", "candidate"]
Format = Literal["auto", "text", "json", "jsonl"]

# label -> (role, is a question label rather than a speaker label, follow-up)
_LABELS: dict[str, tuple[Role, bool, bool]] = {
    "面试官": ("interviewer", False, False),
    "考官": ("interviewer", False, False),
    "interviewer": ("interviewer", False, False),
    "问题": ("interviewer", True, False),
    "提问": ("interviewer", True, False),
    "问": ("interviewer", True, False),
    "question": ("interviewer", True, False),
    "q": ("interviewer", True, False),
    "追问": ("interviewer", True, True),
    "follow-up": ("interviewer", True, True),
    "follow up": ("interviewer", True, True),
    "followup": ("interviewer", True, True),
    "候选人": ("candidate", False, False),
    "应聘者": ("candidate", False, False),
    "面试者": ("candidate", False, False),
    "求职者": ("candidate", False, False),
    "candidate": ("candidate", False, False),
    "interviewee": ("candidate", False, False),
    "回答": ("candidate", False, False),
    "答": ("candidate", False, False),
    "answer": ("candidate", False, False),
    "a": ("candidate", False, False),
    "我": ("candidate", False, False),
    "me": ("candidate", False, False),
}
_LETTER_LABELS = {"q", "a"}
_LABEL_RE = "|".join(re.escape(k) for k in sorted(_LABELS, key=len, reverse=True))
_TIMESTAMP = r"(?:[\[(（【]?\d{1,2}:\d{2}(?::\d{2})?[\])）】]?[ \t]*)"
_PREFIX = re.compile(rf"^[ \t]*{_TIMESTAMP}?(?P<md>#{{1,6}}[ \t]*|>[ \t]*|[-*+][ \t]+)?{_TIMESTAMP}?")
_EMPH = r"(?:\*\*|__|\*|_)"
# `面试官：…`, `**面试官：**…`, `**面试官**：…`, `Q1: …`
_COLON_FORM = re.compile(
    rf"^(?P<open>{_EMPH})?[ \t]*(?P<label>{_LABEL_RE})[ \t]*(?P<num>\d{{1,3}})?[ \t]*(?P<close>{_EMPH})?"
    rf"[ \t]*[:：][ \t]*(?P<close2>{_EMPH})?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE,
)
# `Q1. …`, `问题1、…`
_NUMBERED_FORM = re.compile(
    rf"^(?P<open>{_EMPH})?[ \t]*(?P<label>{_LABEL_RE})[ \t]*(?P<num>\d{{1,3}})[ \t]*(?P<close>{_EMPH})?"
    rf"[.、．)）][ \t]*(?P<close2>{_EMPH})?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE,
)
# `### 面试官`, `**Candidate**` alone on a line
_ALONE_FORM = re.compile(
    rf"^(?P<open>{_EMPH})?[ \t]*(?P<label>{_LABEL_RE})[ \t]*(?P<num>\d{{1,3}})?[ \t]*(?P<close>{_EMPH})?[ \t]*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(?P<text>.+?)[ \t#]*$")
_RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_LIST_NUMBER = re.compile(r"^(?:\d{1,3}|[一二三四五六七八九十]+)[.、．)）][ \t]*")

_QUESTION_CUE = re.compile(
    r"[?？]|什么|为什么|为啥|怎么|怎样|如何|哪些|哪个|哪种|哪里|是否|多少|吗|呢|介绍|讲讲|讲一下|讲一讲|说说|说一下|"
    r"说一说|谈谈|聊聊|解释|描述|比较|对比|区别|推导|分析|举例|原理|\b(?:what|why|how|which|when|where|who|explain|"
    r"describe|compare|tell me|walk me through|talk about|can you|could you|do you|is there|are there)\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"^(?:追问|那为什么|那为啥|那如果|那么为什么|那么如果|那要是|如果|假如|进一步|接着刚才|刚才你|你刚才|在此基础上|基于这个|"
    r"follow[- ]?up|what if|then why|and why|so why|building on|going back to)",
    re.IGNORECASE,
)

_CHITCHAT_TEXT = """
好的 好 嗯嗯 嗯 哦 噢 啊 呃 额 哈哈 谢谢你 谢谢您 谢谢面试官 谢谢 感谢 多谢 不客气 没问题 没关系 可以 行
明白了 明白 了解了 了解 知道了 收到 对的 对 是的 是吗 没错 不错 很好 挺好 非常好 嗯哼 然后呢 还有吗 还有呢
还有别的吗 还有其他的吗 请继续 你继续 继续 接着说 展开说说 具体说说 你好 您好 面试官好 大家好 再见 拜拜
辛苦了 辛苦 稍等 等一下 我想想 让我想想 我想一下 我们 那 那么 下一个问题 下一题 进入下一题 今天就到这里
就到这里 今天的面试就到这里 我的问题问完了 我问完了 你有什么想问我的吗 你有什么问题吗 我没有问题了 没有了
就这些 我说完了 大概就是这样 面试官
okay ok sure thanks thankyou thankyouverymuch great good nice cool right yes yeah yep gotit isee uh um hmm
hi hello bye goodbye goon pleasecontinue continue anythingelse nextquestion letsmoveon soundsgood perfect
alright allright thatsall thatsallforme interesting
"""
_CHITCHAT = sorted(set(_CHITCHAT_TEXT.split()), key=len, reverse=True)
_CHITCHAT_MAX = 40
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def is_chitchat(text: str) -> bool:
    """Short talk that carries no content: 「好的，谢谢」, 「嗯，继续」, "OK, thanks!"."""
    rest = _PUNCT.sub("", text.lower())
    if len(rest) > _CHITCHAT_MAX:
        return False
    changed = True
    while rest and changed:
        changed = False
        for phrase in _CHITCHAT:
            if rest.startswith(phrase):
                rest = rest[len(phrase) :]
                changed = True
                break
    return not rest


def asks_something(text: str) -> bool:
    return bool(_QUESTION_CUE.search(text))


def strip_chitchat(text: str) -> str:
    """The question without leading chit-chat sentences (「好的。那我们聊聊 LoRA…」 -> 「那我们聊聊 LoRA…」)."""
    parts = sentences(text)
    while parts and is_chitchat(parts[0]):
        parts.pop(0)
    if not parts:
        return ""
    first = text.find(parts[0])
    return text[first:].strip() if first >= 0 else " ".join(parts)


def question_focus(question: str) -> str:
    """The part of a question used for matching: from its first sentence that asks something.

    「嗯，说得挺全面。我们换个方向，LoRA 的原理是什么？」 is matched as 「我们换个方向，LoRA 的原理是什么？」."""
    parts = sentences(question)
    for i, s in enumerate(parts):
        if asks_something(s):
            start = question.find(s)
            return question[start:].strip() if start >= 0 and i > 0 else question.strip()
    return question.strip()


def question_parts(question: str) -> list[str]:
    """The separate questions of a turn («…ZeRO 分几个阶段？\n另外你们用的是哪一种？»), each focused."""
    lines = [ln.strip() for ln in question.split("\n") if ln.strip()]
    asked = [question_focus(ln) for ln in lines if asks_something(ln)]
    return asked if len(asked) > 1 else [question_focus(question)]


# -- speaker segments ---------------------------------------------------------------------------


@dataclass
class Segment:
    role: Role
    line: int
    lines: list[str] = field(default_factory=list)
    question_label: bool = False
    follow_up: bool = False
    question_id: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass
class _Label:
    role: Role
    question_label: bool
    follow_up: bool
    rest: str


def _match_label(line: str, letters: bool) -> _Label | None:
    prefix = _PREFIX.match(line)
    md = (prefix.group("md") or "") if prefix else ""
    body = line[prefix.end() :] if prefix else line
    for form in (_COLON_FORM, _NUMBERED_FORM, _ALONE_FORM):
        m = form.match(body)
        if m is None:
            continue
        label = m.group("label").lower()
        if label in _LETTER_LABELS and (not letters or md.strip() in {"-", "*", "+"}):
            return None  # "- Q：查询向量" inside an answer is content, not a speaker
        if form is _ALONE_FORM and not (md.startswith("#") or m.group("open") or len(label) > 1):
            return None
        rest = m.groupdict().get("rest") or ""
        opener = m.group("open")
        if opener and not m.group("close") and not m.groupdict().get("close2") and rest.endswith(opener):
            rest = rest[: -len(opener)]  # `**面试官：为什么？**`
        role, question_label, follow_up = _LABELS[label]
        return _Label(role, question_label, follow_up, rest.strip())
    return None


def _uses_letter_labels(lines: list[str]) -> bool:
    """Q:/A: count as speakers only when the transcript does not name its speakers with words."""
    word_hits = 0
    for line in lines:
        hit = _match_label(line, letters=False)
        if hit is not None:
            word_hits += 1
            if word_hits >= 2:
                return False
    return True


def speaker_segments(text: str) -> list[Segment]:
    """Split labelled text into speaker segments; lines without a label continue the current one."""
    lines = text.split("\n")
    letters = _uses_letter_labels(lines)
    segments: list[Segment] = []
    current: Segment | None = None
    in_fence = False
    for number, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            if current is not None:
                current.lines.append(line)
            continue
        if in_fence:
            if current is not None:
                current.lines.append(line)
            continue
        label = _match_label(line, letters)
        if label is not None:
            current = Segment(label.role, number, [label.rest] if label.rest else [], label.question_label,
                              label.follow_up)  # fmt: skip
            segments.append(current)
        elif _HEADING.match(line):
            current = None  # a section title ("## 第二轮：分布式") ends the current turn
        elif _RULE.match(line):
            continue
        elif current is not None:
            current.lines.append(line.rstrip())
    return segments


def heading_segments(text: str) -> list[Segment]:
    """Markdown notes without speakers: a heading that asks something is a question, its body the answer."""
    segments: list[Segment] = []
    current: Segment | None = None
    in_fence = False
    for number, line in enumerate(text.split("\n"), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading is not None:
            title = _LIST_NUMBER.sub("", heading.group("text").strip("*_ ")).strip()
            if asks_something(title):
                segments.append(Segment("interviewer", number, [title], question_label=True))
                current = Segment("candidate", number + 1)
                segments.append(current)
            else:
                current = None
        elif current is not None and not _RULE.match(line):
            current.lines.append(line.rstrip())
    return [s for s in segments if s.text or s.role == "interviewer"]


# -- turns ----------------------------------------------------------------------------------------


@dataclass
class _Pending:
    question: str
    line: int | None
    follow_up: bool
    question_id: str | None = None
    responded: bool = False
    answers: list[str] = field(default_factory=list)


def assemble_turns(segments: list[Segment]) -> list[TranscriptTurn]:
    """Speaker segments -> turns (see the module docstring for the rules)."""
    pending: list[_Pending] = []
    for seg in segments:
        if seg.role == "interviewer":
            question = strip_chitchat(seg.text)
            if not question or (not seg.question_label and not asks_something(question)):
                continue  # chit-chat or a remark ("嗯，这个点说得挺清楚。")
            last = pending[-1] if pending else None
            if last is not None and not last.responded and last.question_id is None and seg.question_id is None:
                last.question = f"{last.question}\n{question}"  # two questions in a row: one answer follows
                continue
            follow_up = seg.follow_up or bool(_FOLLOW_UP.match(question))
            pending.append(_Pending(question, seg.line, follow_up and bool(pending), seg.question_id))
        elif pending:
            pending[-1].responded = True  # even an empty or chit-chat reply: the question got its turn
            if seg.text and not is_chitchat(seg.text):
                pending[-1].answers.append(seg.text)
    turns = []
    for i, p in enumerate(pending, start=1):
        turns.append(
            TranscriptTurn(
                index=i, question=p.question, answer="\n\n".join(p.answers).strip(), line=p.line,
                follow_up_of=_parent(pending, i) if p.follow_up else None, question_id=p.question_id,
            )
        )  # fmt: skip
    return turns


def _parent(pending: list[_Pending], index: int) -> int | None:
    """A follow-up follows the closest earlier turn that is not itself a follow-up."""
    for j in range(index - 1, 0, -1):
        if not pending[j - 1].follow_up:
            return j
    return index - 1 if index > 1 else None


# -- JSON / JSONL -----------------------------------------------------------------------------------

_QUESTION_KEYS = ("question", "q", "prompt")
_ANSWER_KEYS = ("answer", "a", "response", "reply")
_ROLE_KEYS = ("role", "speaker", "from")
_CONTENT_KEYS = ("content", "text", "message", "value")
_INTERVIEWER_ROLES = {"interviewer", "面试官", "q", "question", "问", "考官"}
_CANDIDATE_ROLES = {"candidate", "候选人", "interviewee", "a", "answer", "me", "我", "答", "面试者", "应聘者"}


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for k in keys:
        if k in item:
            return k, item[k]
    return None, None


def _text_value(name: str, where: str, key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value).strip()  # an answer given as a list of paragraphs
    raise InputError(f"{name}: {where}: {key!r} must be text, not {type(value).__name__}")


def turns_from_items(items: list[Any], name: str, where: str = "item") -> list[TranscriptTurn]:
    """JSON objects -> turns: question/answer objects, or chat messages with a role."""
    if not items:
        raise InputError(f"{name}: no turns (the list is empty)")
    if all(isinstance(it, dict) and _first(it, _ROLE_KEYS)[0] for it in items):
        return assemble_turns(_chat_segments(items, name, where))
    turns: list[TranscriptTurn] = []
    for n, item in enumerate(items, start=1):
        place = f"{where} {n}"
        if not isinstance(item, dict):
            raise InputError(f'{name}: {place}: expected an object with "question" and "answer"')
        qkey, qval = _first(item, _QUESTION_KEYS)
        if qkey is None:
            raise InputError(f'{name}: {place}: missing "question"')
        question = _text_value(name, place, qkey, qval)
        if not question:
            raise InputError(f'{name}: {place}: "question" is empty')
        akey, aval = _first(item, _ANSWER_KEYS)
        answer = _text_value(name, place, akey or "answer", aval)
        qid = item.get("question_id")
        if qid is not None and not isinstance(qid, str):
            raise InputError(f'{name}: {place}: "question_id" must be text')
        turns.append(TranscriptTurn(index=n, question=question, answer=answer, line=None, question_id=qid or None))
    return turns


def _chat_segments(items: list[Any], name: str, where: str) -> list[Segment]:
    segments: list[Segment] = []
    for n, item in enumerate(items, start=1):
        rkey, role = _first(item, _ROLE_KEYS)
        ckey, content = _first(item, _CONTENT_KEYS)
        place = f"{where} {n}"
        role_name = str(role).strip().lower()
        if role_name in _INTERVIEWER_ROLES:
            kind: Role = "interviewer"
        elif role_name in _CANDIDATE_ROLES:
            kind = "candidate"
        else:
            raise InputError(f"{name}: {place}: unknown {rkey} {role!r} (expected interviewer or candidate)")
        text = _text_value(name, place, ckey or "content", content)
        segments.append(Segment(kind, n, [text] if text else []))
    return segments


def parse_json(text: str, name: str) -> list[TranscriptTurn]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from exc
    if isinstance(data, dict) and any(k in data for k in _QUESTION_KEYS):
        data = [data]  # a single turn
    if isinstance(data, dict):
        key = next((k for k in ("turns", "transcript", "messages", "items") if isinstance(data.get(k), list)), None)
        if key is None:
            raise InputError(f'{name}: expected a JSON list of {{"question", "answer"}} objects')
        data = data[key]
    if not isinstance(data, list):
        raise InputError(f'{name}: expected a JSON list of {{"question", "answer"}} objects')
    return turns_from_items(data, name)


def parse_jsonl(text: str, name: str) -> list[TranscriptTurn]:
    items: list[Any] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}: line {number}: invalid JSON ({exc.msg})") from exc
    return turns_from_items(items, name, where="line")


# -- entry points ----------------------------------------------------------------------------------


def _looks_like_jsonl(text: str) -> bool:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return len(lines) > 1 and all(ln.startswith("{") and ln.endswith("}") for ln in lines)


def parse_transcript(text: str, name: str = "<transcript>", fmt: Format = "auto") -> list[TranscriptTurn]:
    """Parse transcript text (any supported format) into numbered turns. Raises InputError."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{name}: the transcript is empty")
    stripped = text.strip()
    if fmt == "auto":
        if _looks_like_jsonl(stripped):
            fmt = "jsonl"
        elif stripped[0] in "[{":
            try:
                json.loads(stripped)
                fmt = "json"
            except json.JSONDecodeError:
                fmt = "json" if not speaker_segments(text) else "text"
        else:
            fmt = "text"
    if fmt == "json":
        turns = parse_json(stripped, name)
    elif fmt == "jsonl":
        turns = parse_jsonl(text, name)
    else:
        segments = speaker_segments(text) or heading_segments(text)
        if not segments:
            raise InputError(
                f"{name}: no question/answer turns found (expected speaker labels such as 面试官：/候选人：, "
                "问：/答：, Q:/A:, Interviewer:/Candidate:, or JSON)"
            )
        turns = assemble_turns(segments)
    if not turns:
        raise InputError(f"{name}: no questions found (only chit-chat or remarks)")
    if len(turns) > MAX_TURNS:
        raise InputError(f"{name}: {len(turns)} turns; the limit is {MAX_TURNS}")
    if all(not t.answer for t in turns):
        raise InputError(f"{name}: no answers found (every question is unanswered; check the speaker labels)")
    return turns


def _format_for(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    return "auto"


def load_transcript(source: str | Path) -> tuple[str, list[TranscriptTurn]]:
    """A transcript file path (or '-' for stdin), or the transcript text itself -> (name, turns).

    A str is a path when it is one line naming an existing file, or '-', or ends like a transcript
    file name; anything else is transcript text."""
    if isinstance(source, Path) or _is_path_like(source):
        path = Path(source)
        name = str(source) if str(source) != "-" else "<stdin>"
        text = read_text_file(source, max_chars=MAX_TRANSCRIPT_CHARS, what="transcript")
        return name, parse_transcript(text, name, _format_for(path))
    if len(source) > MAX_TRANSCRIPT_CHARS:
        raise InputError(f"<transcript>: {len(source)} characters; the limit is {MAX_TRANSCRIPT_CHARS}")
    return "<transcript>", parse_transcript(source, "<transcript>")


def _is_path_like(source: str) -> bool:
    if source == "-":
        return True
    if "\n" in source or len(source) > 1024 or not source.strip():
        return False
    if source.lower().endswith(TEXT_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES):
        return True
    try:
        return Path(source).is_file()
    except OSError:
        return False

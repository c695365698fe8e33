"""Text helpers: split an answer into quotable units, detect language, normalize for search."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s+|\n+")
_CLAUSE = re.compile(r"(?<=[，,：:])")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_NEGATION = re.compile(
    r"(不是|并非|并不|而不是|而非|不能说|不应|不需要|不用|无需|不必|没有|并没有|不会|不再|错误的|误区|"
    r"\bnot\b|n't\b|\bno need\b|\bwithout\b)",
    re.I,
)
MIN_UNIT_CHARS = 4
LONG_SENTENCE_CHARS = 60


def split_units(answer: str) -> list[str]:
    """Sentences of the answer, plus the clauses of long sentences; each unit is verbatim."""
    units: list[str] = []
    for raw in _SENTENCE_END.split(answer):
        sentence = raw.strip().strip("-*•").strip()
        if len(sentence) < MIN_UNIT_CHARS:
            continue
        units.append(sentence)
        if len(sentence) > LONG_SENTENCE_CHARS:
            clauses = [c.strip() for c in _CLAUSE.split(sentence)]
            units += [c for c in clauses if len(c) >= MIN_UNIT_CHARS * 2 and c != sentence]
    return list(dict.fromkeys(units))


def is_chinese(text: str) -> bool:
    """Mostly Chinese, counting each Latin word once: 「用 KV cache 加速 decode」 is Chinese."""
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return cjk > 0 and cjk / (cjk + words) >= 0.3


def negated(unit: str) -> bool:
    return bool(_NEGATION.search(unit))


def squash(text: str) -> str:
    """Lower-case with whitespace removed: for keyword and evidence look-ups."""
    return "".join(text.lower().split())


def contains_quote(answer: str, quote: str) -> bool:
    """Whether `quote` occurs in the answer, ignoring case, whitespace and outer punctuation."""
    q = squash(quote).strip("\"'“”‘’「」。.,，")
    return bool(q) and q in squash(answer)

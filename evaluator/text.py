"""Text helpers: split an answer into quotable units, detect language, normalize for search."""

from __future__ import annotations

import re

# A full stop ends a sentence unless it ends an abbreviation: 「Qi et al. 2023 发现……」 is one sentence.
_SENTENCE_END = re.compile(
    r"(?<=[。！？!?；;])|(?<!\bal\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)(?<!\bcf\.)"
    r"(?<!\bFig\.)(?<!\bEq\.)(?<=\.)\s+|\n+"
)
_CLAUSE = re.compile(r"(?<=[，,：:])")


def sentences(text: str) -> list[str]:
    """The sentences of a text, stripped (an answer, a transcript turn, an interviewer's question)."""
    return [raw.strip() for raw in _SENTENCE_END.split(text) if raw and raw.strip()]


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_NEGATION = re.compile(
    r"(不是|并非|并不|而不是|而非|不能|不应|不需要|不用|无需|不必|没有|并没有|不会|不再|错误的|误区|无法|"
    r"不增加|不减少|不影响|不改变|不依赖|不支持|不参与|不存在|"
    # Softer or verb-specific denials a candidate writes just as often: 「没那么必要」「不考虑遗忘」.
    r"没那么|没必要|不必要|不考虑|不做|不要|不可能|不一定|未必|不等价|不成立|不适用|不相同|不一样|"
    r"\bnot\b|n't\b|\bno need\b|\bwithout\b)",
    re.I,
)
_LIST_SEP = re.compile(r"[、，,；;：:]")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[A-Za-z0-9_.+\-^√²×=()\[\]{}]+")
# Words that make a clause a statement rather than a name: a bare term rarely contains them.
_PREDICATE = re.compile(
    r"(是|会|把|被|让|使|了|就|都|也|越|更|很|只|再|还|才|可以|能够|需要|因为|所以|导致|通过|如果|但是|而且|用来|用于|"
    r"不是|不会|没有|\b(?:is|are|was|be|has|have|can|will|so|the|a|an|to|of|for|with|and|or|by|it|we|that|this|as|on|in)\b)",
    re.I,
)
ENUMERATION_MIN_ITEMS = 5
SHORT_LIST_MIN_ITEMS = 3
_HEADING = re.compile(r"^[^，,。：:]{1,24}[：:]")
TERM_MAX_TOKENS = 8
ENUMERATION_TERM_SHARE = 0.7
MIN_UNIT_CHARS = 4
LONG_SENTENCE_CHARS = 20


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


def is_enumeration(unit: str) -> bool:
    """A bare list of terms: at least 5 items, most of them short names without a verb
    (「KV Cache：自回归、prefill、decode、GQA、MQA」), or a short list of nothing but names joined by 、
    (「PET：cloze、verbalizer、[MASK]」). Such a unit names points without explaining any of them."""
    items = [s.strip() for s in _LIST_SEP.split(unit) if s.strip()]
    is_term = [len(_TOKEN.findall(s)) <= TERM_MAX_TOKENS and not _PREDICATE.search(s) for s in items]
    if len(items) >= ENUMERATION_MIN_ITEMS:
        return sum(is_term) / len(items) >= ENUMERATION_TERM_SHARE
    body = _HEADING.sub("", unit.strip()).rstrip("。.；;")
    short_list = [s.strip() for s in body.split("、")]
    return (
        len(short_list) >= SHORT_LIST_MIN_ITEMS
        and not re.search(r"[，,；;]", body)
        and all(s and len(_TOKEN.findall(s)) <= TERM_MAX_TOKENS and not _PREDICATE.search(s) for s in short_list)
    )


def prose_text(answer: str) -> str:
    """The answer without its bare lists of terms and without repeated sentences: what the similarity
    to the reference is measured on, so that listing the reference's vocabulary does not pass for
    explaining it, nor saying a sentence twice for saying more. '' if nothing is left."""
    said = sentences(answer)
    kept = [x for x in dict.fromkeys(said) if not is_enumeration(x)]
    if len(kept) == len(said):
        return answer.strip()
    return "\n".join(kept)


def distinct_text(answer: str) -> str:
    """The answer with each sentence once, in order: a sentence said twice is said once."""
    said = sentences(answer)
    distinct = list(dict.fromkeys(said))
    return answer.strip() if len(distinct) == len(said) else "\n".join(distinct)


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.+\-]*[A-Za-z0-9]")
_NAME_JOINERS = re.compile(r"[\s_\-]+")


def names(text: str) -> set[str]:
    """Latin-script names in a text (FlashAttention, TensorRT-LLM, GPT-3), normalized for matching:
    lower-case, without spaces, hyphens or underscores."""
    return {_NAME_JOINERS.sub("", m.lower()) for m in _NAME.findall(text)}


def mentions_any(text: str, wanted: set[str]) -> bool:
    """Whether the text names one of `wanted` (as returned by `names`), however it spaces them."""
    flat = _NAME_JOINERS.sub("", text.lower())
    return any(n in flat for n in wanted)

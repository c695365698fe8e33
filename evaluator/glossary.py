"""English answers read in the bank's terms: the offline judge glosses English prose word by word.

The embedding model (m3e-small) was trained on Chinese; it places an English sentence far from the
Chinese rubric point that says the same thing (a correct English answer met about 5 of 100 rubric
points' worth on the candidate-worded set, graded ~86 by people). Glossed, 「the variance of the dot
product grows with the dimension」 reads 「the 方差 of the 点积 增长 with the 维度」, the mixed wording
Chinese engineers write and the model reads well. Only what the judge compares is glossed: evidence
is quoted from the answer as written.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from evaluator.errors import EmbeddingError
from evaluator.text import is_chinese

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "glossary.tsv"
# Words that carry nothing the rubric asks about: left out of what is read, not translated.
_FILLER = re.compile(
    r"(?<![A-Za-z0-9_'-])(?:the|a|an|of|is|are|was|were|be|been|it|its|this|that|these|those|to|and|in|on|for|"
    r"with|as|by|at|which|so|we|you|they|there|then|just|also|very|really|basically)(?![A-Za-z0-9_'-])",
    re.IGNORECASE,
)
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?)])")


def _key(english: str) -> str:
    """An English phrase as the glossary keys it: lower case, single spaces."""
    return " ".join(english.lower().split())


@lru_cache(maxsize=2)
def load_glossary(path: Path = GLOSSARY_FILE) -> tuple[re.Pattern[str], dict[str, str]]:
    """(pattern matching any English entry, longest first and as whole words; entry -> Chinese term)."""
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        english, tab, chinese = line.partition("\t")
        if not tab or not english.strip() or not chinese.strip():
            raise EmbeddingError(f"glossary {path}:{n}: expected 'english<TAB>中文'")
        entries[_key(english)] = chinese.strip()
    words = sorted(entries, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in words)
    pattern = re.compile(rf"(?<![A-Za-z0-9_-])(?:{alternatives})(?![A-Za-z0-9_-])", re.IGNORECASE)
    return pattern, entries


def gloss(text: str) -> str:
    """English words with a glossary entry replaced by their Chinese term; filler words dropped."""
    pattern, entries = load_glossary()
    parts, at = [], 0
    for m in pattern.finditer(text):
        parts += [_FILLER.sub(" ", text[at : m.start()]), f" {entries[_key(m.group(0))]} "]
        at = m.end()
    parts.append(_FILLER.sub(" ", text[at:]))
    return _SPACE_BEFORE_MARK.sub(r"\1", " ".join("".join(parts).split()))


def as_read(text: str) -> str:
    """A text as the offline judge compares it: English prose glossed, Chinese (mixed) prose as is."""
    return text if not text.strip() or is_chinese(text) else gloss(text)

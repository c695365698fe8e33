"""Which bank entry a user's question text asks: ranking and the confidence rule.

Score of an entry = best e5 cosine between the question and one of the entry's phrasings (question +
aliases, all normalized) + a weighted char n-gram similarity (typos, Chinese keywords) + a term
agreement part: the named terms of the question (idf-weighted) found in the entry's phrasings
(full credit) or only in its reference answer (half credit), minus a share for terms the entry's
question names that the user's does not. A match is confident when the top score clears a floor
and leads the runner-up by a margin, or is high enough on its own.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from .question_text import focus, named_terms, normalize, terms

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .bank import QuestionBank
    from .multilingual import MultilingualEmbedder

PARAMS_FILE = Path(__file__).with_name("data") / "question_match.json"
REFERENCE_TERM_CREDIT = 0.5


class QuestionMatchParams(BaseModel):
    """Weights of the ranking and the confidence rule (fitted by scripts/fit_question_match.py)."""

    model_config = ConfigDict(extra="forbid")

    lexical: float = 0.3
    term: float = 0.15
    conflict: float = 0.05
    min_score: float = 0.85
    margin: float = 0.03
    sure: float = 0.97
    fitted_on: str = ""


def load_params(path: Path = PARAMS_FILE) -> QuestionMatchParams:
    try:
        return QuestionMatchParams.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return QuestionMatchParams()


def save_params(params: QuestionMatchParams, path: Path = PARAMS_FILE) -> None:
    path.write_text(json.dumps(params.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class QuestionHit:
    qid: str
    score: float
    cosine: float  # best e5 cosine to one of the entry's phrasings
    lexical: float
    terms: float  # share of the question's named terms the entry has (1 when the question names none)


def phrasing_texts(bank: QuestionBank) -> list[str]:
    """The normalized phrasings the matcher embeds."""
    return list(dict.fromkeys(normalize(p) for q in bank for p in q.phrasings))


class QuestionIndex:
    """The bank's phrasings, searchable by e5 vector, char n-grams and named terms."""

    def __init__(self, bank: QuestionBank, vectors: dict[str, np.ndarray], params: QuestionMatchParams):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.params = params
        self.ids = [q.id for q in bank]
        rows: list[str] = []
        entry_of_row: list[int] = []
        for i, q in enumerate(bank):
            for p in dict.fromkeys(normalize(p) for p in q.phrasings):
                rows.append(p)
                entry_of_row.append(i)
        self.rows = rows
        self.entry_of_row = np.array(entry_of_row)
        self.matrix = np.stack([vectors[r] for r in rows]).astype(np.float32)
        self._tfidf: TfidfVectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        self._lex = self._tfidf.fit_transform(rows)
        self.row_terms = [terms(r) for r in rows]
        self._reference_terms = [terms(q.reference) for q in bank]
        # Names the entry's own question is about (「QLoRA」「DQN」): a user who names none of them
        # is probably asking a sibling.
        self._names = [named_terms(q.question) for q in bank]
        self._rows_of = [np.flatnonzero(self.entry_of_row == i) for i in range(len(self.ids))]
        df: dict[str, int] = defaultdict(int)
        for i in range(len(self.ids)):
            for t in self._entry_terms(i, None) | self._reference_terms[i]:
                df[t] += 1
        self._n = len(self.ids)
        self._idf = {t: math.log((self._n + 1) / c) for t, c in df.items()}

    def _entry_terms(self, i: int, exclude_row: int | None) -> frozenset[str]:
        return frozenset().union(*(self.row_terms[r] for r in self._rows_of[i] if r != exclude_row))

    def _per_entry(self, row_scores: np.ndarray) -> np.ndarray:
        best = np.full(len(self.ids), -1.0, np.float32)
        np.maximum.at(best, self.entry_of_row, row_scores.astype(np.float32))
        return best

    def features(
        self, text: str, vector: np.ndarray, exclude_row: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per entry: e5 cosine, char n-gram cosine, term agreement, term conflict.

        `exclude_row` leaves one phrasing out (fitting: an alias must find its entry through the others).
        """
        query = focus(text)
        row_cos = self.matrix @ vector.astype(np.float32)
        row_lex = np.asarray((self._lex @ self._tfidf.transform([query]).T).todense()).ravel()
        if exclude_row is not None:
            row_cos[exclude_row] = row_lex[exclude_row] = -1.0
        cosine, lexical = self._per_entry(row_cos), self._per_entry(row_lex)
        asked = terms(query)
        chinese = any("\u3400" <= ch <= "\u9fff" for ch in query)
        unknown_weight = math.log(self._n + 1)
        # In a Chinese question every Latin word is a name; in an English one only words the bank knows
        # or that are written like names (LoRA, GPT-3) are, and the rest is ordinary English.
        named = {
            t: self._idf.get(t, unknown_weight) for t in asked if t in self._idf or chinese or t in named_terms(text)
        }
        agree = np.ones(len(self.ids), np.float32)
        conflict = np.zeros(len(self.ids), np.float32)
        total = sum(named.values())
        for i in range(len(self.ids)):
            have = self._entry_terms(
                i, exclude_row if exclude_row is not None and i == self.entry_of_row[exclude_row] else None
            )
            if named:
                agree[i] = (
                    sum(
                        w * (1.0 if t in have else REFERENCE_TERM_CREDIT if t in self._reference_terms[i] else 0.0)
                        for t, w in named.items()
                    )
                    / total
                )
            extra = [t for t in self._names[i] if t not in asked and not _part_of(t, asked)]
            if extra:
                conflict[i] = 1.0
        return cosine, lexical, agree, conflict

    def combine(self, cosine: np.ndarray, lexical: np.ndarray, agree: np.ndarray, conflict: np.ndarray) -> np.ndarray:
        p = self.params
        return cosine + p.lexical * lexical + p.term * (agree - 1.0) - p.conflict * conflict

    def rank(self, text: str, vector: np.ndarray, k: int) -> list[QuestionHit]:
        cosine, lexical, agree, conflict = self.features(text, vector)
        score = self.combine(cosine, lexical, agree, conflict)
        order = np.argsort(-score)[:k]
        return [
            QuestionHit(self.ids[i], float(score[i]), float(cosine[i]), float(lexical[i]), float(agree[i]))
            for i in order
        ]

    def confident(self, hits: list[QuestionHit]) -> bool:
        if not hits:
            return False
        return is_confident(hits[0].score, hits[0].score - hits[1].score if len(hits) > 1 else 1.0, self.params)


def is_confident(top: float, margin: float, p: QuestionMatchParams) -> bool:
    return top >= p.sure or (top >= p.min_score and margin >= p.margin)


def _part_of(term: str, asked: frozenset[str]) -> bool:
    """A joined pair the user wrote as parts, or a word inside one the user wrote joined."""
    return any(term in a or a in term for a in asked if len(a) > 2)


def load_question_index(
    bank: QuestionBank, embedder: MultilingualEmbedder, home: Path, params: QuestionMatchParams | None = None
) -> QuestionIndex:
    """Phrasing vectors from the shipped store and the user's, embedding only what neither has."""
    from .vector_store import merge_store, read_store, shipped_path, text_key

    texts = phrasing_texts(bank)
    known = read_store(shipped_path(embedder.name))
    user_path = home / "vectors" / shipped_path(embedder.name).name
    known |= read_store(user_path)
    missing = [t for t in texts if text_key(t) not in known]
    if missing:
        fresh = {text_key(t): v for t, v in zip(missing, embedder.encode(missing), strict=True)}
        merge_store(user_path, fresh)
        known |= fresh
    return QuestionIndex(bank, {t: known[text_key(t)] for t in texts}, params or load_params())

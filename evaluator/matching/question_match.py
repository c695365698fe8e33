"""Which bank entry a user's question text asks: ranking and the confidence rule.

Score of an entry = best e5 cosine between the question and one of the entry's phrasings (question +
aliases, all normalized) + a weighted char n-gram similarity (typos, Chinese keywords) + a term
agreement part: the named terms of the question (idf-weighted) found in the entry's phrasings
(full credit) or only in its reference answer (half credit), minus a share for terms the entry's
question names that the user's does not. A match is confident when a small logistic model over the
top hit (its score, its lead over the runner-up, its cosine, its term agreement and conflict) puts
the chance that it is right above a threshold fitted to keep confident mistakes near 1%.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from evaluator.errors import ConfigError
from evaluator.matching.question_text import focus, named_terms, normalize, terms
from evaluator.matching.tfidf import CharTfidf

if TYPE_CHECKING:
    from evaluator.bank.loader import QuestionBank
    from evaluator.encoders.multilingual import MultilingualEmbedder

PARAMS_FILE = Path(__file__).resolve().parent.parent / "data" / "question_match.json"  # evaluator/data
REFERENCE_TERM_CREDIT = 0.5


class QuestionMatchParams(BaseModel):
    """Weights of the ranking and the confidence rule (fitted by scripts/fit_question_match.py)."""

    model_config = ConfigDict(extra="forbid")

    lexical: float = 0.3
    term: float = 0.15
    conflict: float = 0.05
    # Confidence: a logistic model over the top hit's score, its lead over the runner-up, its cosine,
    # its term agreement, conflict and strongest missing term, and the question's language;
    # confident at or above `threshold`.
    weights: tuple[float, ...] = (10.0, 40.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    bias: float = -10.0
    threshold: float = 0.5
    # A question this far below the bank's phrasings is not near any entry (an answer may not rescue it).
    min_score: float = 0.85
    fitted_on: str = ""


def load_params(path: Path = PARAMS_FILE) -> QuestionMatchParams:
    try:
        return QuestionMatchParams.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return QuestionMatchParams()
    except ValidationError as exc:
        raise ConfigError(f"{path}: not valid matching parameters ({exc.errors()[0]['msg']})") from exc


def save_params(params: QuestionMatchParams, path: Path = PARAMS_FILE) -> None:
    path.write_text(json.dumps(params.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class QuestionHit:
    qid: str
    score: float
    cosine: float  # best e5 cosine to one of the entry's phrasings
    lexical: float
    terms: float  # share of the question's named terms the entry has (1 when the question names none)
    conflict: float  # 1 when the entry's question names a term the user's does not
    missing: float  # weight of the user's strongest named term this entry lacks (0: lacks none)
    chinese: bool  # the question is written in Chinese (its scores run higher than English ones)


@dataclass(frozen=True)
class EntryFeatures:
    """One question's features against every entry (arrays indexed like QuestionIndex.ids)."""

    cosine: np.ndarray
    lexical: np.ndarray
    agree: np.ndarray
    conflict: np.ndarray
    missing: np.ndarray
    chinese: bool


def top_hits(index: QuestionIndex, f: EntryFeatures, score: np.ndarray, k: int) -> list[QuestionHit]:
    order = np.argsort(-score)[:k]
    return [
        QuestionHit(index.ids[i], float(score[i]), float(f.cosine[i]), float(f.lexical[i]), float(f.agree[i]),
                    float(f.conflict[i]), float(f.missing[i]), f.chinese)
        for i in order
    ]  # fmt: skip


def phrasing_texts(bank: QuestionBank) -> list[str]:
    """The normalized phrasings the matcher embeds."""
    return list(dict.fromkeys(normalize(p) for q in bank for p in q.phrasings))


class QuestionIndex:
    """The bank's phrasings, searchable by e5 vector, char n-grams and named terms."""

    def __init__(self, bank: QuestionBank, vectors: dict[str, np.ndarray], params: QuestionMatchParams):
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
        self._tfidf = CharTfidf(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        self._lex = self._tfidf.fit_transform(rows)
        self.row_terms = [terms(r) for r in rows]
        self._reference_terms = [terms(q.reference) for q in bank]
        # Names the entry's own question is about (「QLoRA」「DQN」): a user who names none of them
        # is probably asking a sibling.
        self._name_sets = [frozenset(t for t in named_terms(q.question) if len(t) > 2) for q in bank]
        self._rows_of = [np.flatnonzero(self.entry_of_row == i) for i in range(len(self.ids))]
        self._row_of_text: dict[str, list[int]] = defaultdict(list)
        for r, text in enumerate(rows):
            self._row_of_text[text].append(r)
        self._terms_of = [self._entry_terms(i, None) for i in range(len(self.ids))]
        df: dict[str, int] = defaultdict(int)
        for i in range(len(self.ids)):
            for t in self._terms_of[i] | self._reference_terms[i]:
                df[t] += 1
        self._n = len(self.ids)
        self._idf = {t: math.log((self._n + 1) / c) for t, c in df.items()}
        self._unknown = math.log(self._n + 1)  # a term no entry names weighs as the rarest
        self._term_col = {t: j for j, t in enumerate(sorted(df))}
        self._credits = np.zeros((self._n, len(self._term_col)), np.float32)
        for i in range(self._n):
            for t in self._reference_terms[i]:
                self._credits[i, self._term_col[t]] = REFERENCE_TERM_CREDIT
            for t in self._terms_of[i]:
                self._credits[i, self._term_col[t]] = 1.0
        names = sorted({t for i in range(self._n) for t in self._name_sets[i]})
        self._name_col = {t: j for j, t in enumerate(names)}
        self._names = np.zeros((self._n, len(names)), np.float32)
        for i in range(self._n):
            for t in self._name_sets[i]:
                self._names[i, self._name_col[t]] = 1.0

    def rows_of(self, entry: int) -> np.ndarray:
        """Rows (phrasings) of one entry."""
        return self._rows_of[entry]

    def _entry_terms(self, i: int, exclude_row: int | None) -> frozenset[str]:
        return frozenset().union(*(self.row_terms[r] for r in self._rows_of[i] if r != exclude_row))

    def _per_entry(self, row_scores: np.ndarray) -> np.ndarray:
        best = np.full(len(self.ids), -1.0, np.float32)
        np.maximum.at(best, self.entry_of_row, row_scores.astype(np.float32))
        return best

    def features(self, text: str, vector: np.ndarray, exclude_row: int | None = None) -> EntryFeatures:
        """Every entry's features for one question.

        `exclude_row` leaves one phrasing out (fitting: an alias must find its entry through the others).
        """
        query = focus(text)
        row_cos = self.matrix @ vector.astype(np.float32)
        row_lex = np.asarray((self._lex @ self._tfidf.transform([query]).T).todense()).ravel()
        if exclude_row is not None:
            row_cos[exclude_row] = row_lex[exclude_row] = -1.0
        asked = terms(query)
        chinese = any("\u3400" <= ch <= "\u9fff" for ch in query)
        # In a Chinese question every Latin word is a name; in an English one only words the bank knows
        # or that are written like names (LoRA, GPT-3) are, and the rest is ordinary English.
        named = {
            t: self._idf.get(t, self._unknown) for t in asked if t in self._idf or chinese or t in named_terms(text)
        }
        credit = np.ones((len(self.ids), 0), np.float32)
        weights = np.array(list(named.values()), np.float32)
        if named:
            credit = np.stack([self._credit(t) for t in named], axis=1)
            if exclude_row is not None:
                left_out = int(self.entry_of_row[exclude_row])
                have = self._entry_terms(left_out, exclude_row)
                credit[left_out] = [1.0 if t in have else REFERENCE_TERM_CREDIT if t in self._reference_terms[left_out]
                                    else 0.0 for t in named]  # fmt: skip
        agree = credit @ weights / weights.sum() if named else np.ones(len(self.ids), np.float32)
        missing = (weights[None, :] * (1.0 - credit)).max(axis=1) / self._unknown if named else np.zeros(len(self.ids))
        covered = [j for t, j in self._name_col.items() if t in asked or _part_of(t, asked)]
        conflict = (self._names.sum(axis=1) > self._names[:, covered].sum(axis=1)).astype(np.float32)
        return EntryFeatures(
            self._per_entry(row_cos), self._per_entry(row_lex), agree.astype(np.float32), conflict,
            missing.astype(np.float32), chinese,
        )  # fmt: skip

    def _credit(self, term: str) -> np.ndarray:
        """How far each entry names a term: in its phrasings 1, only in its reference ½, else 0."""
        j = self._term_col.get(term)
        return self._credits[:, j] if j is not None else np.zeros(len(self.ids), np.float32)

    def combine(self, f: EntryFeatures) -> np.ndarray:
        p = self.params
        return f.cosine + p.lexical * f.lexical + p.term * (f.agree - 1.0) - p.conflict * f.conflict

    def rank(self, text: str, vector: np.ndarray, k: int) -> list[QuestionHit]:
        f = self.features(text, vector)
        return top_hits(self, f, self.combine(f), k)

    def exact(self, text: str) -> str | None:
        """The entry whose question or alias the user typed exactly (up to punctuation, case, width, spacing)."""
        entries = {int(self.entry_of_row[r]) for r in self._row_of_text.get(focus(text), ())}
        return self.ids[entries.pop()] if len(entries) == 1 else None

    def confidence(self, hits: list[QuestionHit]) -> float:
        """Estimated probability that the top hit is the entry the user asked (0 without hits)."""
        if not hits:
            return 0.0
        return confidence(confidence_features(hits), self.params)

    def confident(self, hits: list[QuestionHit]) -> bool:
        return bool(hits) and self.confidence(hits) >= self.params.threshold


def confidence_features(hits: list[QuestionHit]) -> tuple[float, ...]:
    top = hits[0]
    margin = top.score - hits[1].score if len(hits) > 1 else 1.0
    return (top.score, margin, top.cosine, top.terms, top.conflict, top.missing, float(top.chinese))


def confidence(features: tuple[float, ...], p: QuestionMatchParams) -> float:
    z = p.bias + sum(w * x for w, x in zip(p.weights, features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def _part_of(term: str, asked: frozenset[str]) -> bool:
    """A joined pair the user wrote as parts, or a word inside one the user wrote joined."""
    return any(term in a or a in term for a in asked if len(a) > 2)


def load_question_index(
    bank: QuestionBank, embedder: MultilingualEmbedder, home: Path, params: QuestionMatchParams | None = None
) -> QuestionIndex:
    """Phrasing vectors from the shipped store and the user's, embedding only what neither has."""
    from evaluator.encoders.vector_store import merge_store, read_store, shipped_path, text_key

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

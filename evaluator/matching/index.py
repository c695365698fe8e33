"""FAISS index over the bank, persisted in the cache dir and keyed by bank hash + model."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from evaluator.bank.loader import QuestionBank
from evaluator.bank.statements import criterion_text, error_claim, reference_units
from evaluator.encoders.embedder import Embedder
from evaluator.encoders.vector_store import atomic_write, merge_store, read_store, shipped_path, text_key
from evaluator.glossary import as_read
from evaluator.matching.tfidf import CharTfidf as TfidfVectorizer  # scikit-learn's numbers without its import (~1 s)
from evaluator.models import Question
from evaluator.text import prose_text

INDEX_FORMAT = 2
INDEX_FILE = "index.npz"  # the texts (UTF-8 JSON) and their vectors, one file
KEEP_INDEXES = 6
# Anchors graded at least this high are answers to the question, so they help match answers.
ANSWER_ANCHOR_MIN_SCORE = 60


def bank_texts(bank: QuestionBank) -> list[str]:
    """Every bank text the pipeline embeds: matching texts and the offline judge's texts."""
    texts: list[str] = []
    for q in bank:
        texts += q.phrasings
        texts.append(q.reference)
        texts += reference_units(q)
        texts += [criterion_text(c.description, c.keywords) for c in q.rubric.criteria]
        texts += [error_claim(e) for e in q.rubric.common_errors]
        texts += [a.answer for a in q.rubric.anchors]
    return list(dict.fromkeys(texts))


@dataclass(frozen=True)
class Hit:
    qid: str
    score: float  # cosine + lexical_weight · lexical
    cosine: float
    lexical: float


class _Side:
    """One searchable side of the bank: the texts, their question ids, FAISS and char n-grams.

    Char n-gram TF-IDF complements m3e: short questions of the same template ("A 和 B 的区别")
    embed close together whatever A and B are, while the n-grams of "GPTQ" or "PagedAttention"
    are rare in the bank and decisive.
    """

    def __init__(self, qids: list[str], texts: list[str], vectors: dict[str, np.ndarray]):
        self.qids = qids
        self.texts = texts
        self.row_of = {t: i for i, t in enumerate(texts)}
        dim = embedder_dim(vectors)
        self.faiss = faiss.IndexFlatIP(dim)
        if texts:
            self.faiss.add(np.stack([vectors[t] for t in texts]).astype(np.float32))
        self.tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, lowercase=True)
        self.matrix = self.tfidf.fit_transform(texts) if texts else None

    def lexical(self, text: str) -> np.ndarray:
        if self.matrix is None:
            return np.zeros(0, np.float32)
        return np.asarray((self.matrix @ self.tfidf.transform([text]).T).todense()).ravel()

    def search(self, query: np.ndarray, text: str, k: int, lexical_weight: float) -> list[Hit]:
        n = self.faiss.ntotal
        if n == 0:
            return []
        cos_rows, rows = self.faiss.search(query.reshape(1, -1).astype(np.float32), n)
        cosine = np.empty(n, np.float32)
        cosine[rows[0]] = cos_rows[0]
        lex = self.lexical(text)
        score = cosine + lexical_weight * lex
        best: dict[str, Hit] = {}
        for i in np.argsort(-score):
            qid = self.qids[i]
            if qid not in best:
                best[qid] = Hit(qid, float(score[i]), float(cosine[i]), float(lex[i]))
                if len(best) == k:
                    break
        return list(best.values())


class BankIndex:
    """Vectors of every bank text; question phrasings and answers searchable (FAISS + n-grams)."""

    def __init__(self, bank: QuestionBank, embedder: Embedder, vectors: dict[str, np.ndarray]):
        self.bank = bank
        self.embedder = embedder
        self._vectors = vectors
        self._anchor_tfidf: dict[str, tuple[TfidfVectorizer, Any, np.ndarray]] = {}
        pq, pt, aq, at = [], [], [], []
        for q in bank:
            for p in q.phrasings:
                pq.append(q.id)
                pt.append(p)
            for a in answer_texts(q):
                aq.append(q.id)
                at.append(a)
        self.sides = {"question": _Side(pq, pt, vectors), "answer": _Side(aq, at, vectors)}

    def vector(self, text: str) -> np.ndarray:
        return self._vectors[text]

    def with_embedder(self, embedder: Embedder) -> BankIndex:
        """This index (same vectors and search structures) embedding new texts with `embedder`, which must
        be the same model (e.g. `Embedder.scratch()` holding a batch's texts embedded up front)."""
        view = copy.copy(self)
        view.embedder = embedder
        return view

    def lexical(self, rows: list[str], cols: list[str]) -> np.ndarray:
        """Char n-gram TF-IDF cosines (rows x cols) in the vocabulary of the bank's answers."""
        side = self.sides["answer"]
        if side.matrix is None or not rows or not cols:
            return np.zeros((len(rows), len(cols)))
        return np.asarray((side.tfidf.transform(rows) @ side.tfidf.transform(cols).T).todense())

    def anchor_lexical(self, question: Question, answer: str) -> tuple[np.ndarray, np.ndarray]:
        """Char n-gram TF-IDF cosines: answer x anchors, and anchors x anchors (the question's own
        anchors fit the vocabulary: what distinguishes its good answers from its poor ones)."""
        texts = [a.answer for a in question.rubric.anchors]
        if not texts:
            return np.zeros(0), np.zeros((0, 0))
        cached = self._anchor_tfidf.get(question.id)
        if cached is None:
            tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True)
            matrix = tfidf.fit_transform(texts)
            cached = (tfidf, matrix, np.asarray((matrix @ matrix.T).todense()))
            self._anchor_tfidf[question.id] = cached
        tfidf, matrix, gram = cached
        return np.asarray((matrix @ tfidf.transform([answer]).T).todense()).ravel(), gram

    def reference_lexical(self, question: Question, answer: str) -> float:
        """Char n-gram TF-IDF cosine between an answer and the question's reference answer."""
        side = self.sides["answer"]
        if side.matrix is None:
            return 0.0
        row = side.row_of[question.reference]
        return float((side.matrix[row] @ side.tfidf.transform([answer]).T).toarray()[0, 0])

    def search(self, query: np.ndarray, text: str, by: str, k: int, lexical_weight: float) -> list[Hit]:
        """Top-k distinct questions, best first, by cosine plus weighted char n-gram similarity."""
        return self.sides[by].search(query, text, k, lexical_weight)


def reference_similarity(index: BankIndex, q: Question, answer: str) -> tuple[float, float]:
    """(embedding cosine, char n-gram cosine) of the answer's prose to the question's reference."""
    prose = as_read(prose_text(answer))
    if not prose:
        return 0.0, 0.0
    return float(index.embedder.encode([prose])[0] @ index.vector(q.reference)), index.reference_lexical(q, prose)


def answer_texts(q: Question) -> list[str]:
    """What an answer to `q` looks like: its reference and its well-graded anchors."""
    return [q.reference] + [a.answer for a in q.rubric.anchors if a.score >= ANSWER_ANCHOR_MIN_SCORE]


def embedder_dim(vectors: dict[str, np.ndarray]) -> int:
    return int(next(iter(vectors.values())).shape[0]) if vectors else 1


def index_dir(home: Path, bank: QuestionBank, model_name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[-40:]
    model_hash = hashlib.sha256(model_name.encode()).hexdigest()[:8]
    return home / "index" / f"v{INDEX_FORMAT}-{slug}-{model_hash}-{bank.content_hash[:16]}"


def load_or_build(bank: QuestionBank, embedder: Embedder, home: Path) -> BankIndex:
    """Reuse the persisted vectors when bank and model are unchanged; otherwise assemble and save.

    Assembling takes vectors from the shipped store and the user's store by text hash and embeds
    only the texts found in neither, so editing one entry re-embeds one entry.
    """
    folder = index_dir(home, bank, embedder.name)
    texts = bank_texts(bank)
    vectors = _read(folder, texts)
    if vectors is None:
        vectors = embed_with_stores(texts, embedder, home)
        _write(folder, texts, np.stack([vectors[t] for t in texts]))
    return BankIndex(bank, embedder, vectors)


def embed_with_stores(texts: list[str], embedder: Embedder, home: Path) -> dict[str, np.ndarray]:
    user_path = home / "vectors" / shipped_path(embedder.name).name
    known = read_store(shipped_path(embedder.name))
    user = read_store(user_path)
    known.update(user)
    missing = [t for t in texts if text_key(t) not in known]
    if missing:
        fresh = {text_key(t): v for t, v in zip(missing, embedder.encode(missing), strict=True)}
        known.update(fresh)
        merge_store(user_path, fresh)
    return {t: known[text_key(t)] for t in texts}


def _read(folder: Path, texts: list[str]) -> dict[str, np.ndarray] | None:
    try:
        with np.load(folder / INDEX_FILE) as data:
            stored = json.loads(data["texts"].tobytes().decode("utf-8"))
            matrix = data["vectors"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # missing or torn: rebuilt
        return None
    if stored != texts or matrix.shape[0] != len(texts):
        return None
    return dict(zip(texts, matrix.astype(np.float32), strict=True))


def _write(folder: Path, texts: list[str], matrix: np.ndarray) -> None:
    # Texts and vectors in one file, written under a unique temporary name and renamed over the old
    # one: two processes building the same index at once both succeed (the folder is named after its
    # content, so either file is right), and a reader never sees half an index or a mismatched pair.
    encoded = np.frombuffer(json.dumps(texts, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    atomic_write(folder / INDEX_FILE, lambda f: np.savez(f, texts=encoded, vectors=matrix))
    _prune(folder)


def _mtime(path: Path) -> float:
    try:
        return (path / INDEX_FILE).stat().st_mtime
    except OSError:  # pruned by another process meanwhile
        return 0.0


def _prune(folder: Path) -> None:
    """Keep the few most recent indexes: each grade an interviewer gives makes a new bank (a new anchor),
    and every index is tens of MB. A pruned one is rebuilt from the vector stores if asked for again."""
    siblings = sorted(folder.parent.glob(f"v{INDEX_FORMAT}-*"), key=_mtime, reverse=True)
    for old in siblings[KEEP_INDEXES:]:
        with contextlib.suppress(OSError):
            (old / INDEX_FILE).unlink(missing_ok=True)
            old.rmdir()

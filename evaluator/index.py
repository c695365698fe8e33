"""FAISS index over the bank, persisted in the cache dir and keyed by bank hash + model."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .bank import QuestionBank
from .embedding import Embedder
from .vector_store import read_store, shipped_path, text_key, write_store

INDEX_FORMAT = 1
# Anchors graded at least this high are answers to the question, so they help match answers.
ANSWER_ANCHOR_MIN_SCORE = 60


def bank_texts(bank: QuestionBank) -> list[str]:
    """Every bank text the pipeline embeds: matching texts and the offline judge's texts."""
    texts: list[str] = []
    for q in bank:
        texts += q.phrasings
        texts.append(q.reference)
        texts += [criterion_text(c.description, c.keywords) for c in q.rubric.criteria]
        texts += list(q.rubric.common_errors)
        texts += [a.answer for a in q.rubric.anchors]
    return list(dict.fromkeys(texts))


def criterion_text(description: str, keywords: tuple[str, ...]) -> str:
    return description if not keywords else f"{description}（{'、'.join(keywords)}）"


@dataclass
class _Entry:
    qid: str
    kind: str  # "phrasing" | "answer"


class BankIndex:
    """Vectors of every bank text plus two FAISS indexes: question phrasings and answers."""

    def __init__(self, bank: QuestionBank, embedder: Embedder, vectors: dict[str, np.ndarray]):
        self.bank = bank
        self.embedder = embedder
        self._vectors = vectors
        self.phrasing_entries: list[_Entry] = []
        self.answer_entries: list[_Entry] = []
        phr, ans = [], []
        for q in bank:
            for p in q.phrasings:
                self.phrasing_entries.append(_Entry(q.id, "phrasing"))
                phr.append(vectors[p])
            self.answer_entries.append(_Entry(q.id, "answer"))
            ans.append(vectors[q.reference])
            for a in q.rubric.anchors:
                if a.score >= ANSWER_ANCHOR_MIN_SCORE:
                    self.answer_entries.append(_Entry(q.id, "answer"))
                    ans.append(vectors[a.answer])
        self.phrasing_index = _flat(phr, embedder_dim(vectors))
        self.answer_index = _flat(ans, embedder_dim(vectors))

    def vector(self, text: str) -> np.ndarray:
        return self._vectors[text]

    def vectors(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)

    def search(self, query: np.ndarray, by: str, k: int) -> list[tuple[str, float]]:
        """Top-k distinct question ids with their best cosine, best first."""
        index, entries = (
            (self.phrasing_index, self.phrasing_entries)
            if by == "question"
            else (self.answer_index, self.answer_entries)
        )
        n = min(index.ntotal, max(k * 8, 32))
        if n == 0:
            return []
        scores, rows = index.search(query.reshape(1, -1).astype(np.float32), n)
        best: dict[str, float] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            qid = entries[row].qid
            if qid not in best:
                best[qid] = float(score)
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]


def embedder_dim(vectors: dict[str, np.ndarray]) -> int:
    return int(next(iter(vectors.values())).shape[0]) if vectors else 1


def _flat(rows: list[np.ndarray], dim: int) -> faiss.IndexFlatIP:
    index = faiss.IndexFlatIP(dim)
    if rows:
        index.add(np.stack(rows).astype(np.float32))
    return index


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
        fresh = embedder.encode(missing)
        for t, v in zip(missing, fresh, strict=True):
            user[text_key(t)] = v
            known[text_key(t)] = v
        write_store(user_path, user)
    return {t: known[text_key(t)] for t in texts}


def _read(folder: Path, texts: list[str]) -> dict[str, np.ndarray] | None:
    try:
        stored = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
        matrix = np.load(folder / "vectors.npy")
    except (OSError, ValueError):
        return None
    if stored != texts or matrix.shape[0] != len(texts):
        return None
    return dict(zip(texts, matrix.astype(np.float32), strict=True))


def _write(folder: Path, texts: list[str], matrix: np.ndarray) -> None:
    # Write to a temp dir then rename, so a concurrent or interrupted run never sees half an index.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    try:
        np.save(tmp / "vectors.npy", matrix)
        (tmp / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

"""Refresh the shipped embedding stores for the bundled bank: `python scripts/embed_bank.py`.

Two stores: m3e-small (every text the judge and the answer matcher embed) and multilingual-e5 (the
normalized question phrasings the question matcher embeds). Keeps the vectors of texts still in the
bank, embeds new ones, drops the rest.
"""

from __future__ import annotations

import sys
import time

from evaluator.bank.loader import QuestionBank
from evaluator.config import default_bank_dir, home_dir
from evaluator.encoders.embedder import Embedder
from evaluator.encoders.multilingual import MultilingualEmbedder
from evaluator.encoders.vector_store import read_store, shipped_path, text_key, write_store
from evaluator.matching.index import bank_texts
from evaluator.matching.question_match import phrasing_texts


def main() -> int:
    bank = QuestionBank.load(default_bank_dir())
    # m3e through sentence-transformers, the reference: the fast path (ONNX) is tested against these vectors.
    refresh(Embedder(backend="sentence-transformers"), bank_texts(bank))
    refresh(MultilingualEmbedder(), phrasing_texts(bank))
    return 0


def refresh(embedder: Embedder | MultilingualEmbedder, texts: list[str]) -> None:
    path = shipped_path(embedder.name)
    # The developer's own cache usually holds most vectors already: reuse them.
    old = read_store(home_dir() / "vectors" / path.name) | read_store(path)
    missing = [t for t in texts if text_key(t) not in old]
    start = time.perf_counter()
    fresh = embedder.encode(missing) if missing else []
    store = {text_key(t): old[text_key(t)] for t in texts if text_key(t) in old}
    store.update({text_key(t): v for t, v in zip(missing, fresh, strict=True)})
    write_store(path, store)
    took = time.perf_counter() - start
    print(f"{path}: {len(store)} vectors ({len(missing)} embedded in {took:.1f}s)")


if __name__ == "__main__":
    sys.exit(main())

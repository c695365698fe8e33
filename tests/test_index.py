"""The index is persisted by bank hash + model and reused: a second run embeds nothing of the bank."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluator import Evaluator
from evaluator.encoders.embedder import Embedder


class CountingEmbedder(Embedder):
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.embedded += texts
        return super().encode(texts, batch_size)


def test_second_run_reuses_index_and_bank_edit_reembeds_only_the_edit(small_bank, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = small_bank(["attention-scale-sqrt-dk", "kv-cache-no-q-cache"])
    home = tmp_path / "home"
    # Matching by answer searches the m3e index (questions are matched with e5, the same way).
    answer = "点积的方差随 d_k 增大，softmax 会饱和，所以除以根号 d_k 把方差拉回 1。"
    first = CountingEmbedder()
    Evaluator(bank=bank, embedder=first, home=home).match(answer=answer)
    second = CountingEmbedder()
    Evaluator(bank=bank, embedder=second, home=home).match(answer=answer)
    assert second.embedded == [answer]

    ref = bank / "reference_answers" / "kv-cache-no-q-cache.md"
    ref.write_text(ref.read_text(encoding="utf-8") + "\n补充一句新的说明。", encoding="utf-8")
    third = CountingEmbedder()
    ev = Evaluator(bank=bank, embedder=third, home=home)
    q_answer = "生成时每步只有新 token 的 query 要用，历史的 Q 之后不会再参与计算，所以只缓存 K 和 V。"
    m = ev.match(answer=q_answer)
    new_reference = ev.bank.get("kv-cache-no-q-cache").reference
    # The new reference and its one new sentence (the judge compares answers to reference sentences).
    assert third.embedded == [new_reference, "补充一句新的说明。", q_answer]
    assert m.candidates[0].id == "kv-cache-no-q-cache"

"""English prose is read in the bank's terms; Chinese prose and what the candidate wrote are untouched."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from evaluator import Evaluator
from evaluator.bank.statements import criterion_text
from evaluator.errors import EmbeddingError
from evaluator.glossary import GLOSSARY_FILE, as_read, gloss, load_glossary
from evaluator.text import split_units


def test_english_terms_are_read_as_the_chinese_terms_of_the_bank() -> None:
    read = gloss("The variance of the dot product grows with the dimension, so softmax saturates.")
    assert "方差" in read and "点积" in read and "维度" in read
    assert "softmax" in read  # a name stays as written
    assert "the" not in read.lower().split()


def test_longer_entries_win_and_words_are_matched_whole() -> None:
    read = gloss("Mixed precision training keeps an FP32 master copy")
    assert "混合精度" in read and "precision" not in read.lower()
    assert gloss("thermometer") == "thermometer"  # 「the」 inside a word is not a word


def test_chinese_and_mixed_text_is_read_as_written() -> None:
    text = "用 KV cache 加速 decode，每步只算新 token 的 q、k、v。"
    assert as_read(text) == text


def test_every_glossary_line_is_one_entry() -> None:
    lines = [x for x in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")]
    english = [x.split("\t")[0] for x in lines]
    assert all(x.count("\t") == 1 for x in lines)
    assert len(english) == len(set(english)), "an English entry is listed twice"
    assert all(e == e.lower() for e in english)
    assert len(load_glossary()[1]) == len(lines)


def test_a_malformed_glossary_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "glossary.tsv"
    bad.write_text("# english\tchinese\ngradient\t梯度\nvariance 方差\n", encoding="utf-8")
    with pytest.raises(EmbeddingError, match=r"glossary.tsv:3"):
        load_glossary(bad)


def test_an_english_answer_is_compared_in_the_bank_terms(evaluator: Evaluator) -> None:
    """The glossed English answer comes closer to the Chinese rubric points than the English as written."""
    question = evaluator.bank.get("attention-scale-sqrt-dk")
    answer = (
        "If q and k have unit variance, their dot product has variance d_k, so the logits grow with the "
        "dimension. Softmax then saturates into a near one-hot distribution and the gradients vanish. "
        "Dividing by the square root of d_k brings the variance back to one."
    )
    units = split_units(answer)
    criteria = question.rubric.criteria
    points = np.stack([evaluator.index.vector(criterion_text(c.description, c.keywords)) for c in criteria])
    as_written = (evaluator.embedder.encode(units) @ points.T).max(axis=0)
    glossed = (evaluator.embedder.encode([as_read(u) for u in units]) @ points.T).max(axis=0)
    assert glossed.mean() > as_written.mean() + 0.02
    # and the judge compares the glossed text
    analysed = evaluator.offline_judge().analyze(question, answer).criterion_sims.max(axis=0)
    assert np.allclose(analysed, glossed, atol=1e-4)


def test_terms_the_bank_writes_in_english_stay_english(evaluator: Evaluator) -> None:
    """「KV cache」, 「loss」, 「decoder」: glossing what the bank itself writes in English moves an answer
    away from it."""
    texts = []
    for q in evaluator.bank:
        texts += [q.reference, *(c.description for c in q.rubric.criteria), *(a.answer for a in q.rubric.anchors)]
    corpus = "\n".join(texts).lower()
    _, entries = load_glossary()
    english_in_bank = [
        english
        for english, chinese in entries.items()
        if english != chinese.lower()  # an entry as itself keeps a name whole: 「scaling law」 is not 缩放 law
        and (n := len(re.findall(rf"(?<![a-z0-9_-]){re.escape(english)}(?![a-z0-9_-])", corpus))) >= 5
        and n >= corpus.count(chinese.lower())
    ]
    assert not english_in_bank

"""The char n-gram TF-IDF gives scikit-learn's numbers (it replaces TfidfVectorizer on the CLI's path)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from evaluator.bank.loader import QuestionBank
from evaluator.config import default_bank_dir
from evaluator.errors import ConfigError
from evaluator.matching.index import bank_texts
from evaluator.matching.tfidf import CharTfidf

ODD = ["", "   ", "A", "ab", "GPTQ 和 AWQ", "Hello   World\tfoo\n\nbar", "ＫＶ Cache", "O(n²) → O(n)"]


@pytest.mark.parametrize("ngram_range", [(2, 3), (1, 3)])
@pytest.mark.parametrize("sublinear_tf", [True, False])
def test_char_tfidf_gives_scikit_learns_similarities_on_bank_texts(
    ngram_range: tuple[int, int], sublinear_tf: bool
) -> None:
    texts = bank_texts(QuestionBank.load(default_bank_dir()))
    fitted, queries = texts[::40] + ODD[4:], texts[7::97] + ODD
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=sublinear_tf)
    ours = CharTfidf(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=sublinear_tf)
    a, b = theirs.fit_transform(fitted), ours.fit_transform(fitted)
    assert a.shape == b.shape and a.nnz == b.nnz
    assert np.allclose((a @ a.T).toarray(), (b @ b.T).toarray(), atol=1e-12)
    qa, qb = theirs.transform(queries), ours.transform(queries)
    assert np.allclose((a @ qa.T).toarray(), (b @ qb.T).toarray(), atol=1e-12)
    assert np.allclose(np.asarray(qb.multiply(qb).sum(axis=1)).ravel()[qb.getnnz(axis=1) > 0], 1.0)


def test_char_tfidf_vocabulary_is_scikit_learns() -> None:
    texts = ["KV Cache 缓存 K 和 V", "a  b", "Hello"]
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(texts)
    ours = CharTfidf(analyzer="char_wb", ngram_range=(1, 3))
    ours.fit_transform(texts)
    assert set(ours.vocabulary_) == set(theirs.vocabulary_)
    for gram, column in ours.vocabulary_.items():
        assert ours.idf_[column] == pytest.approx(theirs.idf_[theirs.vocabulary_[gram]])


def test_other_analyzers_are_refused() -> None:
    with pytest.raises(ConfigError, match="char_wb"):
        CharTfidf(analyzer="word")

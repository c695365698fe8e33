"""Character n-gram TF-IDF, the same numbers as scikit-learn's `TfidfVectorizer(analyzer="char_wb")`.

Importing scikit-learn takes about a second (it imports scipy.stats), more than a third of the CLI's
budget for grading one answer, for the one class the pipeline uses. This is that class's char_wb
path: n-grams of each whitespace-separated word padded with a space, lowercase, smoothed idf
(ln((1 + n) / (1 + df)) + 1), optional sublinear tf (1 + ln tf), rows L2-normalized; it returns
scipy.sparse CSR matrices as scikit-learn does. Feature order differs (first seen, not sorted),
which no product of two matrices from one vectorizer can tell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

_SPACES = re.compile(r"\s\s+")


class CharTfidf:
    """`TfidfVectorizer(analyzer="char_wb", ngram_range=..., sublinear_tf=..., lowercase=...)`."""

    def __init__(
        self,
        analyzer: str = "char_wb",
        ngram_range: tuple[int, int] = (1, 1),
        sublinear_tf: bool = False,
        lowercase: bool = True,
    ):
        if analyzer != "char_wb":
            raise ValueError(f"analyzer {analyzer!r}: only 'char_wb' is implemented")
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.vocabulary_: dict[str, int] = {}
        self.idf_ = np.zeros(0)

    def ngrams(self, text: str) -> list[str]:
        """scikit-learn's `_char_wb_ngrams`, word by word."""
        if self.lowercase:
            text = text.lower()
        text = _SPACES.sub(" ", text)
        lo, hi = self.ngram_range
        grams: list[str] = []
        for word in text.split():
            padded = f" {word} "
            size = len(padded)
            for n in range(lo, hi + 1):
                if size <= n:  # a word shorter than n counts once, whole, and no longer n-grams
                    grams.append(padded)
                    break
                grams.extend(padded[i : i + n] for i in range(size - n + 1))
        return grams

    def _counts(self, texts: Iterable[str], grow: bool) -> sp.csr_matrix:
        vocabulary = self.vocabulary_
        indptr, indices, values = [0], [], []
        for text in texts:
            for gram, count in Counter(self.ngrams(text)).items():
                column = vocabulary.get(gram)
                if column is None:
                    if not grow:
                        continue
                    column = vocabulary[gram] = len(vocabulary)
                indices.append(column)
                values.append(count)
            indptr.append(len(indices))
        shape = (len(indptr) - 1, len(vocabulary))
        return sp.csr_matrix(
            (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr)), shape
        )

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        data = counts.data
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        data *= self.idf_[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0.0] = 1.0
        data /= np.repeat(norms, np.diff(counts.indptr))
        return counts

    def fit_transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        self.vocabulary_ = {}
        counts = self._counts(texts, grow=True)
        n_docs = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        return self._weigh(counts)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        return self._weigh(self._counts(texts, grow=False))

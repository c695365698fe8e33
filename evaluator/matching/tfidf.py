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
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from evaluator.errors import ConfigError

_SPACES = re.compile(r"\s\s+")


# Code points + 1 (0 marks "no character"), so an n-gram of up to 3 characters is one int64:
# (c0 * K + c1) * K + c2, distinct across n.
_K = 0x110001


class CharTfidf:
    """`TfidfVectorizer(analyzer="char_wb", ngram_range=..., sublinear_tf=..., lowercase=...)`, n <= 3.

    N-grams are counted as int64 codes with numpy (scikit-learn counts Python strings one by one):
    fitting the bank's texts takes a fraction of the time.
    """

    def __init__(
        self,
        analyzer: str = "char_wb",
        ngram_range: tuple[int, int] = (1, 1),
        sublinear_tf: bool = False,
        lowercase: bool = True,
    ):
        if analyzer != "char_wb":
            raise ConfigError(f"analyzer {analyzer!r}: only 'char_wb' is implemented")
        if not 1 <= ngram_range[0] <= ngram_range[1] <= 3:
            raise ConfigError(f"ngram_range {ngram_range}: n-grams of 1 to 3 characters only")
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.codes_ = np.zeros(0, np.int64)  # the vocabulary, sorted: column i is codes_[i]
        self.idf_ = np.zeros(0)

    @property
    def vocabulary_(self) -> dict[str, int]:
        """n-gram -> column, as scikit-learn names it."""
        return {decode(int(code)): i for i, code in enumerate(self.codes_)}

    def _grams(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """(n-gram codes, their document's row, number of documents).

        scikit-learn's char_wb: each whitespace-separated word padded with one space each side, its
        n-grams never crossing into the next word (a padded word has at least 3 characters, so its
        "short word counts once" rule changes nothing for n <= 3)."""
        padded: list[str] = []
        rows: list[int] = []
        n_docs = 0
        for text in texts:
            if self.lowercase:
                text = text.lower()
            words = [f" {w} " for w in _SPACES.sub(" ", text).split()]
            padded += words
            rows += [n_docs] * len(words)
            n_docs += 1
        if not padded:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), n_docs
        lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
        chars = np.frombuffer("".join(padded).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        chars = np.concatenate([chars.astype(np.int64) + 1, np.zeros(2, np.int64)])
        size = len(chars) - 2
        word_end = np.repeat(np.cumsum(lengths), lengths)
        row_of = np.repeat(np.asarray(rows, dtype=np.int64), lengths)
        position = np.arange(size)
        codes, docs = [], []
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            code = chars[:size].copy()
            for k in range(1, n):
                code = code * _K + chars[k : size + k]
            valid = position + n <= word_end
            codes.append(code[valid])
            docs.append(row_of[valid])
        return np.concatenate(codes), np.concatenate(docs), n_docs

    def _counts(self, codes: np.ndarray, docs: np.ndarray, n_docs: int) -> sp.csr_matrix:
        columns = np.searchsorted(self.codes_, codes)
        known = columns < len(self.codes_)
        known[known] = self.codes_[columns[known]] == codes[known]
        ones = np.ones(int(known.sum()), dtype=np.float64)
        counts = sp.coo_matrix((ones, (docs[known], columns[known])), shape=(n_docs, len(self.codes_)))
        matrix = sp.csr_matrix(counts)  # sums duplicates: the n-gram's count in the document
        matrix.sort_indices()
        return matrix

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
        codes, docs, n_docs = self._grams(texts)
        self.codes_ = np.unique(codes)
        counts = self._counts(codes, docs, n_docs)
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        return self._weigh(counts)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        return self._weigh(self._counts(*self._grams(texts)))


def decode(code: int) -> str:
    chars = []
    while code:
        code, c = divmod(code, _K)
        chars.append(chr(c - 1))
    return "".join(reversed(chars))

"""fastText word vectors with gensim: Word2Vec plus character n-grams (``min_n``..``max_n``).

The subword buckets are kept (saved as a fastText ``.bin``), so a word never seen
in training still gets a vector: the mean of its n-gram vectors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nlpkit.embeddings.word2vec import Word2VecParams, train_gensim
from nlpkit.errors import NlpkitError


@dataclass
class FastTextParams(Word2VecParams):
    min_n: int = 3
    max_n: int = 6

    def gensim_kwargs(self) -> dict:
        return {**super().gensim_kwargs(), "min_n": self.min_n, "max_n": self.max_n}


def train_fasttext(corpus_file: str | os.PathLike, params: FastTextParams | None = None):
    """A trained ``gensim.models.FastText`` (its vectors, with subwords: ``model.wv``)."""
    from gensim.models import FastText

    params = params or FastTextParams()
    if params.min_n < 1 or params.max_n < params.min_n:
        raise NlpkitError(f"need 1 <= --min-n <= --max-n, got --min-n {params.min_n} --max-n {params.max_n}")
    return train_gensim(FastText, corpus_file, params)

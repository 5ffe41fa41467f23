"""Word2Vec (CBOW and skip-gram) with gensim, trained from a LineSentence file (corpus_file mode).

corpus_file mode lets gensim's worker threads read their own byte ranges of the
file, without the Python iterator that limits the iterable mode to about one
core. With ``workers=1`` and a fixed ``seed`` the vectors are reproducible.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from nlpkit.errors import NlpkitError


@dataclass
class Word2VecParams:
    sg: bool = False  # skip-gram when True, else CBOW
    dim: int = 100
    window: int = 5
    min_count: int = 5
    negative: int = 5
    epochs: int = 5
    workers: int = 1
    seed: int = 0

    def gensim_kwargs(self) -> dict:
        """The same settings under gensim's names (the benchmark calls gensim with exactly these)."""
        return {
            "sg": int(self.sg),
            "vector_size": self.dim,
            "window": self.window,
            "min_count": self.min_count,
            "negative": self.negative,
            "epochs": self.epochs,
            "workers": self.workers,
            "seed": self.seed,
        }

    def as_dict(self) -> dict:
        return asdict(self)


def check_params(params) -> None:
    for name in ("dim", "window", "min_count", "epochs", "workers"):
        if getattr(params, name) < 1:
            raise NlpkitError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(params, name)}")
    if params.negative < 1:
        raise NlpkitError(f"--negative must be at least 1, got {params.negative}")


def train_gensim(model_class, corpus_file: str | os.PathLike, params, **extra):
    """Build the vocabulary, check it is not empty, train. Returns the gensim model."""
    check_params(params)
    model = model_class(**params.gensim_kwargs(), **extra)
    model.build_vocab(corpus_file=str(corpus_file))
    if len(model.wv) == 0:
        raise NlpkitError(
            f"no word occurs at least --min-count {params.min_count} times in the corpus; lower --min-count or add text"
        )
    model.train(
        corpus_file=str(corpus_file),
        total_words=model.corpus_total_words,
        total_examples=model.corpus_count,
        epochs=params.epochs,
    )
    return model


def train_word2vec(corpus_file: str | os.PathLike, params: Word2VecParams | None = None):
    """A trained ``gensim.models.Word2Vec`` (its vectors: ``model.wv``)."""
    from gensim.models import Word2Vec

    return train_gensim(Word2Vec, corpus_file, params or Word2VecParams())

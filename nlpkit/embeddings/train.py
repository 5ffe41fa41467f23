"""Train word vectors on a record stream and save them: the core behind ``nlpkit embed train``.

The records go once into a temporary one-document-per-line file (nlpkit/embeddings/corpus.py);
gensim reads it in corpus_file mode (word2vec, fastText) and nlpkit's GloVe counts its
co-occurrences from it. The algorithm's own parameters (``Word2VecParams``,
``FastTextParams``, ``GloveParams``) are built here from one flat set of options, so a
caller (the CLI, ``bench``) names an algorithm and its settings, nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlpkit.embeddings.corpus import CorpusStats, temporary_corpus
from nlpkit.io import Item

ALGORITHMS = ("word2vec", "glove", "fasttext")
SAVE_FORMATS = ("word2vec-text", "word2vec-binary")


@dataclass
class TrainedVectors:
    """What a training run made: where the vectors are, their shape, the corpus and the time."""

    output: Path
    algo: str
    vocab_size: int
    dim: int
    seconds: float
    corpus: CorpusStats


def algorithm_params(algo: str, *, sg: bool = False, dim: int = 100, window: int | None = None, min_count: int = 5,
                     negative: int = 5, epochs: int | None = None, workers: int = 1, seed: int = 0, min_n: int = 3,
                     max_n: int = 6, device: str = "auto", x_max: float = 100.0, alpha: float = 0.75,
                     learning_rate: float = 0.05, glove_batch: int = 4096):
    """The algorithm's parameter object; window and epochs default per algorithm (GloVe: 10 and 15)."""
    if algo == "glove":
        from nlpkit.embeddings.glove import GloveParams

        return GloveParams(dim=dim, window=window or 10, min_count=min_count, epochs=epochs or 15, x_max=x_max,
                           alpha=alpha, learning_rate=learning_rate, batch_size=glove_batch, seed=seed,
                           device=device, threads=workers)
    common = dict(sg=sg, dim=dim, window=window or 5, min_count=min_count, negative=negative,
                  epochs=epochs or 5, workers=workers, seed=seed)
    if algo == "word2vec":
        from nlpkit.embeddings.word2vec import Word2VecParams

        return Word2VecParams(**common)
    if algo == "fasttext":
        from nlpkit.embeddings.fasttext import FastTextParams

        return FastTextParams(**common, min_n=min_n, max_n=max_n)
    raise ValueError(f"algo must be one of {ALGORITHMS}, not {algo!r}")


def train_vectors(
    items: Iterable[Item],
    output: str | Path,
    algo: str,
    *,
    field: str = "text",
    lower: bool = False,
    on_error: str = "fail",
    save_format: str = "word2vec-binary",
    on_corpus: Callable[[CorpusStats], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    **options: Any,
) -> TrainedVectors:
    """Train `algo` on the records in `items` and save an nlpkit vectors directory at `output`.

    `options` are :func:`algorithm_params`' keywords. `on_corpus` hears about the corpus
    (documents, tokens, skipped records) before training starts; `on_epoch(epoch, loss)`
    after each GloVe epoch.
    """
    from nlpkit.embeddings.vectors import describe, save_vectors
    from nlpkit.files import library_versions

    params = algorithm_params(algo, **options)
    started = time.perf_counter()
    with temporary_corpus(items, field=field, lower=lower, on_error=on_error) as (corpus, stats):
        if on_corpus is not None:
            on_corpus(stats)
        metrics: dict[str, Any] = {}
        if algo == "glove":
            from nlpkit.embeddings.glove import train_glove

            result = train_glove(corpus, params, on_epoch=on_epoch)
            trained, fmt = result.keyed_vectors(), save_format
            metrics = {"loss_per_epoch": [round(x, 6) for x in result.losses], "cooccurrence_nonzeros": result.nonzeros,
                       "seconds_counting": result.seconds_counting, "seconds_training": result.seconds_training}
        elif algo == "word2vec":
            from nlpkit.embeddings.word2vec import train_word2vec

            trained, fmt = train_word2vec(corpus, params).wv, save_format
        else:
            from nlpkit.embeddings.fasttext import train_fasttext

            trained, fmt = train_fasttext(corpus, params), "fasttext-bin"
    seconds = time.perf_counter() - started
    metrics["seconds"] = round(seconds, 3)
    metrics["words_per_second"] = round(stats.tokens * params.epochs / seconds) if seconds > 0 else None
    save_vectors(trained, output, format=fmt, params={"algo": algo, **params.as_dict(), "lower": lower},
                 metrics=metrics, extra={"corpus": {"documents": stats.documents, "tokens": stats.tokens},
                                         "versions": library_versions("gensim", "torch")})
    info = describe(getattr(trained, "wv", trained))
    return TrainedVectors(Path(output), algo, info["vocab_size"], info["dim"], seconds, stats)

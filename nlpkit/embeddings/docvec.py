"""Document vectors from word vectors: mean pooling and TF-IDF-weighted mean pooling.

Mean pooling weighs "the" as much as "brilliant"; TF-IDF pooling weighs each
in-vocabulary token by its inverse document frequency (smoothed as
scikit-learn's: ln((1 + n) / (1 + df)) + 1), counted on a reference corpus, so
frequent function words count less. A document without a single known word gets
the zero vector (for fastText vectors, every word is known through its n-grams).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from nlpkit.errors import NlpkitError, UsageError
from nlpkit.params import FLAG, param
from nlpkit.records import get_text, get_tokens, words
from nlpkit.stage import Stage

POOLS = ("mean", "tfidf")
# how `w2v-lr` and `embed docvec --tokenize` split raw text: lowercase words, HTML line breaks dropped
_BREAK_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)


def simple_tokens(text: str) -> list[str]:
    """Lowercased words and punctuation marks ("Don't!" -> ["don't", "!"]), <br /> removed."""
    return words(_BREAK_RE.sub(" ", text).lower())


class Idf:
    """Inverse document frequencies over a reference corpus (smoothed as scikit-learn's TfidfVectorizer)."""

    def __init__(self, df: dict[str, int], documents: int):
        self.df = df
        self.documents = documents

    @classmethod
    def fit(cls, token_lists: Iterable[list[str]]) -> "Idf":
        df: Counter[str] = Counter()
        n = 0
        for tokens in token_lists:
            df.update(set(tokens))
            n += 1
        if n == 0:
            raise NlpkitError("cannot count document frequencies on an empty corpus")
        return cls(dict(df), n)

    def weight(self, word: str) -> float:
        return math.log((1 + self.documents) / (1 + self.df.get(word, 0))) + 1.0

    def to_json(self) -> dict:
        return {"documents": self.documents, "df": self.df}

    @classmethod
    def from_json(cls, data: dict) -> "Idf":
        return cls({str(k): int(v) for k, v in data["df"].items()}, int(data["documents"]))


def document_vector(kv, tokens: list[str], pool: str = "mean", idf: Idf | None = None) -> np.ndarray:
    """One document's vector: the (IDF-weighted) mean of its tokens' vectors; zeros when none is known."""
    if pool not in POOLS:
        raise NlpkitError(f"unknown pooling {pool!r}; use one of: {', '.join(POOLS)}")
    if pool == "tfidf" and idf is None:
        raise NlpkitError("TF-IDF pooling needs document frequencies (an Idf fitted on a corpus)")
    subwords = type(kv).__name__ == "FastTextKeyedVectors"
    index = kv.key_to_index
    known = [t for t in tokens if t in index] if not subwords else [t for t in tokens if t]
    if not known:
        return np.zeros(kv.vector_size, dtype=np.float32)
    if subwords:
        rows = np.stack([kv.get_vector(t) for t in known])
    else:
        rows = kv.vectors[[index[t] for t in known]]
    if pool == "mean":
        return rows.mean(axis=0).astype(np.float32)
    # term frequency is implicit: a token that occurs twice is summed twice
    weights = np.array([idf.weight(t) for t in known], dtype=np.float32)
    return (weights @ rows / weights.sum()).astype(np.float32)


def document_matrix(kv, token_lists: Iterable[list[str]], pool: str = "mean", idf: Idf | None = None) -> np.ndarray:
    rows = [document_vector(kv, tokens, pool, idf) for tokens in token_lists]
    if not rows:
        return np.zeros((0, kv.vector_size), dtype=np.float32)
    return np.stack(rows)


def read_idf(inputs: list[str], field: str = "text", lower: bool = False, tokenize: bool = False) -> Idf:
    """Document frequencies from record files (a corpus path list), streamed."""
    from nlpkit.io import read_records

    def token_lists():
        for record in read_records(inputs, field=field):
            yield tokens_of(record, field, lower, tokenize)

    return Idf.fit(token_lists())


def tokens_of(record: dict, field: str = "text", lower: bool = False, tokenize: bool = False) -> list[str]:
    """The tokens docvec pools: `tokens`, else the text split on whitespace (or by simple_tokens with `tokenize`)."""
    if tokenize and "tokens" not in record:
        return simple_tokens(get_text(record, field))
    tokens = get_tokens(record, field)
    return [t.lower() for t in tokens] if lower else tokens


#: what --vectors takes, wherever word vectors are named
VECTORS_HELP = "Vectors: an nlpkit vectors dir, a word2vec text/binary file, a GloVe .txt, a fastText .bin/.vec, or glove-6b-50d."


def vectors_param(**declaration):
    """`--vectors SPEC`: word vectors by path or by the name of a bundled set."""
    return param(None, required=True, reads_disk=True, metavar="SPEC", help=VECTORS_HELP, **declaration)


@dataclass
class DocVecOptions:
    vectors: str = vectors_param()
    pool: str = param("mean", choices=POOLS, show_default=True, help="Mean of the word vectors, or their TF-IDF-weighted mean.")
    idf: tuple[str, ...] = param((), path="file", exists=True, multiple=True,
                                 help="Records to count document frequencies on (needed by --pool tfidf); repeatable.")
    lower: bool = param(False, style=FLAG, help="Lowercase tokens before the lookup (GloVe 6B is lowercased).")
    simple_tokenize: bool = param(False, style=FLAG, flag="--tokenize",
                                  help="Split raw text into lowercase words and punctuation when a record has no `tokens` "
                                       "(default: whitespace).")

    def build(self, field: str = "text") -> DocVecStage:
        if self.pool == "tfidf" and not self.idf:
            raise UsageError("--pool tfidf needs --idf CORPUS: the records to count document frequencies on")
        return DocVecStage(self.vectors, pool=self.pool, field=field, idf=list(self.idf), lower=self.lower,
                           tokenize=self.simple_tokenize)


class DocVecStage(Stage):
    """Adds ``vector`` (a list of floats) to each record."""

    batch_size = 256
    main_field = "vector"

    def __init__(self, vectors: str, pool: str = "mean", field: str = "text", idf: list[str] | None = None,
                 lower: bool = False, tokenize: bool = False, precision: int = 6):
        if pool not in POOLS:
            raise NlpkitError(f"unknown pooling {pool!r}; use one of: {', '.join(POOLS)}")
        if pool == "tfidf" and not idf:
            raise NlpkitError("--pool tfidf needs --idf CORPUS: the records to count document frequencies on")
        self.vectors = vectors
        self.pool = pool
        self.field = field
        self.idf = idf
        self.lower = lower
        self.tokenize = tokenize
        self.precision = precision

    def setup(self) -> None:
        from nlpkit.embeddings.vectors import load_vectors

        self._kv = load_vectors(self.vectors)
        self._idf = read_idf(self.idf, self.field, self.lower, self.tokenize) if self.pool == "tfidf" else None

    def vectors_of(self, records: list[dict]) -> np.ndarray:
        self.ensure_setup()
        return document_matrix(
            self._kv, (tokens_of(r, self.field, self.lower, self.tokenize) for r in records), self.pool, self._idf
        )

    def process(self, records: list[dict]) -> list[dict]:
        # rounded in float64, so that JSON shows 0.666667 rather than float32's 0.6666669845581055
        matrix = self.vectors_of(records).astype(np.float64).round(self.precision)
        return [{**r, "vector": row.tolist()} for r, row in zip(records, matrix)]


class NpyWriter:
    """Collects ``vector`` fields (or `field`) into FILE.npy (float32, input order) and their ids into FILE.ids.txt.

    Rows are spooled to a temporary file and assembled when the ``with`` block ends
    without an error, so the row count need not be known up front, memory stays flat,
    and a run that fails (a bad record, Ctrl-C) leaves the old files, or none. A
    record's id is its ``id``, else ``_id`` (BEIR), else its row number::

        with NpyWriter("train.npy") as writer:
            run_stage(stage, options, writer_factory=lambda stream, **_: writer)
    """

    def __init__(self, path: str | os.PathLike, dim: int | None = None, field: str = "vector"):
        import tempfile

        self.field = field
        self.path = str(path)
        self.ids_path = re.sub(r"\.npy$", "", self.path) + ".ids.txt"
        self.rows = 0
        self.dim = dim
        self._spool = tempfile.TemporaryFile()
        self._ids = tempfile.TemporaryFile()

    def __enter__(self) -> "NpyWriter":
        return self

    def write(self, records: list[dict]) -> None:
        for r in records:
            vector = np.asarray(r[self.field], dtype=np.float32)
            if self.dim is None:
                self.dim = len(vector)
            self._spool.write(vector.tobytes())
            self._ids.write((str(r.get("id", r.get("_id", self.rows))).replace("\n", " ") + "\n").encode("utf-8"))
            self.rows += 1

    def close(self) -> None:
        """The runner's end of the stream (also before it raises): the files are written by the ``with`` block's end."""

    def __exit__(self, exc_type, exc, tb) -> bool:
        from nlpkit.files import AtomicFile

        try:
            if exc_type is None:
                from numpy.lib import format as npy

                with AtomicFile(self.path) as out:
                    header = {"descr": npy.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                              "shape": (self.rows, self.dim or 0)}
                    npy.write_array_header_1_0(out, header)
                    self._spool.seek(0)
                    while chunk := self._spool.read(1 << 20):
                        out.write(chunk)
                with AtomicFile(self.ids_path) as out:
                    self._ids.seek(0)
                    while chunk := self._ids.read(1 << 20):
                        out.write(chunk)
        finally:
            self._spool.close()
            self._ids.close()
        return False

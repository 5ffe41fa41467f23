"""BM25 over the record stream with bm25s (Lucene's variant, k1 1.5, b 0.75, English stop words, no stemming).

:class:`BM25Builder` takes documents batch by batch: each is tokenized by
``bm25s.tokenize`` (lower case, the scikit-learn word pattern, bm25s's English stop
words) and kept as token ids in a vocabulary of its own. :meth:`BM25Builder.save`
indexes them with ``bm25s.BM25(method="lucene").index((ids, vocab))``, which gives
the score matrix raw bm25s gives for the same texts, and writes it with bm25s's own
``save`` (``.npy`` arrays and JSON, ``allow_pickle=False``) beside the token ids
(``tokens.npz``).

BM25's scores depend on the whole corpus (idf, the mean document length), so bm25s
cannot append: ``index add`` tokenizes only the new documents, then re-scores the
stored token ids of all of them (:meth:`BM25Builder.load`), no text re-read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import DamagedFile
from nlpkit.files import read_json, read_npz, write_npz

METHOD = "lucene"
K1 = 1.5
B = 0.75
STOPWORDS = "en"
TOKENS_FILE = "tokens.npz"
VOCAB_FILE = "vocab.index.json"  # bm25s's own: token -> id, plus the empty token it adds


def settings() -> dict[str, Any]:
    return {"method": METHOD, "k1": K1, "b": B, "stopwords": STOPWORDS, "stemmer": None}


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, return_ids=False, show_progress=False)


class BM25Builder:
    """Token ids of every document so far, and the vocabulary they index."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids: list[np.ndarray] = []

    def add(self, texts: list[str]) -> None:
        vocab = self.vocab
        for tokens in tokenize(texts):
            self.ids.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int32, count=len(tokens)))

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, directory: Path) -> None:
        """The bm25s index of all documents (bm25s's files) and the token ids it was made from."""
        import bm25s

        directory.mkdir(parents=True, exist_ok=True)
        retriever = bm25s.BM25(method=METHOD, k1=K1, b=B)
        retriever.index(([ids.tolist() for ids in self.ids], dict(self.vocab)), show_progress=False)
        retriever.save(str(directory), allow_pickle=False)
        lengths = np.array([len(ids) for ids in self.ids], dtype=np.int64)
        flat = np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int32)
        write_npz(directory / TOKENS_FILE, ids=flat, lengths=lengths)

    @classmethod
    def load(cls, directory: Path) -> "BM25Builder":
        """The token ids a saved index was made from, to add documents to."""
        builder = cls()
        vocab = read_json(directory / VOCAB_FILE)
        arrays = read_npz(directory / TOKENS_FILE)
        if not isinstance(vocab, dict) or "ids" not in arrays or "lengths" not in arrays:
            raise DamagedFile(directory / TOKENS_FILE, "damaged BM25 token ids")
        # the word pattern never gives "": that is the empty token bm25s adds at the end
        builder.vocab = {w: int(i) for w, i in sorted(vocab.items(), key=lambda kv: kv[1]) if w != ""}
        ends = np.cumsum(arrays["lengths"])
        builder.ids = list(np.split(arrays["ids"].astype(np.int32), ends[:-1])) if len(ends) else []
        return builder


def load_retriever(directory: Path):
    """The saved bm25s index (no pickle)."""
    import bm25s

    try:
        return bm25s.BM25.load(str(directory), allow_pickle=False, load_corpus=False)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise DamagedFile(directory, f"damaged BM25 index ({type(e).__name__}: {e})") from None


def search(retriever, queries: list[str], k: int) -> list[list[tuple[int, float]]]:
    """(document position, score) of the top `k` documents per query, best first; documents no query word matched left out."""
    import bm25s

    n_docs = int(retriever.scores["num_docs"])
    if not queries or n_docs == 0:
        return [[] for _ in queries]
    tokens = bm25s.tokenize(queries, stopwords=STOPWORDS, show_progress=False)
    docs, scores = retriever.retrieve(tokens, k=min(k, n_docs), show_progress=False, n_threads=0)
    return [[(int(d), float(s)) for d, s in zip(row_docs, row_scores) if s > 0] for row_docs, row_scores in zip(docs, scores)]

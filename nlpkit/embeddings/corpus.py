"""The training corpus of the embedding trainers: a record stream written once to a LineSentence file.

gensim's ``corpus_file`` mode (and nlpkit's GloVe counter) read a plain file
with one document per line and tokens separated by spaces. Writing the record
stream into such a file keeps memory flat (records are never collected into
Python lists) and lets gensim split the file across worker threads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nlpkit.errors import NlpkitError
from nlpkit.io import Item, iter_records, source_of
from nlpkit.records import Skipped, document_words

class EmptyCorpus(NlpkitError):
    """A training corpus without a single token."""


@dataclass
class CorpusStats:
    documents: int = 0
    tokens: int = 0
    skipped: Skipped = field(default_factory=Skipped)


def write_line_sentences(items: Iterable[Item], path: str | os.PathLike, *, field: str = "text",
                         lower: bool = False, on_error: str = "fail") -> CorpusStats:
    """Write one line per record (its tokens, else its whitespace-split text) to `path`."""
    stats = CorpusStats()
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for _, words in iter_records(items, on_error, stats.skipped, read=lambda r: document_words(r, field, lower)):
            if not words:
                continue
            out.write(" ".join(words))
            out.write("\n")
            stats.documents += 1
            stats.tokens += len(words)
    if stats.tokens == 0:
        source = source_of(items)
        raise EmptyCorpus(f"{source + ': ' if source else ''}the training corpus is empty: no record had any tokens")
    return stats


@contextmanager
def temporary_corpus(items: Iterable[Item], *, field: str = "text", lower: bool = False, on_error: str = "fail",
                     directory: str | None = None):
    """``with temporary_corpus(items) as (path, stats):`` a LineSentence file removed afterwards."""
    from nlpkit.files import remove_stale_temporaries, temporary_prefix

    where = directory or tempfile.gettempdir()
    remove_stale_temporaries(where, "nlpkit-corpus-")  # what a killed run left (66 MB for IMDb's unsup)
    fd, name = tempfile.mkstemp(prefix=temporary_prefix("nlpkit-corpus-"), suffix=".txt", dir=where)
    os.close(fd)
    try:
        stats = write_line_sentences(items, name, field=field, lower=lower, on_error=on_error)
        yield Path(name), stats
    finally:
        Path(name).unlink(missing_ok=True)


def iter_line_sentences(path: str | os.PathLike, chunk_lines: int = 10_000):
    """Lists of documents (each a list of tokens) from a LineSentence file, `chunk_lines` at a time."""
    chunk: list[list[str]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            chunk.append(line.split())
            if len(chunk) >= chunk_lines:
                yield chunk
                chunk = []
    if chunk:
        yield chunk

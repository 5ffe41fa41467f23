"""Reading a retrieval data set in BEIR's layout (Thakur et al. 2021).

A BEIR directory holds:

- ``corpus.jsonl``: one document a line, ``{"_id", "title", "text", ...}``;
- ``queries.jsonl``: one query a line, ``{"_id", "text", ...}``;
- ``qrels/test.tsv`` (and ``train.tsv``, ``dev.tsv``): ``query-id<TAB>corpus-id<TAB>score``
  after a header line.

Any file may be gzipped (``corpus.jsonl.gz``). Ids are read as strings: BEIR's own loader
does the same, so "01" and "1" stay two documents. Bad lines are one ``FILE:LINE: problem``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nlpkit.errors import InputError

#: the published BEIR sets nlpkit fetches: documents, and queries judged in qrels/test.tsv (BEIR's dataset table)
PUBLISHED_COUNTS = {"scifact": {"corpus": 5_183, "qrels/test": 300}, "nfcorpus": {"corpus": 3_633, "qrels/test": 323}}

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
QRELS_DIR = "qrels"


def _file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _id_of(record) -> str | None:
    """A record's id as the index reads it (nlpkit.retrieval.documents.record_id), or None when it has none."""
    from nlpkit.errors import RecordError
    from nlpkit.retrieval.documents import record_id

    try:
        return record_id(record) if isinstance(record, dict) else None
    except RecordError:
        return None


def is_beir_dir(directory: str | os.PathLike) -> bool:
    directory = Path(directory)
    return (_file(directory, CORPUS) is not None and _file(directory, QUERIES) is not None
            and (directory / QRELS_DIR).is_dir())


def qrels_splits(directory: str | os.PathLike) -> list[str]:
    """The qrels splits a BEIR directory has (``test``, ``dev``, ``train``)."""
    qrels = Path(directory) / QRELS_DIR
    if not qrels.is_dir():
        return []
    return sorted(p.name.split(".")[0] for p in qrels.iterdir() if p.name.endswith((".tsv", ".tsv.gz")))


def read_corpus(path: str | os.PathLike) -> Iterator[dict]:
    """corpus.jsonl's records as they are (each with an id, else one clean line)."""
    from nlpkit.io import BadInput, read_items

    for location, record in read_items([os.fspath(path)]):
        if isinstance(record, BadInput):
            raise InputError(location, record.problem)
        if _id_of(record) is None:
            raise InputError(location, "a document needs an '_id' (or 'id') field")
        yield record


def read_queries(path: str | os.PathLike) -> dict[str, str]:
    """{query id: text} from queries.jsonl, in file order."""
    from nlpkit.io import BadInput, read_items

    queries: dict[str, str] = {}
    for location, record in read_items([os.fspath(path)]):
        if isinstance(record, BadInput):
            raise InputError(location, record.problem)
        qid = _id_of(record)
        if qid is None or not isinstance(record.get("text"), str):
            raise InputError(location, "a query needs '_id' and a string 'text'")
        queries[qid] = record["text"]
    return queries


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """{query id: {doc id: relevance}} from a qrels TSV; a first line that is a header is skipped."""
    from nlpkit.io import open_binary

    with open_binary(path) as lines:
        return parse_qrels(lines, os.fspath(path))


def parse_qrels(lines: Iterable[bytes], where: str) -> dict[str, dict[str, int]]:
    """The qrels of TSV lines (BEIR's three columns, or TREC's four); `where` names them in errors."""
    qrels: dict[str, dict[str, int]] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) == 4:  # TREC's own layout: query-id, iteration, doc-id, relevance
            cells = [cells[0], cells[2], cells[3]]
        if len(cells) != 3:
            raise InputError(f"{where}:{number}", f"expected query-id TAB corpus-id TAB score, got {line[:80]!r}")
        try:
            score = int(cells[2])
        except ValueError:
            if number == 1:
                continue  # the header line
            raise InputError(f"{where}:{number}", f"the score {cells[2]!r} is not an integer") from None
        qrels.setdefault(cells[0], {})[cells[1]] = score
    return qrels


def check_jsonl(lines: Iterable[bytes], where: str, what: str) -> int:
    """The number of records in corpus or queries JSONL lines, each an object with an id and a string
    'text'; else one line naming the first bad one."""
    import json

    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as e:
            raise InputError(f"{where}:{number}", f"not JSON: {e}") from None
        if _id_of(record) is None or not isinstance(record.get("text"), str):
            raise InputError(f"{where}:{number}", f"a {what} needs '_id' and a string 'text'")
        count += 1
    return count


@dataclass
class BeirData:
    """Where a BEIR directory's files are; the queries and qrels are read on demand."""

    path: Path
    corpus: Path
    queries_file: Path
    qrels_file: Path
    split: str

    def queries(self) -> dict[str, str]:
        return read_queries(self.queries_file)

    def qrels(self) -> dict[str, dict[str, int]]:
        return read_qrels(self.qrels_file)

    def documents(self) -> Iterator[dict]:
        return read_corpus(self.corpus)

    def test_queries(self) -> dict[str, str]:
        """The queries judged in the split's qrels, in queries.jsonl's order; one clean line for a judged
        query that queries.jsonl lacks."""
        queries, qrels = self.queries(), self.qrels()
        missing = [qid for qid in qrels if qid not in queries]
        if missing:
            raise InputError(str(self.qrels_file), f"{len(missing):,} judged queries are not in {self.queries_file.name}"
                             f" (first: {missing[0]!r})")
        return {qid: text for qid, text in queries.items() if qid in qrels}


def open_beir(directory: str | os.PathLike, split: str = "test") -> BeirData:
    """A BEIR directory's files, or one line saying what is missing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "no such directory")
    corpus, queries = _file(directory, CORPUS), _file(directory, QUERIES)
    qrels = _file(directory / QRELS_DIR, f"{split}.tsv")
    missing = [name for name, found in ((CORPUS, corpus), (QUERIES, queries), (f"{QRELS_DIR}/{split}.tsv", qrels))
               if found is None]
    if missing:
        raise InputError(str(directory), f"not a BEIR directory: no {', '.join(missing)}")
    assert corpus is not None and queries is not None and qrels is not None
    return BeirData(directory, corpus, queries, qrels, split)

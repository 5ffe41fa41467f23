"""Searching an index: BM25, dense or hybrid, top k, each hit with its document's fields.

::

    from nlpkit.retrieval.search import Searcher

    searcher = Searcher("index/")
    [hits] = searcher.search(["when did the space race start"], k=5, mode="hybrid")
    # hits: [{"id": "d12", "score": 0.0325, "rank": 1, "text": ..., ...}, ...]

:class:`SearchStage` is the ``search`` record stage: each record's text is a query, its
fields pass through (a BEIR ``queries.jsonl`` keeps its ``_id``) and ``hits`` is added.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlpkit.device import device_param
from nlpkit.errors import UsageError
from nlpkit.params import comma_list, param
from nlpkit.io import Writer
from nlpkit.records import Record, get_text
from nlpkit.retrieval import dense, fusion, sparse
from nlpkit.retrieval.fusion import DEFAULT_FUSION, DEFAULT_WEIGHT, FUSIONS
from nlpkit.retrieval.documents import record_id
from nlpkit.retrieval.index import BM25_DIR, read_index_manifest
from nlpkit.retrieval.store import Store
from nlpkit.stage import Stage

MODES = ("bm25", "dense", "hybrid")
DEFAULT_MODE = "hybrid"
K = 10
HITS_FIELD = "hits"
#: what every hit holds, before the document's fields
HIT_KEYS = ("id", "score", "rank")


def index_modes(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The modes an index answers (hybrid needs both parts)."""
    has_bm25, has_dense = manifest["bm25"] is not None, manifest["dense"] is not None
    return tuple(m for m, ok in (("bm25", has_bm25), ("dense", has_dense), ("hybrid", has_bm25 and has_dense)) if ok)


def check_mode(directory: str | os.PathLike, manifest: dict[str, Any], mode: str) -> None:
    """A UsageError for a mode that is not one, or that this index cannot answer."""
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    modes = index_modes(manifest)
    if mode not in modes:
        raise UsageError(f"{directory} has no {'BM25 index' if mode == 'bm25' else 'dense index'}, so "
                         f"--mode {mode} cannot search it (it answers {', '.join(modes)})")


class Searcher:
    """A loaded index (see the module docstring). Parts load on first use: BM25 alone needs no encoder."""

    def __init__(self, directory: str | os.PathLike, *, device: str = "auto", quantize: str | None = None,
                 runtime: str | None = None, ef_search: int | None = None, nprobe: int | None = None):
        self.directory = Path(directory)
        self.manifest = read_index_manifest(self.directory)
        self.device = device
        self.quantize = quantize
        self.runtime = runtime
        self.overrides = {k: v for k, v in (("ef_search", ef_search), ("nprobe", nprobe)) if v is not None}
        self.store = Store(self.directory)
        self._bm25: Any = None
        self._dense: Any = None
        self._encoder: Any = None

    @property
    def modes(self) -> tuple[str, ...]:
        return index_modes(self.manifest)

    def load(self, mode: str = DEFAULT_MODE) -> "Searcher":
        check_mode(self.directory, self.manifest, mode)
        if mode in ("bm25", "hybrid") and self._bm25 is None:
            self._bm25 = sparse.load_retriever(self.directory / BM25_DIR)
        if mode in ("dense", "hybrid") and self._dense is None:
            from nlpkit.retrieval.encoder import Encoder

            info = self.manifest["dense"]
            index = dense.read_index(self.directory / dense.INDEX_FILE)
            dense.configure(index, info["kind"], {**(info.get("params") or {}), **self.overrides})
            self._dense = index
            enc = self.manifest["encoder"]
            self._encoder = Encoder(enc.get("model_arg"), max_tokens=enc.get("max_tokens"), device=self.device,
                                    quantize=self.quantize if self.quantize is not None else enc.get("quantize"),
                                    runtime=self.runtime or enc.get("runtime") or "torch").load()
        return self

    def ranked(self, queries: list[str], k: int = K, mode: str = DEFAULT_MODE, fusion_name: str = fusion.DEFAULT_FUSION,
               weight: float = fusion.DEFAULT_WEIGHT, vectors=None) -> list[fusion.Ranked]:
        """(position, score) lists, best first, at most `k` per query; `vectors`: the queries' own, already encoded."""
        self.load(mode)
        if mode == "bm25":
            return sparse.search(self._bm25, queries, k)
        if mode == "dense":
            return self._dense_search(queries, k, vectors)
        depth = max(k, fusion.CANDIDATES)
        lexical = sparse.search(self._bm25, queries, depth)
        semantic = self._dense_search(queries, depth, vectors)
        return [fusion.fuse(b, d, fusion_name, weight)[:k] for b, d in zip(lexical, semantic)]

    def encode(self, queries: list[str]):
        """The query vectors the dense modes search with (for a caller that batches encoding: nlpkit serve)."""
        self.load("dense")
        assert self._encoder is not None
        return self._encoder.encode(queries)

    def _dense_search(self, queries: list[str], k: int, vectors=None) -> list[fusion.Ranked]:
        return dense.search(self._dense, self.encode(queries) if vectors is None else vectors, k)

    def search(self, queries: list[str], k: int = K, mode: str = DEFAULT_MODE, fields: list[str] | None = None,
               fusion_name: str = fusion.DEFAULT_FUSION, weight: float = fusion.DEFAULT_WEIGHT,
               vectors=None) -> list[list[dict[str, Any]]]:
        """Hits per query: ``{"id", "score", "rank"}`` and the document's fields (all, or `fields`)."""
        out = []
        for ranked in self.ranked(queries, k, mode, fusion_name, weight, vectors):
            documents = self.store.get([p for p, _ in ranked])
            hits = []
            for rank, ((_, score), doc) in enumerate(zip(ranked, documents), 1):
                kept = {f: v for f, v in doc.items() if (fields is None or f in fields) and f not in HIT_KEYS}
                hits.append({"id": record_id(doc), "score": round(score, 6), "rank": rank, **kept})
            out.append(hits)
        return out


@dataclass
class SearchOptions:
    """Search an index: add `hits` ({id, score, rank} and the document's fields) to each query record.

    The query is each record's text (a BEIR queries.jsonl keeps its `_id` and other
    fields), or --query TEXT. --format text prints a table.

    \b
      nlpkit search --index index/ --query "who won the election" -k 5 --format text
      nlpkit search --index index/ --mode bm25 --fields title queries.jsonl > run.jsonl
    """

    index_dir: str = param(None, flag="--index", path="dir", required=True, help="Index directory (from `nlpkit index build`).")
    k: int = param(K, flag="-k", min=1, show_default=True, help="Hits per query.")
    mode: str = param(DEFAULT_MODE, choices=MODES, show_default=True,
                      help="bm25, dense (the index's encoder), or hybrid: the two lists fused (--fusion).")
    fields: str | None = param(None, metavar="A,B",
                               help="Document fields each hit carries besides id, score and rank ('' for none).  [default: all]")
    fusion: str = param(DEFAULT_FUSION, choices=FUSIONS, show_default=True,
                        help="hybrid: reciprocal rank fusion (k 60), or a weighted sum of min-max normalized scores.")
    weight: float = param(DEFAULT_WEIGHT, min=0.0, max=1.0, show_default=True,
                          help="--fusion weighted: the dense list's weight (BM25's is 1 - weight).")
    device: str = device_param(help="Where the query encoder runs: auto|cpu|cuda|cuda:N|mps.")
    ef_search: int | None = param(None, type=int, min=1, help="hnsw: candidates kept while searching.  [default: the index's]")
    nprobe: int | None = param(None, type=int, min=1, help="ivfpq: lists searched per query.  [default: the index's]")

    def build(self, field: str = "text") -> SearchStage:
        return SearchStage(self.index_dir, k=self.k, mode=self.mode, fields=None if self.fields is None else list(comma_list(self.fields)),
                           fusion_name=self.fusion, weight=self.weight, field=field, device=self.device,
                           ef_search=self.ef_search, nprobe=self.nprobe)


class SearchStage(Stage):
    """Adds ``hits`` to each query record (its text the query; its fields kept)."""

    batch_size = 64
    main_field = HITS_FIELD

    def __init__(self, index_dir: str, *, k: int = K, mode: str = DEFAULT_MODE, fields: list[str] | None = None,
                 fusion_name: str = fusion.DEFAULT_FUSION, weight: float = fusion.DEFAULT_WEIGHT, field: str = "text",
                 device: str = "auto", ef_search: int | None = None, nprobe: int | None = None):
        if k < 1:
            raise UsageError("-k must be at least 1")
        if fusion_name not in fusion.FUSIONS:
            raise UsageError(f"--fusion must be one of {', '.join(fusion.FUSIONS)}, not {fusion_name!r}")
        if not 0.0 <= weight <= 1.0:
            raise UsageError(f"--weight must be between 0 and 1, not {weight}")
        self.index_dir = index_dir
        self.k = k
        self.mode = mode
        self.fields = fields
        self.fusion_name = fusion_name
        self.weight = weight
        self.field = field
        self.device = device
        self.ef_search = ef_search
        self.nprobe = nprobe
        # a missing or damaged index, or a mode it lacks, fails before any input is read
        check_mode(index_dir, read_index_manifest(index_dir), mode)

    def setup(self) -> None:
        self._searcher = Searcher(self.index_dir, device=self.device, ef_search=self.ef_search,
                                  nprobe=self.nprobe).load(self.mode)

    def process(self, records: list[Record]) -> list[Record]:
        queries = [get_text(r, self.field) for r in records]
        hits = self._searcher.search(queries, self.k, self.mode, self.fields, self.fusion_name, self.weight)
        return [{**r, HITS_FIELD: h} for r, h in zip(records, hits)]


class HitsTableWriter(Writer):
    """``search --format text``: per query, its text, then a line per hit (rank, score, id, the start of its text)."""

    WIDTH = 80

    def write(self, records: Iterable[Record]) -> None:
        lines = []
        for record in records:
            query = str(record.get(self.field, "")).replace("\n", " ")
            lines.append(f"query: {query}" + (f"  ({record_id(record)})" if "id" in record or "_id" in record else ""))
            hits = record.get(HITS_FIELD) or []
            if not hits:
                lines.append("  (no hits)")
            for hit in hits:
                text = " ".join(str(hit.get("text", "")).split())
                if len(text) > self.WIDTH:
                    text = text[: self.WIDTH - 3] + "..."
                lines.append(f"  {hit['rank']:>3}  {hit['score']:>10.4f}  {hit['id']:<16}  {text}")
            lines.append("")
        self.stream.write("".join(line + "\n" for line in lines).encode("utf-8"))



def query_items(queries: list[str], field: str = "text") -> list[tuple[str, Record]]:
    """``--query`` texts as the runner's items: one record each, located as ``--query N``."""
    return [(f"--query {i}", {field: q}) for i, q in enumerate(queries, 1)]

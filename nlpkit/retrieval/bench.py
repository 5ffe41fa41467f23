"""`nlpkit bench retrieval`: BM25, dense, hybrid and dense-int8 on any BEIR-layout directory.

Each row builds its own index of the whole corpus through nlpkit's API
(:func:`nlpkit.retrieval.index.build_index`; the dense rows encode the documents first,
timed, with :class:`nlpkit.retrieval.encoder.Encoder`), then searches every judged query of
``qrels/<split>.tsv`` through :class:`nlpkit.retrieval.search.Searcher` and scores the top
100 with :mod:`nlpkit.retrieval.metrics` (trec_eval's semantics, as BEIR reports them).

- ``bm25``: BM25 alone; ``dense``: the fp32 encoder and a flat (exact) FAISS index;
  ``hybrid``: both, fused (:mod:`nlpkit.retrieval.fusion`); ``dense-int8``: the int8 encoder
  (ONNX Runtime's int8 by default, torch's dynamic int8 with ``int8_runtime="torch"``).
- hybrid uses the documented default fusion. With ``tune_fusion`` it chooses among
  :func:`fusion_candidates` on a seeded share (:data:`TUNE_SHARE`) of the queries and is
  scored on the rest only; the report says so, and the candidates' table is in results.json.
- Per row: ``ndcg@10``, ``recall@10``, ``recall@100``, ``mrr@10``, ``map@100``; index build
  seconds (encoding included), the encoder's docs/s, queries/s (batched search of every
  query, top 100), p50/p95 latency of one query at a time (top 10, a seeded sample of
  :data:`LATENCY_QUERIES` queries after a warm-up), and the index's size on disk.
- A known BEIR set (scifact, nfcorpus: by the directory's corpus.json or its name) gets the
  published figures beside its rows (:data:`REFERENCES`).
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlpkit.errors import NlpkitError, UsageError
from nlpkit.params import FLAG, comma_list, param
from nlpkit.retrieval import metrics

ROWS = ("bm25", "dense", "hybrid", "dense-int8")
#: the share of the judged queries that --tune-fusion chooses the fusion on (the rest are scored)
TUNE_SHARE = 0.3
#: queries timed one at a time for the latency percentiles
LATENCY_QUERIES = 200
#: the depth of each searched list: Recall@100 and MAP@100 need 100
DEPTH = 100
RRF_KS = (10, 30, 60, 100)
WEIGHTS = tuple(i / 10 for i in range(11))
SEARCH_BATCH = 64

# Published nDCG@10 on the test split, by data set and row family. None was re-read in its source
# where this was written (no network); "checked" says so.


def _published(bm25: float, dense: float, paper_bm25: float) -> dict[str, dict[str, Any]]:
    return {
        "bm25": {"ndcg@10": bm25, "label": "BM25 (Anserini)",
                 "source": f"BEIR (Thakur et al. 2021, NeurIPS Datasets and Benchmarks), BM25 baseline table; {bm25} is "
                           "Anserini's flat-field BM25 as on the BEIR leaderboard (Kamalloo et al. 2023); the 2021 "
                           f"paper's multi-field run is {paper_bm25}",
                 "checked": "not re-read in the paper here"},
        "dense": {"ndcg@10": dense, "label": "all-MiniLM-L6-v2",
                  "source": "the all-MiniLM-L6-v2 model card (sentence-transformers) and its MTEB results",
                  "checked": "not re-read in the model card here"},
    }


REFERENCES = {"scifact": _published(0.679, 0.645, 0.665), "nfcorpus": _published(0.322, 0.316, 0.325)}
# the family whose published figure stands beside each row (none for hybrid: nothing published)
REFERENCE_FAMILY = {"bm25": "bm25", "dense": "dense", "dense-int8": "dense"}

Log = Callable[[str], None]


def _rows(text: str) -> tuple[str, ...]:
    rows = comma_list(text)
    unknown = [r for r in rows if r not in ROWS]
    if unknown or not rows:
        raise ValueError(f"unknown row {', '.join(unknown) or '(none)'}; rows: {', '.join(ROWS)}")
    return rows


@dataclass
class RetrievalBenchOptions:
    """The run's settings; the declared ones are `nlpkit bench retrieval`'s options (nlpkit.params)."""

    data: str = param(None, required=True, metavar="DIR", reads_disk=True,
                      help="A BEIR-layout directory (corpus.jsonl, queries.jsonl, qrels/test.tsv), or the name of one "
                           "fetched with `nlpkit corpora fetch` (scifact, nfcorpus).")
    rows: tuple[str, ...] = param(ROWS, parse=_rows, type_name="ROW,...", default_text=",".join(ROWS),
                                  show_default=True, help="Rows to run, comma-separated.")
    split: str = param("test", show_default=True, help="The qrels file scored: qrels/SPLIT.tsv.")
    tune_fusion: bool = param(False, style=FLAG,
                              help=f"Choose hybrid's fusion on a seeded {TUNE_SHARE:.0%} of the queries and score "
                                   "hybrid on the rest only (default: the documented default fusion, every query).")
    model: str | None = param(None, reads_disk=True, help="The sentence encoder: a sentence-transformers directory or "
                              "hub name (default: the bundled all-MiniLM-L6-v2).")
    batch_size: int | None = param(None, type=int, min=1, help="Texts per forward pass of the encoder.")
    int8_runtime: str = param("onnx", choices=("onnx", "torch"), show_default=True,
                              help="dense-int8's encoder: ONNX Runtime's int8 quantization of the exported encoder, or "
                                   "torch's dynamic int8 quantization of its Linear layers.")
    limit: int | None = param(None, type=int, min=1, help="Score only a seeded subset of this many judged queries.")
    seed: int = param(0, show_default=True,
                      help=f"Seed of the fusion split, the --limit subset and the {LATENCY_QUERIES} latency queries.")
    out: str = param("bench-out/retrieval", path="dir", show_default=True,
                     help="Where results.json, report.md and report.html go.")
    device: str = "cpu"
    name: str | None = None  # a known BEIR set's name, when the directory does not say
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- fusion candidates


def fusion_candidates() -> list[dict[str, Any]]:
    """RRF with each k of RRF_KS, then the weighted sum with each dense weight of WEIGHTS."""
    return ([{"fusion": "rrf", "k": k} for k in RRF_KS]
            + [{"fusion": "weighted", "weight": w} for w in WEIGHTS])


def candidate_label(candidate: dict[str, Any]) -> str:
    if candidate["fusion"] == "rrf":
        return f"rrf k={candidate['k']}"
    return f"weighted dense={candidate['weight']:.1f}"


def fuse(bm25: list, dense: list, candidate: dict[str, Any]) -> list:
    from nlpkit.retrieval import fusion

    if candidate["fusion"] == "rrf":
        return fusion.rrf([bm25, dense], candidate["k"])
    return fusion.weighted(bm25, dense, candidate["weight"])


def default_candidate() -> dict[str, Any]:
    """The fusion `search --mode hybrid` uses, as a candidate."""
    from nlpkit.retrieval import fusion

    if fusion.DEFAULT_FUSION == "rrf":
        return {"fusion": "rrf", "k": fusion.RRF_K}
    return {"fusion": "weighted", "weight": fusion.DEFAULT_WEIGHT}


def split_queries(query_ids: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(validation, scored): a seeded `share` of the ids, and the rest, each in the given order."""
    shuffled = list(query_ids)
    random.Random(seed).shuffle(shuffled)
    chosen = set(shuffled[:round(share * len(shuffled))])
    return [q for q in query_ids if q in chosen], [q for q in query_ids if q not in chosen]


def to_run(ranked_lists: dict[str, list], ids: list[str], depth: int = DEPTH) -> dict[str, dict[str, float]]:
    """{query id: {doc id: score}} of (position, score) lists."""
    return {qid: {ids[p]: float(s) for p, s in ranked[:depth]} for qid, ranked in ranked_lists.items()}


def choose_fusion(bm25: dict[str, list], dense: dict[str, list], ids: list[str], qrels: dict,
                  validation: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The candidate of the best nDCG@10 on the `validation` queries (the first on a tie), and every
    candidate's scores there."""
    table = []
    for candidate in fusion_candidates():
        fused = {q: fuse(bm25[q], dense[q], candidate) for q in validation}
        scores = metrics.evaluate(to_run(fused, ids), {q: qrels[q] for q in validation})
        table.append({**candidate, "label": candidate_label(candidate), **{k: round(v, 4) for k, v in scores.items()}})
    best = max(range(len(table)), key=lambda i: (table[i]["ndcg@10"], -i))
    return fusion_candidates()[best], table


# --------------------------------------------------------------------------- the run


def known_set(directory: Path, name: str | None = None) -> str | None:
    """scifact or nfcorpus when the directory is one (its corpus.json, else its name), else None."""
    if name is not None:
        return name if name in REFERENCES else None
    manifest = directory / "corpus.json"
    if manifest.is_file():
        from nlpkit.files import read_json

        found = read_json(manifest).get("name")
        if found in REFERENCES:
            return found
    return directory.resolve().name if directory.resolve().name in REFERENCES else None


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _Corpus:
    """The documents (in index order), their ids and texts."""

    def __init__(self, data):
        from nlpkit.retrieval.documents import document_text, record_id

        self.records = list(data.documents())
        self.ids = [record_id(r) for r in self.records]
        self.texts = [document_text(r) for r in self.records]


def _encode(corpus: _Corpus, options: RetrievalBenchOptions, quantize: str | None, log: Log) -> tuple[Any, float]:
    """(vectors, seconds) of the corpus through nlpkit's encoder (loaded before the clock starts)."""
    from nlpkit.retrieval.encoder import BATCH_SIZE, Encoder

    encoder = Encoder(options.model, batch_size=options.batch_size or BATCH_SIZE, device=options.device,
                      quantize=quantize, runtime=_runtime(options, quantize)).load()
    encoder.encode(corpus.texts[:8])  # warm-up
    log(f"encoding {len(corpus.texts):,} documents ({quantize or 'fp32'}, {_runtime(options, quantize)})")
    started = time.perf_counter()
    vectors = encoder.encode(corpus.texts)
    return vectors, time.perf_counter() - started


def _runtime(options: RetrievalBenchOptions, quantize: str | None) -> str:
    """The encoder's runtime: int8 on options.int8_runtime, fp32 on torch."""
    return options.int8_runtime if quantize else "torch"


def _build(corpus: _Corpus, directory: Path, options: RetrievalBenchOptions, *, vectors=None, bm25: bool,
           quantize: str | None = None) -> float:
    from nlpkit.retrieval.encoder import EMBEDDING_FIELD
    from nlpkit.retrieval.index import build_index

    if vectors is None:
        items = ((f"corpus:{i + 1}", r) for i, r in enumerate(corpus.records))
    else:
        items = ((f"corpus:{i + 1}", {**r, EMBEDDING_FIELD: v}) for i, (r, v) in enumerate(zip(corpus.records, vectors)))
    started = time.perf_counter()
    build_index(items, directory, model=options.model, device=options.device, quantize=quantize,
                runtime=_runtime(options, quantize), bm25=bm25,
                dense_index="flat" if vectors is not None else "none")
    return time.perf_counter() - started


def _search_all(searcher, queries: dict[str, str], mode: str) -> tuple[dict[str, list], float]:
    """{query id: top-DEPTH (position, score)} of every query, batched, and the seconds it took."""
    qids = list(queries)
    out: dict[str, list] = {}
    started = time.perf_counter()
    for start in range(0, len(qids), SEARCH_BATCH):
        batch = qids[start:start + SEARCH_BATCH]
        for qid, ranked in zip(batch, searcher.ranked([queries[q] for q in batch], k=DEPTH, mode=mode)):
            out[qid] = ranked
    return out, time.perf_counter() - started


def _latency(searcher, queries: dict[str, str], mode: str, seed: int) -> list[float]:
    """Milliseconds of one query at a time (top 10), over a seeded sample, after a warm-up query."""
    qids = list(queries)
    sample = random.Random(seed).sample(qids, min(LATENCY_QUERIES, len(qids)))
    searcher.ranked([queries[sample[0]]], k=10, mode=mode)
    times = []
    for qid in sample:
        started = time.perf_counter()
        searcher.ranked([queries[qid]], k=10, mode=mode)
        times.append(1000 * (time.perf_counter() - started))
    return times


def _scores(run_lists: dict[str, list], ids: list[str], qrels: dict, qids: list[str]) -> dict[str, float]:
    scores = metrics.evaluate(to_run({q: run_lists[q] for q in qids}, ids), {q: qrels[q] for q in qids})
    return {k: round(v, 4) for k, v in scores.items()}


def _stamp(started: float) -> dict[str, Any]:
    """Where and when the run was made: hardware, library versions, date, wall seconds."""
    from nlpkit.bench.runner import hardware
    from nlpkit.files import library_versions

    return {"hardware": hardware("cpu"), "versions": library_versions("nlpkit", "bm25s", "faiss-cpu", "torch",
                                                                      "transformers"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def run_retrieval_bench(options: RetrievalBenchOptions, log: Log | None = None) -> dict[str, Any]:
    """Every row in turn (see the module docstring); writes OUT/results.json, report.md and report.html."""
    from nlpkit.files import write_json
    from nlpkit.retrieval import fusion
    from nlpkit.retrieval.beir import open_beir
    from nlpkit.retrieval.search import Searcher

    say: Log = log or (lambda message: None)
    unknown = [r for r in options.rows if r not in ROWS]
    if unknown or not options.rows:
        raise UsageError(f"rows must be among {', '.join(ROWS)}, not {', '.join(unknown) or 'none'}")
    started_all = time.perf_counter()
    data = open_beir(Path(options.data), options.split)
    queries = data.test_queries()
    qrels = data.qrels()
    if options.limit is not None and options.limit < len(queries):
        keep = set(random.Random(options.seed).sample(list(queries), options.limit))
        queries = {q: t for q, t in queries.items() if q in keep}
    say(f"reading {data.corpus}")
    corpus = _Corpus(data)
    if not corpus.records:
        raise NlpkitError(f"{data.corpus}: no documents")
    say(f"{len(corpus.records):,} documents, {len(queries):,} judged queries")
    all_qids = list(queries)
    validation: list[str] = []
    scored_hybrid = all_qids
    if options.tune_fusion and "hybrid" in options.rows:
        validation, scored_hybrid = split_queries(all_qids, TUNE_SHARE, options.seed)
    out = Path(options.out)
    work = out / "indexes"
    work.mkdir(parents=True, exist_ok=True)

    rows: list[dict[str, Any]] = []
    vectors: dict[str | None, tuple[Any, float]] = {}
    lists: dict[str, dict[str, list]] = {}
    tuning: dict[str, Any] | None = None
    for row in options.rows:
        say(f"{row}: building its index")
        result: dict[str, Any] = {"row": row, "status": "done", "reference_family": REFERENCE_FAMILY.get(row)}
        quantize = "int8" if row == "dense-int8" else None
        uses_dense = row != "bm25"
        encode_seconds = 0.0
        if uses_dense:
            if quantize not in vectors:
                vectors[quantize] = _encode(corpus, options, quantize, say)
            array, encode_seconds = vectors[quantize]
            result["encoder_docs_per_second"] = round(len(corpus.records) / encode_seconds, 1)
            result["encode_seconds"] = round(encode_seconds, 2)
            result["encoder"] = {"quantize": quantize, "runtime": _runtime(options, quantize)}
        directory = work / row
        build = _build(corpus, directory, options, vectors=vectors[quantize][0] if uses_dense else None,
                       bm25=row in ("bm25", "hybrid"), quantize=quantize)
        result["index_build_seconds"] = round(encode_seconds + build, 2)
        result["index_bytes"] = dir_bytes(directory)
        searcher = Searcher(directory, device=options.device, quantize=quantize, runtime=_runtime(options, quantize)).load(
            "hybrid" if row == "hybrid" else "bm25" if row == "bm25" else "dense")
        if row == "hybrid":
            # the bm25 and dense rows' lists when they ran (the same documents, settings and vectors)
            say("hybrid: BM25 and dense top 100 of every query")
            bm25_lists = lists.get("bm25") or _search_all(searcher, queries, "bm25")[0]
            dense_lists = lists.get("dense") or _search_all(searcher, queries, "dense")[0]
            if options.tune_fusion:
                chosen, table = choose_fusion(bm25_lists, dense_lists, corpus.ids, qrels, validation)
                tuning = {"share": TUNE_SHARE, "seed": options.seed, "validation_queries": len(validation),
                          "scored_queries": len(scored_hybrid), "chosen": chosen, "chosen_label": candidate_label(chosen),
                          "candidates": table}
                say(f"hybrid: chose {candidate_label(chosen)} on {len(validation):,} queries")
            else:
                chosen = default_candidate()
            result["fusion"] = {**chosen, "label": candidate_label(chosen)}
            fused = {q: fuse(bm25_lists[q], dense_lists[q], chosen) for q in all_qids}
            # queries/s of the whole hybrid search, as `search --mode hybrid` runs it
            _, seconds = _search_all(searcher, queries, "hybrid")
            run_lists, qids = fused, scored_hybrid
        else:
            say(f"{row}: searching {len(queries):,} queries")
            mode = "bm25" if row == "bm25" else "dense"
            run_lists, seconds = _search_all(searcher, queries, mode)
            lists[row] = run_lists
            qids = all_qids
        result.update(_scores(run_lists, corpus.ids, qrels, qids))
        result["queries_scored"] = len(qids)
        result["queries_per_second"] = round(len(queries) / seconds, 1)
        times = _latency(searcher, queries, "hybrid" if row == "hybrid" else "bm25" if row == "bm25" else "dense",
                         options.seed)
        result["latency_ms"] = {"p50": round(percentile(times, 50), 2), "p95": round(percentile(times, 95), 2),
                                "queries": len(times)}
        say(f"{row}: nDCG@10 {result['ndcg@10']:.4f} on {len(qids):,} queries")
        rows.append(result)
        shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)

    name = known_set(Path(options.data), options.name)
    comparable = None
    if name is not None:
        from nlpkit.retrieval.beir import PUBLISHED_COUNTS

        expected = PUBLISHED_COUNTS[name]
        comparable = (options.limit is None and options.split == "test" and len(corpus.records) == expected["corpus"]
                      and len(queries) == expected["qrels/test"])
    if tuning is not None and len(rows) > 1:
        # the other rows on hybrid's scored queries too, so that the comparison is like with like
        for result in rows:
            if result["row"] in lists:
                result["on_hybrid_queries"] = _scores(lists[result["row"]], corpus.ids, qrels, scored_hybrid)
    results = {
        "benchmark": "retrieval",
        "data": {"path": str(options.data), "name": name, "split": options.split, "documents": len(corpus.records),
                 "queries": len(queries), "limit": options.limit, "comparable": comparable},
        "rows": rows,
        "fusion_default": {**default_candidate(), "label": candidate_label(default_candidate())},
        "tuning": tuning,
        "references": REFERENCES.get(name or "", {}),
        "settings": {"encoder": options.model or "all-MiniLM-L6-v2", "device": options.device,
                     "int8_runtime": options.int8_runtime,
                     "batch_size": options.batch_size, "depth": DEPTH, "latency_queries": LATENCY_QUERIES,
                     "fusion_rrf_k": fusion.RRF_K, "seed": options.seed},
        "notes": options.notes,
        **_stamp(started_all),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    from nlpkit.retrieval.bench_report import write_retrieval_reports

    write_retrieval_reports(results, out)
    return results


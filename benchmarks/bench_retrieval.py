"""Retrieval: nlpkit's rows against the raw libraries in one run, and the HNSW and memory checks.

    python benchmarks/bench_retrieval.py                  # every part
    python benchmarks/bench_retrieval.py ag_news speed    # some of: ag_news, speed, int8, hnsw, rss
    python benchmarks/bench_retrieval.py --cached hnsw    # only the passage vectors cached so far

The hnsw and rss parts first encode the IMDb passages not cached yet (101,000 in all: hours on
two cores; resumable, see benchmarks/_retrieval_passages.py); --cached measures on the whole
shards cached so far instead, and says how many passages that is.

Writes benchmarks/results/retrieval.json (a part run alone updates its own keys).

- ag_news: on ../shared/corpora/ag_news_retrieval_dev (BEIR layout, 5,600 documents and
  queries), the raw libraries: bm25s 0.3.16 (method lucene, k1 1.5, b 0.75, English stop
  words), sentence-transformers all-MiniLM-L6-v2 (normalized, max_seq_length 256) + FAISS
  IndexFlatIP, and reciprocal rank fusion (k 60) of their top 100; then nlpkit's rows through
  its API (nlpkit.retrieval.bench, as `nlpkit bench retrieval --tune-fusion` runs them): the
  fusion is chosen on a seeded 30% of the queries and hybrid scored on the other 70%, beside
  bm25 and dense on those same queries. Targets: bm25 within 0.002 nDCG@10 of raw bm25s,
  dense within 0.003 of raw dense, hybrid at least 0.01 above the better single row,
  dense-int8 within 0.01 of dense.
- int8: the dense-int8 row on ONNX Runtime's int8 encoder (the ag_news part's is torch's),
  against the ag_news part's fp32 dense row.
- speed: documents per second of SentenceTransformer.encode, nlpkit's encoder in fp32, in
  int8 (torch) and in int8 on ONNX Runtime, at the same batch size (32) and length (256), on
  the same 600 documents, in
  interleaved rounds (this machine is shared; the median of each is compared). Targets:
  nlpkit fp32 >= 1.0x sentence-transformers; int8 >= 2.5x fp32.
- hnsw: IMDb passages (benchmarks/_retrieval_passages.py: train, test and unsup reviews cut
  into 128-word-piece windows, their vectors cached in bench-out/): nlpkit's flat and HNSW
  indexes of up to 100,000 passages, built from the cached vectors through
  nlpkit.retrieval.index.build_index; Recall@10 of HNSW against flat's exact top 10 for 1,000
  other passages as queries, p50/p95 search latency of one query vector at a time with FAISS
  on 2 threads, build seconds and size on disk. Targets: recall >= 0.98, p50 < 10 ms.
- rss: the peak resident memory of an index build (a child process) of the passages with
  their vectors, at a quarter of them and at all of them: the build holds a batch of vectors
  beyond the index, so the difference is the index's own growth.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine  # noqa: E402

import _retrieval_passages as passages_cache  # noqa: E402

AG_NEWS = REPO.parent / "shared" / "corpora" / "ag_news_retrieval_dev"
OUT = REPO / "bench-out" / "retrieval"
BATCH = 32
MAX_LENGTH = 256
DEPTH = 100
RRF_K = 60
SPEED_DOCS = 600
SPEED_ROUNDS = 3


def log(message: str) -> None:
    print(f"bench_retrieval: {message}", file=sys.stderr, flush=True)


def load_ag_news():
    from nlpkit.retrieval.beir import open_beir
    from nlpkit.retrieval.documents import document_text, record_id

    data = open_beir(AG_NEWS)
    docs = list(data.documents())
    return data, [record_id(d) for d in docs], [document_text(d) for d in docs], data.test_queries(), data.qrels()


def scores(run: dict, qrels: dict, qids=None) -> dict:
    from nlpkit.retrieval import metrics

    qids = list(run) if qids is None else qids
    return {k: round(v, 4) for k, v in metrics.evaluate({q: run[q] for q in qids}, qrels).items()}


def raw_rows(ids, texts, queries, qrels) -> tuple[dict, dict]:
    """The raw libraries' rows (and their runs), called directly."""
    import bm25s
    import faiss
    from sentence_transformers import SentenceTransformer

    qids = list(queries)
    qtexts = [queries[q] for q in qids]
    rows, runs = {}, {}

    log("raw bm25s")
    started = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    build = time.perf_counter() - started
    started = time.perf_counter()
    docs, doc_scores = retriever.retrieve(bm25s.tokenize(qtexts, stopwords="en", show_progress=False), k=DEPTH,
                                          show_progress=False)
    search = time.perf_counter() - started
    runs["bm25"] = {q: {ids[d]: float(s) for d, s in zip(row_d, row_s)} for q, row_d, row_s in zip(qids, docs, doc_scores)}
    rows["bm25"] = {**scores(runs["bm25"], qrels), "index_build_seconds": round(build, 2),
                    "queries_per_second": round(len(qids) / search, 1)}

    log("raw sentence-transformers + FAISS IndexFlatIP")
    model = SentenceTransformer(passages_cache.model_path(), device="cpu")
    model.max_seq_length = MAX_LENGTH
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    encode = time.perf_counter() - started
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    started = time.perf_counter()
    qvectors = model.encode(qtexts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    found_scores, found = index.search(np.ascontiguousarray(qvectors, dtype=np.float32), DEPTH)
    search = time.perf_counter() - started
    runs["dense"] = {q: {ids[d]: float(s) for d, s in zip(row_d, row_s)} for q, row_d, row_s in zip(qids, found, found_scores)}
    rows["dense"] = {**scores(runs["dense"], qrels), "encoder_docs_per_second": round(len(texts) / encode, 1),
                     "queries_per_second": round(len(qids) / search, 1)}

    log("raw reciprocal rank fusion, k 60")
    runs["hybrid"] = {}
    for q in qids:
        fused: dict[str, float] = {}
        for run in (runs["bm25"][q], runs["dense"][q]):
            for rank, doc in enumerate(sorted(run, key=run.get, reverse=True), 1):
                fused[doc] = fused.get(doc, 0.0) + 1.0 / (RRF_K + rank)
        runs["hybrid"][q] = fused
    rows["hybrid"] = scores(runs["hybrid"], qrels)
    return rows, runs


def part_ag_news() -> dict:
    from nlpkit.retrieval.bench import RetrievalBenchOptions, run_retrieval_bench

    _, ids, texts, queries, qrels = load_ag_news()
    raw, raw_runs = raw_rows(ids, texts, queries, qrels)
    log("nlpkit's rows (bench retrieval --tune-fusion)")
    results = run_retrieval_bench(RetrievalBenchOptions(data=AG_NEWS, out=OUT / "ag_news", tune_fusion=True,
                                                        device="cpu"), log=log)
    ours = {r["row"]: r for r in results["rows"]}
    tuning = results["tuning"]
    scored = _scored_queries(list(queries), tuning)
    raw_on_scored = {row: scores(run, qrels, scored) for row, run in raw_runs.items()}
    best_single = max(ours["bm25"]["on_hybrid_queries"]["ndcg@10"], ours["dense"]["on_hybrid_queries"]["ndcg@10"])
    checks = {
        "bm25_vs_raw": round(ours["bm25"]["ndcg@10"] - raw["bm25"]["ndcg@10"], 4),
        "dense_vs_raw": round(ours["dense"]["ndcg@10"] - raw["dense"]["ndcg@10"], 4),
        "hybrid_over_best_single": round(ours["hybrid"]["ndcg@10"] - best_single, 4),
        "int8_vs_dense": round(ours["dense-int8"]["ndcg@10"] - ours["dense"]["ndcg@10"], 4),
    }
    targets = {
        "bm25_within_0.002": abs(checks["bm25_vs_raw"]) <= 0.002,
        "dense_within_0.003": abs(checks["dense_vs_raw"]) <= 0.003,
        "hybrid_above_best_by_0.01": checks["hybrid_over_best_single"] >= 0.01,
        "int8_within_0.01": abs(checks["int8_vs_dense"]) <= 0.01,
    }
    return {"ag_news": {"data": str(AG_NEWS), "documents": len(ids), "queries": len(queries), "raw": raw,
                        "raw_on_hybrid_queries": raw_on_scored, "nlpkit": results["rows"], "tuning": tuning,
                        "fusion_default_at_run": results["fusion_default"], "checks": checks, "targets": targets}}


def part_int8() -> dict:
    """dense-int8 on ONNX Runtime through nlpkit's API, against the fp32 dense row and the torch-int8 row of the
    ag_news part (nDCG does not depend on the machine's load: no need to re-encode those)."""
    from nlpkit.retrieval.bench import RetrievalBenchOptions, run_retrieval_bench

    path = RESULTS / "retrieval.json"
    rows = {r["row"]: r for r in json.loads(path.read_text())["ag_news"]["nlpkit"]}
    dense = rows["dense"]
    log("dense-int8 on onnx")
    [row] = run_retrieval_bench(RetrievalBenchOptions(data=str(AG_NEWS), out=str(OUT / "int8-onnx"),
                                                      rows=("dense-int8",), int8_runtime="onnx"), log=log)["rows"]
    out = {"dense_ndcg@10": dense["ndcg@10"], "onnx": row, "torch_ndcg@10": rows["dense-int8"]["ndcg@10"],
           "onnx_vs_dense": round(row["ndcg@10"] - dense["ndcg@10"], 4),
           "torch_vs_dense": round(rows["dense-int8"]["ndcg@10"] - dense["ndcg@10"], 4)}
    out["targets"] = {f"{runtime}_within_0.01": abs(out[f"{runtime}_vs_dense"]) <= 0.01 for runtime in ("onnx", "torch")}
    return {"int8": out}


def _scored_queries(qids: list[str], tuning: dict) -> list[str]:
    from nlpkit.retrieval.bench import split_queries

    return split_queries(qids, tuning["share"], tuning["seed"])[1]


def part_speed() -> dict:
    """Interleaved rounds of the three encoders on the same documents; medians and their ratios."""
    from sentence_transformers import SentenceTransformer

    from nlpkit.retrieval.encoder import Encoder

    _, _, texts, _, _ = load_ag_news()
    sample = random.Random(0).sample(texts, SPEED_DOCS)
    raw = SentenceTransformer(passages_cache.model_path(), device="cpu")
    raw.max_seq_length = MAX_LENGTH
    fp32 = Encoder(batch_size=BATCH, max_tokens=MAX_LENGTH, device="cpu").load()
    int8 = Encoder(batch_size=BATCH, max_tokens=MAX_LENGTH, device="cpu", quantize="int8").load()
    onnx_int8 = Encoder(batch_size=BATCH, max_tokens=MAX_LENGTH, device="cpu", quantize="int8", runtime="onnx").load()
    encoders = {
        "sentence_transformers": lambda: raw.encode(sample, batch_size=BATCH, normalize_embeddings=True),
        "nlpkit_fp32": lambda: fp32.encode(sample),
        "nlpkit_int8": lambda: int8.encode(sample),
        "nlpkit_int8_onnx": lambda: onnx_int8.encode(sample),
    }
    for run in encoders.values():  # warm-up
        run()
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    for round_ in range(SPEED_ROUNDS):
        for name, run in encoders.items():
            started = time.perf_counter()
            run()
            rates[name].append(round(SPEED_DOCS / (time.perf_counter() - started), 1))
        log(f"speed round {round_ + 1}: " + ", ".join(f"{n} {r[-1]:.0f} docs/s" for n, r in rates.items()))
    median = {name: float(np.median(r)) for name, r in rates.items()}
    ratios = {"nlpkit_fp32_over_sentence_transformers": round(median["nlpkit_fp32"] / median["sentence_transformers"], 3),
              "int8_over_fp32": round(median["nlpkit_int8"] / median["nlpkit_fp32"], 3),
              "int8_onnx_over_fp32": round(median["nlpkit_int8_onnx"] / median["nlpkit_fp32"], 3)}
    return {"speed": {"documents": SPEED_DOCS, "batch_size": BATCH, "max_length": MAX_LENGTH, "rounds": SPEED_ROUNDS,
                      "docs_per_second": rates, "median": median, "ratios": ratios,
                      "targets": {"fp32_at_least_1.0x": ratios["nlpkit_fp32_over_sentence_transformers"] >= 1.0,
                                  "int8_at_least_2.5x": ratios["int8_over_fp32"] >= 2.5,
                                  "int8_onnx_at_least_2.5x": ratios["int8_onnx_over_fp32"] >= 2.5}}}


CACHED_ONLY = False  # --cached


def cached_passages() -> tuple[list[dict], np.ndarray]:
    """The passages whose vectors are cached (whole shards from the first), and their vectors."""
    rows = passages_cache.passages()
    if not CACHED_ONLY:
        passages_cache.vectors(rows, shards_only=True)  # encode what is missing first
    parts = []
    for number in range(-(-len(rows) // passages_cache.SHARD)):
        shard = passages_cache.CACHE / f"vectors-{number:03d}.npy"
        if not shard.exists():
            break
        parts.append(np.load(shard, allow_pickle=False))
    if not parts:
        raise SystemExit("no cached passage vectors: run python benchmarks/_retrieval_passages.py first")
    vectors = np.concatenate(parts)
    return rows[:len(vectors)], vectors


def _passage_items(rows, vectors):
    return ((f"passages:{i + 1}", {"id": r["id"], "parent": r["parent"], "text": r["text"], "embedding": v})
            for i, (r, v) in enumerate(zip(rows, vectors)))


def part_hnsw() -> dict:
    import faiss

    from nlpkit.retrieval import dense
    from nlpkit.retrieval.bench import dir_bytes, percentile
    from nlpkit.retrieval.index import build_index, read_index_manifest

    rows, vectors = cached_passages()
    complete = len(vectors) >= passages_cache.PASSAGES + passages_cache.QUERIES
    n_queries = passages_cache.QUERIES
    docs, doc_vectors = rows[:len(vectors) - n_queries], vectors[:len(vectors) - n_queries]
    queries = np.ascontiguousarray(vectors[len(vectors) - n_queries:], dtype=np.float32)
    log(f"hnsw: {len(docs):,} passages, {n_queries:,} query passages")
    faiss.omp_set_num_threads(2)
    out: dict = {"passages": len(docs), "queries": n_queries, "complete_100k": complete,
                 "vectors": "all-MiniLM-L6-v2, int8 on ONNX Runtime (nlpkit encoder), normalized"}
    found = {}
    for kind in ("flat", "hnsw"):
        directory = OUT / f"imdb-{kind}"
        started = time.perf_counter()
        build_index(_passage_items(docs, doc_vectors), directory, bm25=False, dense_index=kind, device="cpu")
        seconds = time.perf_counter() - started
        manifest = read_index_manifest(directory)
        index = dense.read_index(directory / dense.INDEX_FILE)
        dense.configure(index, kind, manifest["dense"].get("params") or {})
        dense.search(index, queries[:1], 10)  # warm-up
        times = []
        for vector in queries:
            started = time.perf_counter()
            dense.search(index, vector[None, :], 10)
            times.append(1000 * (time.perf_counter() - started))
        found[kind] = [[p for p, _ in hits] for hits in dense.search(index, queries, 10)]
        out[kind] = {"build_seconds": round(seconds, 1), "index_bytes": dir_bytes(directory),
                     "faiss_file_bytes": (directory / dense.INDEX_FILE).stat().st_size,
                     "params": manifest["dense"].get("params"),
                     "latency_ms": {"p50": round(percentile(times, 50), 3), "p95": round(percentile(times, 95), 3)}}
        log(f"hnsw: {kind} built in {seconds:.0f} s, p50 {out[kind]['latency_ms']['p50']:.2f} ms")
    recall = float(np.mean([len(set(h) & set(f)) / 10 for h, f in zip(found["hnsw"], found["flat"])]))
    out["hnsw_recall@10_of_flat"] = round(recall, 4)
    # efSearch is a search-time setting: the same graph at several, to choose the default (dense.HNSW_EF_SEARCH)
    index = dense.read_index(OUT / "imdb-hnsw" / dense.INDEX_FILE)
    out["ef_search_sweep"] = []
    for ef in (64, 128, 256, 512):
        index.hnsw.efSearch = ef
        hits = [[p for p, _ in row] for row in dense.search(index, queries, 10)]
        times = []
        for vector in queries:
            started = time.perf_counter()
            dense.search(index, vector[None, :], 10)
            times.append(1000 * (time.perf_counter() - started))
        row = {"ef_search": ef, "recall@10_of_flat": round(float(np.mean([len(set(h) & set(f)) / 10
                                                                         for h, f in zip(hits, found["flat"])])), 4),
               "p50_ms": round(percentile(times, 50), 3), "p95_ms": round(percentile(times, 95), 3)}
        out["ef_search_sweep"].append(row)
        log(f"hnsw: efSearch {ef}: recall@10 of flat {row['recall@10_of_flat']:.4f}, p50 {row['p50_ms']:.2f} ms")
    out["targets"] = {"recall_at_least_0.98": recall >= 0.98, "p50_under_10ms": out["hnsw"]["latency_ms"]["p50"] < 10,
                      "on_100k_passages": len(docs) >= passages_cache.PASSAGES}
    return {"hnsw": out}


RSS_CHILD = """
import resource, sys
from nlpkit.io import read_items
from nlpkit.retrieval.index import build_index
build_index(read_items([sys.argv[1]]), sys.argv[2], bm25=True, dense_index="flat", device="cpu")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def part_rss() -> dict:
    """Peak RSS of index build (BM25 + flat) over the passages with vectors, at a quarter and at all of them."""
    rows, vectors = cached_passages()
    out: dict = {"what": "a child process running nlpkit.retrieval.index.build_index (BM25 and flat) over JSONL "
                         "passages that carry their embedding", "runs": []}
    for share in (0.25, 1.0):
        n = int(len(rows) * share)
        path = OUT / f"passages-{n}.jsonl"
        if not path.exists():
            with open(path.with_suffix(".tmp"), "w") as f:
                for r, v in zip(rows[:n], vectors[:n]):
                    f.write(json.dumps({"id": r["id"], "text": r["text"], "embedding": [round(float(x), 7) for x in v]})
                            + "\n")
            path.with_suffix(".tmp").replace(path)
        started = time.perf_counter()
        # the child's own peak (RUSAGE_SELF, printed last): RUSAGE_CHILDREN would be the largest child's so far
        done = subprocess.run([sys.executable, "-c", RSS_CHILD, str(path), str(OUT / f"rss-index-{n}")], check=True,
                              cwd=REPO, capture_output=True, text=True)
        peak = float(done.stdout.split()[-1])
        out["runs"].append({"passages": n, "peak_rss_mb": round(peak, 1), "seconds": round(time.perf_counter() - started, 1),
                            "flat_vectors_mb": round(n * vectors.shape[1] * 4 / 1e6, 1),
                            "input_mb": round(path.stat().st_size / 1e6, 1)})
        log(f"rss: {n:,} passages, peak {peak:.0f} MB")
    return {"rss": out}


PARTS = {"ag_news": part_ag_news, "speed": part_speed, "int8": part_int8, "hnsw": part_hnsw, "rss": part_rss}


def main(names: list[str]) -> int:
    global CACHED_ONLY
    CACHED_ONLY = "--cached" in names
    names = [n for n in names if n != "--cached"]
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        print(f"unknown part(s) {', '.join(unknown)}; parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "retrieval.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results = {k: v for k, v in results.items() if k in PARTS}
    for name in names or list(PARTS):
        started = time.perf_counter()
        results.update(PARTS[name]())
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        results[name]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    final = {"benchmark": "retrieval", "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), **results}
    path.write_text(json.dumps(final, indent=2) + "\n")
    print(json.dumps({k: v.get("targets") for k, v in results.items() if isinstance(v, dict)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

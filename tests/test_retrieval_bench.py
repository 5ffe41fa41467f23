"""Retrieval metrics against pytrec_eval (trec_eval itself), BEIR reading, and `bench retrieval` on a small BEIR set."""

from __future__ import annotations

import random

import pytest

from nlpkit.errors import InputError
from nlpkit.retrieval import beir, metrics

pytrec_eval = pytest.importorskip("pytrec_eval")

TREC_NAMES = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "recall@100": "recall_100",
              "map@100": "map_cut_100"}


def random_run_and_qrels(seed: int):
    """60 queries over 300 documents: graded judgements, tied scores, a query with no relevant
    document, a judged query the run lacks and a run query nobody judged."""
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(300)]
    run, qrels = {}, {}
    for q in range(60):
        qid = f"q{q}"
        retrieved = rng.sample(docs, rng.randint(5, 150))
        # scores on a coarse grid, so that many tie
        run[qid] = {doc: float(rng.randint(0, 40)) / 4 for doc in retrieved}
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[qid] = {doc: rng.choice([0, 1, 1, 2, 3]) for doc in judged}
        # some relevant documents among the retrieved ones
        for doc in rng.sample(retrieved, min(3, len(retrieved))):
            qrels[qid][doc] = rng.choice([1, 2])
    qrels["q0"] = {doc: 0 for doc in qrels["q0"]}  # judged, nothing relevant
    qrels["q-unretrieved"] = {"d1": 1}
    run["q-unjudged"] = {"d1": 1.0}
    return run, qrels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_pytrec_eval(seed):
    run, qrels = random_run_and_qrels(seed)
    ours = metrics.per_query(run, qrels)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100", "map_cut.100"})
    theirs = evaluator.evaluate(run)
    assert set(ours) == set(theirs) == {f"q{i}" for i in range(60)}
    for qid in ours:
        for name, trec in TREC_NAMES.items():
            assert ours[qid][name] == pytest.approx(theirs[qid][trec], abs=1e-12), (qid, name)
    # MRR@10 is trec_eval's reciprocal rank of the run cut at its first 10 documents (in trec_eval's order)
    cut = {qid: {doc: run[qid][doc] for doc in metrics.ranking(run[qid])[:10]} for qid in run}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    for qid in ours:
        assert ours[qid]["mrr@10"] == pytest.approx(rr[qid]["recip_rank"], abs=1e-12), qid
    means = metrics.evaluate(run, qrels)
    assert means["ndcg@10"] == pytest.approx(sum(t["ndcg_cut_10"] for t in theirs.values()) / 60, abs=1e-12)


def test_ties_are_broken_by_document_id_descending_whatever_the_order_given():
    assert metrics.ranking({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]
    hits = [{"id": "a", "score": 1.0, "rank": 1}, {"id": "c", "score": 1.0, "rank": 2}]
    assert metrics.ranking(hits) == ["c", "a"]
    assert metrics.ranking([("q1", 3.0), ("d2", 1.0)], query_id="q1") == ["d2"]  # BEIR drops the query itself
    assert metrics.ranking([("q1", 3.0), ("d2", 1.0)], query_id="q1", ignore_identical_ids=False) == ["q1", "d2"]


def test_known_values_by_hand():
    # relevant d1 (2) and d3 (1); the run ranks d2, d1, d3
    scores = metrics.query_scores(["d2", "d1", "d3"], {"d1": 2, "d3": 1, "d9": 0},
                                  ["ndcg@10", "recall@2", "mrr@10", "map@100", "precision@2"])
    dcg = 2 / 1.5849625007211562 + 1 / 2
    idcg = 2 + 1 / 1.5849625007211562
    assert scores == pytest.approx({"ndcg@10": dcg / idcg, "recall@2": 0.5, "mrr@10": 0.5,
                                    "map@100": (1 / 2 + 2 / 3) / 2, "precision@2": 0.5})
    with pytest.raises(ValueError, match="unknown metric 'ndcg10'"):
        metrics.parse_metric("ndcg10")


# --------------------------------------------------------------------------- BEIR reading


def make_beir(tmp_path, corpus, queries, qrels, header=True):
    from conftest import write_jsonl

    directory = tmp_path / "beir"
    (directory / "qrels").mkdir(parents=True)
    write_jsonl(directory / "corpus.jsonl", corpus)
    write_jsonl(directory / "queries.jsonl", queries)
    lines = (["query-id\tcorpus-id\tscore"] if header else []) + [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (directory / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return directory


def test_beir_directory_is_read_with_its_header_and_string_ids(tmp_path):
    directory = make_beir(tmp_path, [{"_id": "01", "title": "T", "text": "x"}, {"_id": 1, "text": "y"}],
                          [{"_id": "q1", "text": "first"}, {"_id": "q2", "text": "never judged"},
                           {"_id": 3, "text": "third"}],
                          [("q1", "01", 1), ("q1", "1", 2), ("3", "1", 0)])
    data = beir.open_beir(directory)
    assert [d.get("_id") for d in data.documents()] == ["01", 1]  # as they are; the index reads them as strings
    assert data.qrels() == {"q1": {"01": 1, "1": 2}, "3": {"1": 0}}
    assert data.test_queries() == {"q1": "first", "3": "third"}
    assert beir.is_beir_dir(directory) and beir.qrels_splits(directory) == ["test"]


def test_beir_errors_are_one_line(tmp_path):
    directory = make_beir(tmp_path, [{"_id": "d1", "text": "x"}], [{"_id": "q1", "text": "a"}],
                          [("q1", "d1", 1), ("q1", "d2", "high")])
    with pytest.raises(InputError, match=r"qrels/test.tsv:3: the score 'high' is not an integer"):
        beir.open_beir(directory).qrels()
    with pytest.raises(InputError, match=r"not a BEIR directory: no qrels/dev.tsv"):
        beir.open_beir(directory, split="dev")
    (directory / "qrels" / "test.tsv").write_text("q1\td1\t1\nq9\td1\t1\n")
    with pytest.raises(InputError, match=r"1 judged queries are not in queries.jsonl \(first: 'q9'\)"):
        beir.open_beir(directory).test_queries()
    (directory / "queries.jsonl").write_text('{"_id": "q1"}\n')
    with pytest.raises(InputError, match=r"queries.jsonl:1: a query needs '_id' and a string 'text'"):
        beir.open_beir(directory).queries()


# --------------------------------------------------------------------------- bench retrieval

AG_NEWS = [  # (title as the query, description as its document), after the AG News retrieval set's layout
    ("Stocks rally as oil prices fall", "Wall Street shares climbed on Tuesday as crude oil prices dropped sharply."),
    ("Phelps wins fifth gold", "Michael Phelps won his fifth gold medal at the Athens Olympics in the pool."),
    ("New chip doubles speed", "Intel unveiled a processor that runs twice as fast as its predecessor."),
    ("Talks on nuclear program stall", "Negotiators said no agreement on Iran's nuclear program was near."),
    ("Storm hits Florida coast", "Hurricane Frances battered Florida with heavy rain and strong winds."),
    ("Google shares debut", "Shares of Google rose in their first day of trading on the Nasdaq market."),
    ("Red Sox beat Yankees", "Boston defeated New York in a dramatic baseball game at Fenway Park."),
    ("Mars rover finds water signs", "NASA said its rover found rocks that formed in water on Mars."),
    ("Airline files for bankruptcy", "US Airways sought court protection from creditors for the second time."),
    ("Election campaign heats up", "President Bush and Senator Kerry traded attacks ahead of the vote."),
    ("Microsoft patches Windows flaw", "Microsoft released a security update for a serious Windows bug."),
    ("Oil hits record high", "Crude oil futures reached a record price above 50 dollars a barrel."),
]


def small_beir(tmp_path, name="beir"):
    from conftest import write_jsonl

    directory = tmp_path / name
    (directory / "qrels").mkdir(parents=True)
    write_jsonl(directory / "corpus.jsonl", [{"_id": f"d{i}", "title": "", "text": d} for i, (_, d) in enumerate(AG_NEWS)])
    write_jsonl(directory / "queries.jsonl", [{"_id": f"q{i}", "text": q} for i, (q, _) in enumerate(AG_NEWS)])
    (directory / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(len(AG_NEWS))))
    return directory


def test_bench_retrieval_bm25_equals_the_metrics_of_its_own_search(invoke, tmp_path):
    import json

    from nlpkit.retrieval.beir import open_beir
    from nlpkit.retrieval.index import build_index
    from nlpkit.retrieval.search import Searcher

    data = small_beir(tmp_path)
    out = tmp_path / "out"
    result = invoke("bench", "retrieval", "--data", data, "--rows", "bm25", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "bench retrieval: bm25: nDCG@10" in result.stderr  # progress on stderr
    results = json.loads((out / "results.json").read_text())
    [row] = results["rows"]
    assert set(row) >= {"ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100", "index_build_seconds",
                        "queries_per_second", "latency_ms", "index_bytes", "queries_scored"}
    assert row["queries_scored"] == 12 and row["index_bytes"] > 0 and row["latency_ms"]["p50"] > 0
    # the same figures as nlpkit search's hits scored by the metrics module
    build_index(((f"c:{i}", r) for i, r in enumerate(open_beir(data).documents())), tmp_path / "index",
                dense_index="none")
    queries = open_beir(data).test_queries()
    hits = Searcher(tmp_path / "index").search(list(queries.values()), k=100, mode="bm25")
    expected = metrics.evaluate(dict(zip(queries, hits)), open_beir(data).qrels())
    assert row["ndcg@10"] == round(expected["ndcg@10"], 4) and row["mrr@10"] == round(expected["mrr@10"], 4)
    report = (out / "report.md").read_text()
    assert "| bm25 | " + f"{row['ndcg@10']:.4f}" in report and "published" not in report
    assert '<table>' in (out / "report.html").read_text()


def test_bench_retrieval_tune_fusion_scores_hybrid_on_the_other_queries(invoke, tmp_path):
    import json

    out = tmp_path / "out"
    # named like a known BEIR set, but not the whole of it: its figures stand beside, marked not comparable
    result = invoke("bench", "retrieval", "--data", small_beir(tmp_path, "scifact"), "--rows", "bm25,hybrid",
                    "--tune-fusion", "--out", out)
    assert result.exit_code == 0, result.stderr
    results = json.loads((out / "results.json").read_text())
    bm25, hybrid = results["rows"]
    tuning = results["tuning"]
    assert (tuning["validation_queries"], tuning["scored_queries"]) == (4, 8)  # 30% of 12, seeded
    assert bm25["queries_scored"] == 12 and hybrid["queries_scored"] == 8
    assert [c["label"] for c in tuning["candidates"]][:5] == ["rrf k=10", "rrf k=30", "rrf k=60", "rrf k=100",
                                                             "weighted dense=0.0"]
    assert len(tuning["candidates"]) == 15 and hybrid["fusion"]["label"] == tuning["chosen_label"]
    report = (out / "report.md").read_text()
    assert "hybrid is scored only on the other 8" in report
    assert "| bm25 | " + f"{bm25['ndcg@10']:.4f} | 0.679 |" in report
    assert "NOT comparable with the published figures" in report
    assert "BEIR (Thakur et al. 2021" in report


def test_bench_retrieval_bad_inputs_are_one_line(invoke, tmp_path):
    result = invoke("bench", "retrieval", "--data", small_beir(tmp_path), "--rows", "bm25,sparse")
    assert result.exit_code == 2 and "unknown row sparse; rows: bm25, dense, hybrid, dense-int8" in result.stderr
    result = invoke("bench", "retrieval", "--data", "no-such-set")
    assert result.exit_code == 2 and "'no-such-set' is neither a directory nor a known BEIR set (nfcorpus, scifact)" \
        in result.stderr
    (tmp_path / "empty").mkdir()
    result = invoke("bench", "retrieval", "--data", tmp_path / "empty", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "not a BEIR directory: no corpus.jsonl, queries.jsonl, qrels/test.tsv" in result.stderr
    assert "Traceback" not in result.stderr

"""Retrieval: chunk, encode, index build/add/info, search; against sentence-transformers and bm25s on small data."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, parse_jsonl, write_jsonl

NLPKIT = f"{sys.executable} -m nlpkit"
AG_NEWS = REPO.parent / "shared" / "corpora" / "ag_news_retrieval_dev"

# real AG News descriptions and titles when the shared copy is there; the embedded IMDb sample otherwise
if (AG_NEWS / "corpus.jsonl").is_file():
    with open(AG_NEWS / "corpus.jsonl", encoding="utf-8") as f:
        CORPUS = [json.loads(next(f)) for _ in range(60)]
    with open(AG_NEWS / "queries.jsonl", encoding="utf-8") as f:
        QUERIES = [json.loads(next(f)) for _ in range(12)]
else:  # pragma: no cover - a checkout without ../shared
    from nlpkit.io import read_records

    _reviews = [r for _, r in zip(range(72), read_records(str(REPO / "corpora" / "imdb-sample" / "test.jsonl.gz")))]
    CORPUS = [{"_id": f"d{i}", "title": "", "text": r["text"][:400], "label": r["label"]} for i, r in enumerate(_reviews[:60])]
    QUERIES = [{"_id": f"q{i}", "text": " ".join(r["text"].split()[:8])} for i, r in enumerate(_reviews[60:])]


def _texts(records):
    return [r["text"] for r in records]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A BM25 + flat index of the 60 documents, built through the command."""
    from click.testing import CliRunner

    from nlpkit.cli import cli

    where = tmp_path_factory.mktemp("retrieval")
    corpus = write_jsonl(where / "corpus.jsonl", CORPUS)
    result = CliRunner().invoke(cli, ["index", "build", "-o", str(where / "index"), str(corpus)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return where / "index"


# --------------------------------------------------------------------------- chunk


@pytest.mark.parametrize("by", ["tokens", "sentences"])
@pytest.mark.parametrize("count", ["wordpieces", "words"])
def test_chunk_offsets_round_trip(invoke, tmp_path, by, count):
    source = write_jsonl(tmp_path / "docs.jsonl", CORPUS[:15])
    result = invoke("chunk", "--by", by, "--count", count, "--max-tokens", "16", "--overlap", "4", source)
    assert result.exit_code == 0, result.output
    passages = parse_jsonl(result.stdout)
    parents = {d["_id"]: d for d in CORPUS[:15]}
    assert len(passages) > 15
    from nlpkit.retrieval.encoder import load_tokenizer

    tokenizer = load_tokenizer()
    for p in passages:
        parent = parents[p["parent"]]
        assert parent["text"][p["start"]:p["end"]] == p["text"]
        assert p["id"].startswith(f"{p['parent']}#") and "_id" not in p
        assert p["label"] == parent["label"]  # the parent's other fields pass through
        if count == "wordpieces":
            assert len(tokenizer(p["text"], add_special_tokens=False)["input_ids"]) <= 16
    # K counts from 0 within each parent, in order
    first = [p for p in passages if p["parent"] == CORPUS[0]["_id"]]
    assert [p["id"] for p in first] == [f"{CORPUS[0]['_id']}#{k}" for k in range(len(first))]
    assert [p["start"] for p in first] == sorted(p["start"] for p in first)


def test_chunk_windows_overlap_and_keep_words_whole():
    from nlpkit.retrieval.chunk import Chunker

    assert Chunker(count="words", max_tokens=3, overlap=1).chunk(["a b c d e", ""]) == [["a b c", "c d e"], []]
    assert Chunker(count="words", by="sentences", max_tokens=7, overlap=0).chunk(  # "." is a token
        ["One two three. Four five. Six seven eight nine."]) == [["One two three. Four five.", "Six seven eight nine."]]
    # windows of word pieces start and end on whole words (a word of several pieces is never split)
    text = "an extraordinarily unbelievable story of tokenization and embeddings"
    [passages] = Chunker(max_tokens=5).chunk([text])
    assert len(passages) > 2
    assert all(set(p.split()) <= set(text.split()) for p in passages)
    assert " ".join(passages).split() == text.split()


def test_chunk_refuses_an_overlap_as_long_as_a_passage(invoke, tmp_path):
    result = invoke("chunk", "--max-tokens", "8", "--overlap", "8", write_jsonl(tmp_path / "d.jsonl", CORPUS[:1]))
    assert result.exit_code == 2 and "--overlap must be at least 0 and less than --max-tokens (8)" in result.stderr


def test_chunk_then_encode_as_one_pipeline(invoke, tmp_path):
    source = write_jsonl(tmp_path / "docs.jsonl", CORPUS[:3])
    result = invoke("run", "--pipeline", "chunk --max-tokens 20 | encode", source)
    assert result.exit_code == 0, result.output
    passages = parse_jsonl(result.stdout)
    alone = parse_jsonl(invoke("chunk", "--max-tokens", "20", source).stdout)
    assert [p["id"] for p in passages] == [p["id"] for p in alone] and len(passages) > 3
    assert all(len(p["embedding"]) == 384 for p in passages)


# --------------------------------------------------------------------------- encode


def test_encode_equals_sentence_transformers(invoke, tmp_path):
    from sentence_transformers import SentenceTransformer

    from nlpkit.retrieval.encoder import default_model_dir

    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(_texts(CORPUS[:19]))]
    records.append({"id": "long", "text": " ".join(_texts(CORPUS[:12]))})  # longer than 256 word pieces: cut as ST cuts
    result = invoke("encode", write_jsonl(tmp_path / "r.jsonl", records))
    assert result.exit_code == 0, result.output
    encoded = parse_jsonl(result.stdout)
    assert [r["id"] for r in encoded] == [r["id"] for r in records]  # input order kept through the length sort
    mine = np.array([r["embedding"] for r in encoded], dtype=np.float32)
    expected = SentenceTransformer(str(default_model_dir()), device="cpu").encode(_texts(records), normalize_embeddings=True)
    assert mine.shape == (20, 384)
    np.testing.assert_allclose(mine, expected, atol=1e-5)


def test_encode_npy_writes_vectors_beside_ids(invoke, tmp_path):
    source = write_jsonl(tmp_path / "c.jsonl", CORPUS[:5])
    result = invoke("encode", "--npy", tmp_path / "c.npy", source)
    assert result.exit_code == 0, result.output
    vectors = np.load(tmp_path / "c.npy", allow_pickle=False)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "c.ids.txt").read_text().split() == [d["_id"] for d in CORPUS[:5]]
    # a bad record stops the run and leaves the files as they were, not cut at the record before it
    bad = write_jsonl(tmp_path / "bad.jsonl", [CORPUS[0], {"_id": "x"}, CORPUS[1]])
    result = invoke("encode", "--npy", tmp_path / "c.npy", bad)
    assert result.exit_code == 1 and result.stderr == f"Error: {bad}:2: record has no 'text' field (use --field to choose another)\n"
    assert np.load(tmp_path / "c.npy", allow_pickle=False).shape == (5, 384)
    assert len((tmp_path / "c.ids.txt").read_text().split()) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "c.ids.txt", "c.jsonl", "c.npy"]


def test_encode_int8_stays_close_to_fp32():
    from nlpkit.retrieval.encoder import Encoder

    texts = _texts(CORPUS[:8])
    fp32 = Encoder().encode(texts)
    int8 = Encoder(quantize="int8").encode(texts)
    assert (fp32 * int8).sum(axis=1).min() > 0.9  # cosine: quantized, not another model
    assert not np.allclose(fp32, int8)


# --------------------------------------------------------------------------- BM25 against bm25s


def test_bm25_rankings_equal_bm25s(invoke, tmp_path):
    import bm25s

    corpus = write_jsonl(tmp_path / "c.jsonl", CORPUS)
    result = invoke("index", "build", "--dense-index", "none", "-o", tmp_path / "ix", corpus)
    assert result.exit_code == 0, result.output
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    result = invoke("search", "--index", tmp_path / "ix", "--mode", "bm25", "-k", "10", "--fields", "", queries)
    assert result.exit_code == 0, result.output
    got = parse_jsonl(result.stdout)

    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(_texts(CORPUS), stopwords="en", show_progress=False), show_progress=False)
    docs, scores = retriever.retrieve(bm25s.tokenize(_texts(QUERIES), stopwords="en", show_progress=False), k=10,
                                      show_progress=False)
    for query, record, row_docs, row_scores in zip(QUERIES, got, docs, scores):
        assert record["_id"] == query["_id"]  # the query record's own fields pass through
        expected = [(CORPUS[d]["_id"], round(float(s), 6)) for d, s in zip(row_docs, row_scores) if s > 0]
        assert [(h["id"], h["score"]) for h in record["hits"]] == expected
        assert [h["rank"] for h in record["hits"]] == list(range(1, len(expected) + 1))
        assert all(set(h) == {"id", "score", "rank"} for h in record["hits"])  # --fields '' keeps none
    assert sum(len(r["hits"]) for r in got) > 30


# --------------------------------------------------------------------------- index add, info, search


def test_index_add_equals_a_full_build(invoke, tmp_path, index_dir):
    first = write_jsonl(tmp_path / "first.jsonl", CORPUS[:35])
    rest = write_jsonl(tmp_path / "rest.jsonl", CORPUS[35:])
    assert invoke("index", "build", "-o", tmp_path / "ix", first).exit_code == 0
    result = invoke("index", "add", tmp_path / "ix", rest)
    assert result.exit_code == 0, result.output
    info = json.loads(invoke("index", "info", tmp_path / "ix").stdout)
    assert info["count"] == 60 and info["dense"]["count"] == 60 and info["added"][0]["records"] == 25
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    for mode in ("bm25", "dense", "hybrid"):
        added = parse_jsonl(invoke("search", "--index", tmp_path / "ix", "--mode", mode, "-k", "5", queries).stdout)
        full = parse_jsonl(invoke("search", "--index", index_dir, "--mode", mode, "-k", "5", queries).stdout)
        assert [[h["id"] for h in r["hits"]] for r in added] == [[h["id"] for h in r["hits"]] for r in full], mode
        np.testing.assert_allclose([h["score"] for r in added for h in r["hits"]],
                                   [h["score"] for r in full for h in r["hits"]], atol=2e-5)


def test_index_info_describes_the_index(invoke, index_dir):
    result = invoke("index", "info", index_dir)
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["count"] == 60 and info["format_version"] == 1
    assert info["bm25"]["method"] == "lucene" and info["bm25"]["k1"] == 1.5 and info["bm25"]["b"] == 0.75
    assert info["dense"] == {"kind": "flat", "dim": 384, "params": {}, "count": 60}
    assert info["encoder"]["model"] == "all-MiniLM-L6-v2" and info["encoder"]["max_tokens"] == 256
    assert "records.jsonl" in info["files"] and "dense.faiss" in info["files"]
    assert info["bytes"] == sum(info["files"].values())


def test_search_finds_the_known_item_and_carries_its_fields(invoke, index_dir):
    query = QUERIES[0]
    result = invoke("search", "--index", index_dir, "--query", query["text"], "-k", "3")
    assert result.exit_code == 0, result.output
    [record] = parse_jsonl(result.stdout)
    top = record["hits"][0]
    relevant = "d" + query["_id"][1:]
    assert top["id"] == relevant and top["rank"] == 1
    assert top["text"] == next(d["text"] for d in CORPUS if d["_id"] == relevant)  # the document's fields come back
    assert len(record["hits"]) == 3 and record["text"] == query["text"]


def test_search_text_format_is_a_table(invoke, index_dir):
    result = invoke("search", "--index", index_dir, "-q", QUERIES[0]["text"], "-k", "2", "--mode", "bm25", "--format", "text")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"query: {QUERIES[0]['text']}"
    assert lines[1].split()[0] == "1" and lines[2].split()[0] == "2"


def test_hybrid_fuses_the_two_lists(index_dir):
    from nlpkit.retrieval.fusion import CANDIDATES, fuse, rrf
    from nlpkit.retrieval.search import Searcher

    searcher = Searcher(index_dir)
    texts = _texts(QUERIES)
    bm25 = searcher.ranked(texts, CANDIDATES, "bm25")
    dense = searcher.ranked(texts, CANDIDATES, "dense")
    # the default fusion (the weighted sum, its weight chosen on validation queries), and reciprocal rank
    assert searcher.ranked(texts, 5, "hybrid") == [fuse(b, d)[:5] for b, d in zip(bm25, dense)]
    assert searcher.ranked(texts, 5, "hybrid", "rrf") == [rrf([b, d])[:5] for b, d in zip(bm25, dense)]
    # all the weight on the dense list: its order
    weighted = searcher.ranked(texts, 5, "hybrid", "weighted", 1.0)
    assert [[p for p, _ in r] for r in weighted] == [[p for p, _ in r[:5]] for r in dense]
    assert [[p for p, _ in r[:5]] for r in bm25] != [[p for p, _ in r[:5]] for r in dense]


def test_fusion_by_hand():
    from nlpkit.retrieval.fusion import fuse

    bm25, dense = [(1, 5.0), (2, 3.0), (4, 1.0)], [(2, 0.9), (3, 0.5), (1, 0.1)]
    assert [d for d, _ in fuse(bm25, dense, "rrf")] == [2, 1, 3, 4]
    # min-max: bm25 1 -> 1, 2 -> 0.5, 4 -> 0; dense 2 -> 1, 3 -> 0.5, 1 -> 0
    assert fuse(bm25, dense, "weighted", 0.5) == [(2, 0.75), (1, 0.5), (3, 0.25), (4, 0.0)]


def test_duplicate_ids_are_bad_records(invoke, tmp_path):
    source = write_jsonl(tmp_path / "c.jsonl", [CORPUS[0], CORPUS[1], CORPUS[0]])
    result = invoke("index", "build", "--dense-index", "none", "-o", tmp_path / "ix", source)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {source}:3: id {CORPUS[0]['_id']!r} is already in the index (ids must be unique)"
    assert not (tmp_path / "ix").exists()
    result = invoke("index", "build", "--dense-index", "none", "--on-error", "skip", "-o", tmp_path / "ix", source)
    assert result.exit_code == 0 and "skipped 1 bad record(s)" in result.stderr
    assert json.loads(invoke("index", "info", tmp_path / "ix").stdout)["count"] == 2


def test_index_build_never_replaces_a_directory_that_is_not_an_index(invoke, tmp_path, index_dir):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    corpus = write_jsonl(tmp_path / "c.jsonl", CORPUS[:3])
    result = invoke("index", "build", "--dense-index", "none", "-o", tmp_path / "notes", corpus)
    assert result.exit_code == 2
    assert f"{tmp_path / 'notes'} exists and is not an index directory; refusing to replace it" in result.stderr
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    copy = _copy(index_dir, tmp_path)  # an index is rebuilt in place
    assert invoke("index", "build", "--dense-index", "none", "-o", copy, corpus).exit_code == 0
    assert json.loads(invoke("index", "info", copy).stdout)["count"] == 3


def test_an_empty_input_and_empty_texts(invoke, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = invoke("index", "build", "-o", tmp_path / "ix", empty)
    assert result.exit_code == 1 and result.stderr == f"Error: {empty}: no records to index\n"
    edge = write_jsonl(tmp_path / "edge.jsonl", [{"id": "a", "text": ""}, {"id": "b", "text": "the of and"},
                                                 {"id": "c", "text": "real words here"}])
    assert invoke("index", "build", "-o", tmp_path / "ix", edge).exit_code == 0
    result = invoke("search", "--index", tmp_path / "ix", "--mode", "bm25", "-q", "words", "-q", "the", "--fields", "")
    assert parse_jsonl(result.stdout) == [{"text": "words", "hits": [{"id": "c", "score": 0.20649, "rank": 1}]},
                                          {"text": "the", "hits": []}]  # a stop word matches nothing
    [record] = parse_jsonl(invoke("search", "--index", tmp_path / "ix", "--mode", "dense", "-q", "", "-k", "3").stdout)
    assert len(record["hits"]) == 3


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_indexes_find_what_flat_finds(invoke, tmp_path, index_dir, kind):
    encoded = tmp_path / "encoded.jsonl"
    encoded.write_text(invoke("encode", write_jsonl(tmp_path / "c.jsonl", CORPUS)).stdout)
    result = invoke("index", "build", "--dense-index", kind, "--no-bm25", "-o", tmp_path / "ix", encoded)
    assert result.exit_code == 0, result.output
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    approx = parse_jsonl(invoke("search", "--index", tmp_path / "ix", "--mode", "dense", "-k", "1", queries).stdout)
    exact = parse_jsonl(invoke("search", "--index", index_dir, "--mode", "dense", "-k", "1", queries).stdout)
    agree = sum(a["hits"][0]["id"] == e["hits"][0]["id"] for a, e in zip(approx, exact))
    assert agree >= (len(QUERIES) if kind == "hnsw" else len(QUERIES) - 3)
    result = invoke("search", "--index", tmp_path / "ix", "--mode", "bm25", "-q", "x")
    assert result.exit_code == 2 and "has no BM25 index, so --mode bm25 cannot search it" in result.stderr


# --------------------------------------------------------------------------- damage


def _copy(index_dir, tmp_path) -> Path:
    return Path(shutil.copytree(index_dir, tmp_path / "copy"))


@pytest.mark.parametrize("name", ["dense.faiss", "records.jsonl", "bm25/data.csc.index.npy"])
def test_a_damaged_index_file_is_one_clean_line(invoke, tmp_path, index_dir, name):
    copy = _copy(index_dir, tmp_path)
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / name).write_bytes(bytes(data))
    for args in (["search", "--index", copy, "-q", "rocket"], ["index", "info", copy], ["index", "add", copy, "-"]):
        result = invoke(*args, input=json.dumps(CORPUS[0]) + "\n")
        assert result.exit_code == 1, args
        assert result.stderr == f"Error: {copy / name}: damaged: its sha256 does not match the manifest (the file was cut or changed)\n"


def test_a_newer_index_format_is_refused(invoke, tmp_path, index_dir):
    copy = _copy(index_dir, tmp_path)
    manifest = json.loads((copy / "nlpkit.json").read_text())
    (copy / "nlpkit.json").write_text(json.dumps({**manifest, "format_version": 99}))
    result = invoke("search", "--index", copy, "-q", "rocket")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {copy}: index format version 99 is newer than this nlpkit reads (1); upgrade nlpkit\n"


def test_a_model_directory_is_not_an_index(invoke, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "nlpkit.json").write_text(json.dumps({"format_version": 1, "kind": "nbsvm"}))
    result = invoke("search", "--index", tmp_path / "m", "-q", "x")
    assert result.exit_code == 1 and "not an index directory (its nlpkit.json is of a 'nbsvm'" in result.stderr


# --------------------------------------------------------------------------- processes


def test_chunk_encode_index_build_as_a_shell_pipeline(tmp_path):
    source = write_jsonl(tmp_path / "docs.jsonl", CORPUS[:12])
    result = subprocess.run(
        f"{NLPKIT} chunk --max-tokens 24 {source} | {NLPKIT} encode | {NLPKIT} index build -o {tmp_path / 'ix'}"
        f" && {NLPKIT} search --index {tmp_path / 'ix'} -k 2 --fields parent -q {json.dumps(QUERIES[0]['text'])}",
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash", text=True,
    )
    assert result.returncode == 0, result.stderr
    [record] = parse_jsonl(result.stdout)
    assert record["hits"][0]["parent"] == "d" + QUERIES[0]["_id"][1:]
    assert record["hits"][0]["id"].startswith(record["hits"][0]["parent"] + "#")


def test_a_killed_add_leaves_the_old_index_whole(tmp_path, index_dir):
    copy = _copy(index_dir, tmp_path)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    process = subprocess.Popen([sys.executable, "-m", "nlpkit", "index", "add", str(copy), "-"], cwd=REPO,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdin.write((json.dumps({"id": "new-1", "text": "a new document"}) + "\n").encode())
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".copy.tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(tmp_path.glob(".copy.tmp-*")), "index add never started writing"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.stdin.close()
        process.stdout.close()
        process.stderr.close()
        if process.poll() is None:
            process.kill()
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before
    result = subprocess.run([sys.executable, "-m", "nlpkit", "search", "--index", str(copy), "-q", "rocket", "--mode", "bm25"],
                            cwd=REPO, capture_output=True, text=True, env={**os.environ})
    assert result.returncode == 0 and parse_jsonl(result.stdout)[0]["hits"]


def test_a_new_index_version_is_swapped_in_one_step(tmp_path):
    from nlpkit.files import AtomicDirectory, exchange_paths

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").touch()
    if not exchange_paths(tmp_path / "a", tmp_path / "b"):
        pytest.skip("no renameat2 RENAME_EXCHANGE on this system")
    assert (tmp_path / "b" / "from-a").exists() and not (tmp_path / "a" / "from-a").exists()
    with AtomicDirectory(tmp_path / "b") as tmp:
        (tmp / "new").touch()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # the old version went with the temporary
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["new"]


@pytest.mark.slow
def test_encode_on_onnx_runtime_equals_torch(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("NLPKIT_HOME", str(tmp_path / "home"))
    source = write_jsonl(tmp_path / "c.jsonl", CORPUS[:6])
    torch_run = parse_jsonl(invoke("encode", source).stdout)
    result = invoke("encode", "--runtime", "onnx", source)
    assert result.exit_code == 0, result.output
    onnx_run = parse_jsonl(result.stdout)  # stdout is records only: the exporter's notes went elsewhere
    np.testing.assert_allclose([r["embedding"] for r in onnx_run], [r["embedding"] for r in torch_run], atol=2e-5)
    assert list((tmp_path / "home" / "encoders").glob("*/model.onnx"))  # exported once, then reused


def test_a_split_record_goes_through_a_fused_pipeline_and_fails_as_one(tmp_path):
    """chunk returns several records in one's place: a later stage sees the passages, a bad one skips its parent."""
    import io as _io

    from nlpkit.errors import RecordError
    from nlpkit.io import JsonlWriter
    from nlpkit.pipeline import Pipeline
    from nlpkit.retrieval.chunk import ChunkStage
    from nlpkit.runner import drive
    from nlpkit.stage import Stage

    class Upper(Stage):
        def process_record(self, record):
            if "bad" in record["text"]:
                raise RecordError("a bad passage")
            return {**record, "text": record["text"].upper()}

    pipeline = Pipeline([("chunk", ChunkStage(count="words", max_tokens=2)), ("upper", Upper())])
    items = [("f:1", {"id": "a", "text": "one two three"}), ("f:2", {"id": "b", "text": "x bad y"}),
             ("f:3", {"id": "c", "text": ""}), ("f:4", {"id": "d", "text": "four"})]
    out = _io.BytesIO()
    report = drive(pipeline, items, JsonlWriter(out), on_error="skip")
    records = parse_jsonl(out.getvalue().decode())
    assert [(r["id"], r["text"]) for r in records] == [("a#0", "ONE TWO"), ("a#1", "THREE"), ("d#0", "FOUR")]
    assert report.skipped.count == 1 and report.skipped.examples == ["f:2: upper: a bad passage"]
    assert report.records_in == 4 and report.records_out == 3

"""The lm-lstm row's language model, pretrained inside `nlpkit bench` (nlpkit.bench.pretrain).

(Its --set usage errors are cases of tests/test_bench_corpus.py's test_set_usage_errors.)

A tiny corpus from the embedded IMDb sample: 40 labelled train reviews, 40 test
reviews that each carry a word no other split has, and 60 unlabelled reviews
that each carry a word of their own; tiny LM and classifier settings (seconds).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "imdb-sample"
TEST_MARK, UNSUP_MARK = "zqxtestonly", "zqxunsuponly"
TINY = ["lm-lstm.lm.hidden=16", "lm-lstm.lm.layers=1", "lm-lstm.lm.vocab_size=3000", "lm-lstm.lm.min_count=1",
        "lm-lstm.lm.context=16", "lm-lstm.lm.valid=10", "lm-lstm.lm.batch_size=64", "lm-lstm.epochs=1",
        "lm-lstm.max_len=24", "lm-lstm.batch_size=16"]



def read(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tiny")
    train, test = read(SAMPLE / "train.jsonl.gz"), read(SAMPLE / "test.jsonl.gz")
    pick = lambda rs: [r for r in rs if r["label"] == "pos"][:20] + [r for r in rs if r["label"] == "neg"][:20]  # noqa: E731
    words = lambda r: " ".join(r["text"].split()[:40])  # noqa: E731
    return {
        "train": write(directory / "train.jsonl", [{"text": words(r), "label": r["label"]} for r in pick(train)]),
        "test": write(directory / "test.jsonl", [{"text": f"{words(r)} {TEST_MARK}", "label": r["label"]}
                                                 for r in pick(test)]),
        "unsup": write(directory / "unsup.jsonl", [{"text": f"{words(r)} {UNSUP_MARK}"}
                                                   for r in read(SAMPLE / "unsup.jsonl.gz")[:60]]),
    }


def bench(corpus, out: Path, *sets: str):
    args = ["bench", "corpus", "--train", corpus["train"], "--test", corpus["test"], "--unlabelled", corpus["unsup"],
            "--methods", "lm-lstm", "--out", out]
    for item in [*TINY, *sets]:
        args += ["--set", item]
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return result, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def first(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "lm"
    return out, *bench(corpus, out)


def test_the_lm_is_pretrained_on_train_valid_and_unsup_never_test(first):
    out, _, results = first
    [row] = results["methods"]
    assert row["status"] == "done", row.get("error")
    lm = results["lm"]["lm-lstm"]
    # 36 + 4 of the training split, 60 unlabelled less the 10 held out for its perplexity
    assert lm["records"] == {"train": 36, "valid": 4, "unsup": 50} and lm["valid_records"] == 10
    assert lm["budget"] == {"reviews": 3000, "valid": 10, "init_vectors": True}
    vocabulary = json.loads((Path(lm["directory"]) / "vocab.json").read_text())["tokens"]
    assert UNSUP_MARK in vocabulary and TEST_MARK not in vocabulary  # every word seen once is kept (min_count 1)
    assert lm["vectors"]["found"] > 0 and lm["dim"] == results["vectors"]["params"]["dim"]
    assert row["params"]["lm"] == lm["directory"] and row["lm"]["key"] == lm["key"]
    assert "LM pretrained in the run on 36 train + 4 valid + 50 unsup records" in row["note"]
    assert "validation perplexity" in row["note"] and "never test" in row["note"]
    assert Path(out, "models", "lm-lstm", "nlpkit.json").is_file()


def test_the_lm_is_kept_by_key_and_set_changes_the_key(first, corpus, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(first[0], out)
    lm = first[2]["lm"]["lm-lstm"]
    kept = json.loads((out / "lm" / lm["key"] / "bench-lm.json").read_text())
    same, results = bench(corpus, out)
    assert "lm-lstm (kept)" in same.stdout and results["lm"]["lm-lstm"]["finished"] == kept["finished"]
    # a classifier setting re-runs the row on the same LM
    other_row, results = bench(corpus, out, "lm-lstm.epochs=2")
    assert "(kept)" not in other_row.stdout and results["lm"]["lm-lstm"]["finished"] == kept["finished"]
    # an LM setting is a new LM (another key, another directory) and so a new row
    other_lm, results = bench(corpus, out, "lm-lstm.lm.epochs=2")
    changed = results["lm"]["lm-lstm"]
    assert "(kept)" not in other_lm.stdout and changed["key"] != lm["key"] and changed["epochs"] == 2
    assert sorted(p.name for p in (out / "lm").iterdir()) == sorted([lm["key"], changed["key"]])

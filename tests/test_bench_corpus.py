"""`nlpkit bench corpus`, references by family, and --set.

The multi-class corpus is real data: the embedded IMDb sample's reviews labelled
by their star rating in four bins (1-2, 3-4, 7-8, 9-10; scripts/make_star_bins.py),
given as --train/--test files, with 300 of the sample's unlabelled reviews as --unlabelled.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from nlpkit.bench import references
from nlpkit.bench.methods import METHODS
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "imdb-sample"



def read(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


# --------------------------------------------------------------------------- references


def test_every_row_reference_is_of_the_rows_family_and_corpus():
    for corpus in ("imdb", "ag_news", "sst2", None):
        for method in METHODS.values():
            for ref in references.for_row(corpus, method.anchor):
                assert (ref.anchor, ref.corpus) == (method.anchor, corpus), (method.name, ref.key)
                assert ref.anchor != references.CEILING


def test_the_imdb_anchors_of_issue_12():
    def figures(name):
        return [r.accuracy for r in references.for_row("imdb", METHODS[name].anchor)]

    assert figures("bow-nb") == [86.59, 83.55]
    assert figures("tfidf-svm") == [89.16]
    assert figures("nbsvm") == [91.22, 91.87]
    assert figures("w2v-lr") == [88.73, 88.89, 92.58]  # the claimed 92.58 last, marked
    assert references.REFERENCES["le2014-paragraph-vectors"].not_reproduced
    for name in ("lstm", "bilstm", "gru"):
        assert figures(name) == [86.5, 92.76]
    assert figures("bert") == [92.82, 93.46, 94.60]
    for name in ("fasttext", "tfidf-lr", "glove-lr"):  # none published on IMDb: never a neighbour's figure
        assert figures(name) == []
    assert references.ceiling("imdb").accuracy == 96.21
    assert [r.accuracy for r in references.for_row("ag_news", "lr")] == [88.81, 89.64, 92.36]
    assert [r.accuracy for r in references.for_row("ag_news", "fasttext")] == [92.5]
    assert references.for_corpus("sst2") == {} and references.ceiling("ag_news") is None


# --------------------------------------------------------------------------- a multi-class corpus


@pytest.fixture(scope="module")
def stars(tmp_path_factory) -> dict[str, Path]:
    """train / test labelled by rating bin (scripts/make_star_bins.py, as docs/benchmarks.md), 300 unlabelled reviews."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_star_bins", REPO / "scripts" / "make_star_bins.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    directory = tmp_path_factory.mktemp("stars")
    script.main(str(SAMPLE), str(directory))
    paths = {split: directory / f"{split}.jsonl.gz" for split in ("train", "test")}
    paths["unsup"] = directory / "few-unlabelled.jsonl"
    paths["unsup"].write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in read(SAMPLE / "unsup.jsonl.gz")[:300]))
    return paths


@pytest.fixture(scope="module")
def stars_run(stars, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "stars"
    result = run_cli("bench", "corpus", "--train", stars["train"], "--test", stars["test"], "--unlabelled", stars["unsup"],
                    "--methods", "bow-nb,w2v-lr", "--limit", "200", "--set", "bow-nb.alpha=0.5", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out, result


def test_a_multi_class_corpus_end_to_end(stars, stars_run):
    out, result = stars_run
    results = json.loads((out / "results.json").read_text())
    labels = ["1-2", "3-4", "7-8", "9-10"]
    assert results["data"]["labels"] == labels and results["corpus"] is None
    assert results["references"] == {} and results["ceiling"] is None
    for m in results["methods"]:
        assert m["status"] == "done" and m["references"] == []
        confusion = m["test"]["confusion"]
        assert confusion["labels"] == labels and [len(row) for row in confusion["matrix"]] == [4] * 4
        assert sum(map(sum, confusion["matrix"])) == m["n_test"] == 200
        assert m["accuracy"] == pytest.approx(sum(confusion["matrix"][i][i] for i in range(4)) / 200)
        assert set(m["test"]["per_class"]) == set(labels)
        assert m["macro_f1"] == pytest.approx(sum(c["f1"] for c in m["test"]["per_class"].values()) / 4)
        assert m["accuracy"] > 0.3  # above the 0.25 of chance on four balanced bins
    md = (out / "report.md").read_text()
    assert md.startswith(f"# {stars['train'].parent.name} benchmark\n")  # named after the files' folder
    assert "published %" not in md and "NOT comparable" not in md  # no published figures for this corpus
    assert "No published figures are known for this corpus" in md
    assert "| method | 1-2 | 3-4 | 7-8 | 9-10 |" in md  # the per-class table
    w2v = next(m for m in results["methods"] if m["method"] == "w2v-lr")
    f1s = " | ".join(f"{100 * w2v['test']['per_class'][label]['f1']:.2f}" for label in labels)
    assert f"| w2v-lr | {f1s} |" in md
    page = (out / "report.html").read_text()
    assert '<table id="per-class">' in page and page.count('src="data:image/svg+xml;base64,') == 3
    assert "published %" not in result.stdout and "1-2" not in result.stdout.split("\n")[0]


def test_the_run_vectors_come_from_train_and_unlabelled_text_never_test(stars_run):
    out, _ = stars_run
    results = json.loads((out / "results.json").read_text())
    vectors = results["vectors"]
    assert vectors["records"] == {"train": 180, "valid": 20, "unsup": 300}
    w2v = next(m for m in results["methods"] if m["method"] == "w2v-lr")
    assert w2v["params"]["vectors"] == vectors["directory"] and Path(vectors["directory"], "nlpkit.json").is_file()
    assert "embeddings from the run's Word2Vec vectors (100d" in w2v["note"]
    assert "180 train + 20 valid + 300 unsup records" in w2v["note"]


# --------------------------------------------------------------------------- --set


def test_set_reaches_the_model_and_the_report(stars_run):
    out, _ = stars_run
    results = json.loads((out / "results.json").read_text())
    nb = next(m for m in results["methods"] if m["method"] == "bow-nb")
    assert nb["params"]["alpha"] == 0.5 and nb["overrides"] == {"alpha": 0.5}
    assert results["overrides"] == {"bow-nb": {"alpha": 0.5}}
    assert "- **--set**: `bow-nb.alpha=0.5`." in (out / "report.md").read_text()


def test_set_is_part_of_the_resume_key(stars, stars_run, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(stars_run[0], out)
    common = ["bench", "corpus", "--train", stars["train"], "--test", stars["test"], "--methods", "bow-nb",
              "--limit", "200", "--out", out]
    same = run_cli(*common, "--set", "bow-nb.alpha=0.5")
    assert same.exit_code == 0 and "bow-nb (kept)" in same.stdout
    other = run_cli(*common, "--set", "bow-nb.alpha=0.25", "--set", "bow-nb.ngrams=1,1")
    assert other.exit_code == 0 and "(kept)" not in other.stdout
    nb = json.loads((out / "methods" / "bow-nb.json").read_text())
    assert (nb["params"]["alpha"], nb["params"]["ngrams"]) == (0.25, [1, 1])


@pytest.mark.parametrize("setting, message", [
    ("bogus.epochs=3", "unknown method 'bogus' in 'bogus.epochs=3'; known: bow-nb, tfidf-lr, tfidf-svm, nbsvm"),
    ("bow-nb.epochs=3", "bow-nb (kind bow-nb) has no parameter 'epochs'; known: alpha, analyzer, binary, max_df, "
                        "max_features, min_df, ngrams"),
    ("bow-nb.alpha=-1", "bow-nb.alpha=-1: -1.0 is not in the range x>0."),
    ("bert.max_len", "'bert.max_len' is not METHOD.PARAM=VALUE"),
    # the settings of the LM a run pretrains for lm-lstm: `lm train`'s options, checked as those
    ("lm-lstm.lm.epochs=0", "lm-lstm.lm.epochs=0: 0 is not in the range x>=1."),
    ("lm-lstm.lm.bogus=1", "lm-lstm (kind lm-lstm) has no parameter 'lm_bogus'; known:"),
    ("lm-lstm.lm_epochs=0", "lm-lstm.lm_epochs=0: 0 is not in the range x>=1."),  # the old spelling, still read
    ("bilstm.lm_epochs=1", "bilstm (kind bilstm) has no parameter 'lm_epochs'"),
    # a given LM is fine-tuned as it is: no pretraining settings beside it
    (("lm-lstm.lm=models/my-lm", "lm-lstm.lm_epochs=2"),
     "lm-lstm.lm=models/my-lm fine-tunes that LM, so the run pretrains none: drop lm-lstm.lm_epochs"),
])
def test_set_usage_errors(setting, message, tmp_path):
    settings = [setting] if isinstance(setting, str) else list(setting)
    result = run_cli("bench", "imdb", "--data", SAMPLE, *[a for s in settings for a in ("--set", s)], "--out", tmp_path)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_set_old_lm_spelling_says_the_new_one(tmp_path):
    result = run_cli("bench", "imdb", "--data", SAMPLE, "--set", "lm-lstm.lm_epochs=0", "--out", tmp_path)
    assert "--set lm-lstm.lm_epochs is deprecated: use --set lm-lstm.lm.epochs" in result.stderr


def test_bench_corpus_usage_errors(stars, tmp_path):
    result = run_cli("bench", "corpus", "--out", tmp_path)
    assert result.exit_code == 2 and "give a corpus DIRECTORY, or --train FILE and --test FILE" in result.stderr
    result = run_cli("bench", "corpus", "--train", stars["train"], "--out", tmp_path)
    assert result.exit_code == 2 and "--train needs --test" in result.stderr
    result = run_cli("bench", "corpus", SAMPLE, "--corpus", "imbd", "--out", tmp_path)
    assert result.exit_code == 2 and "unknown corpus 'imbd'; known: ag_news, imdb, sst2" in result.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": "a"}\n{"text": "no label"}\n')
    result = run_cli("bench", "corpus", "--train", bad, "--test", stars["test"], "--methods", "bow-nb", "--out",
                    tmp_path / "o")
    assert result.exit_code == 1
    assert f"{bad}:2: not a labelled record (needs a 'text' string and a 'label')" in result.stderr


def test_sigterm_during_the_vectors_stops_the_worker_and_leaves_no_temporary_corpus(stars, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "o"
    unlabelled = tmp_path / "unlabelled.jsonl"  # 2,000 reviews: a few seconds of Word2Vec to interrupt
    unlabelled.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in read(SAMPLE / "unsup.jsonl.gz")[:2000]))
    process = subprocess.Popen([sys.executable, "-m", "nlpkit", "bench", "corpus", "--train", str(stars["train"]),
                                "--test", str(stars["test"]), "--unlabelled", str(unlabelled),
                                "--methods", "w2v-lr", "--limit", "40", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 120
    while not list(out.glob("nlpkit-corpus-*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # until the worker has written its temporary corpus and trains on it
    assert list(out.glob("nlpkit-corpus-*")), process.communicate()[1][-2000:]
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr[-2000:]
    assert not list(out.glob("nlpkit-corpus-*"))  # the worker unwound: its temporary corpus is gone
    assert not list(out.glob("vectors/*/bench-vectors.json"))  # and no vectors count as finished
    running = [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
               if "nlpkit.bench.worker" in line and str(out) in line]
    assert running == []  # the worker went with the run

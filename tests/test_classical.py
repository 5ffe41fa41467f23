"""The classical rungs: train / predict / evaluate / inspect over bow-nb, tfidf-lr, tfidf-svm, nbsvm, fasttext.

One model per kind is trained once per module on a balanced slice of the embedded
IMDb sample (fixed seed); the tests read from those models.
"""

from __future__ import annotations

import gzip
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlpkit.models import load_model, read_manifest
from nlpkit.models.evaluation import classification_metrics
from nlpkit.models.training import save_trained, stratified_split, train_model
from tests.conftest import REPO, SAMPLE_DIR, parse_jsonl, run_cli, write_jsonl

KINDS = ["bow-nb", "tfidf-lr", "tfidf-svm", "nbsvm", "fasttext"]
# fastText: one thread (deterministic) and few hash buckets (a small .bin) for the tests
PARAMS = {"fasttext": {"bucket": 20_000, "threads": 1, "epochs": 50, "lr": 0.5}}
# accuracy on 400 sample test reviews after training on 600 (seed 0): measured 0.7775, 0.81, 0.81,
# 0.84, 0.7125 (sklearn 1.9.1, fasttext-modern 0.10), minus a margin of about 0.04
ACCURACY_FLOOR = {"bow-nb": 0.74, "tfidf-lr": 0.77, "tfidf-svm": 0.77, "nbsvm": 0.80, "fasttext": 0.67}


def _balanced(path: Path, per_label: int) -> list[dict]:
    taken: dict[str, int] = {}
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if taken.get(record["label"], 0) < per_label:
                taken[record["label"]] = taken.get(record["label"], 0) + 1
                out.append(record)
    return out



@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("classical")
    train = write_jsonl(root / "train.jsonl", _balanced(SAMPLE_DIR / "train.jsonl.gz", 300))
    test = write_jsonl(root / "test.jsonl", _balanced(SAMPLE_DIR / "test.jsonl.gz", 200))
    return {"root": root, "train": train, "test": test, "test_records": [json.loads(l) for l in test.open()]}


@pytest.fixture(scope="module")
def trained(data):
    """kind -> (the fitted model in memory, its saved directory)."""
    out = {}
    for kind in KINDS:
        result = train_model(kind, PARAMS.get(kind, {}), str(data["train"]), seed=0)
        directory = save_trained(result, data["root"] / f"model-{kind}")
        out[kind] = (result.model, directory)
    return out


# --------------------------------------------------------------------------- accuracy and round trip


@pytest.mark.parametrize("kind", KINDS)
def test_accuracy_floor_on_the_sample(kind, trained, data):
    result = run_cli("evaluate", "--model", trained[kind][1], "--test", data["test"], "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    print(kind, metrics["accuracy"])
    assert metrics["n"] == 400
    assert metrics["accuracy"] >= ACCURACY_FLOOR[kind]
    assert "accuracy" in result.stderr and "confusion" in result.stderr  # the rich table


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_give_identical_predictions(kind, trained, data, monkeypatch):
    model, directory = trained[kind]
    records = [{"text": r["text"]} for r in data["test_records"][:50]]
    before = model.predict_proba(records)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a model load tried to unpickle")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "Unpickler", no_unpickling)
    loaded = load_model(directory)
    after = loaded.predict_proba(records)
    assert loaded.labels_ == model.labels_ == ["neg", "pos"]
    assert np.array_equal(before, after)
    np.testing.assert_allclose(after.sum(axis=1), 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_no_pickle_is_written(kind, trained):
    directory = Path(trained[kind][1])
    files = sorted(p.name for p in directory.iterdir())
    assert "nlpkit.json" in files
    for path in directory.iterdir():
        assert path.suffix not in (".pkl", ".pickle", ".joblib")
        head = path.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in bytes(range(2, 6))), f"{path.name} looks like a pickle"
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:  # object arrays would need pickle
                for name in arrays.files:
                    assert arrays[name].dtype != object


def test_manifest_records_how_the_model_was_trained(trained):
    manifest = read_manifest(trained["tfidf-lr"][1])
    assert manifest["kind"] == "tfidf-lr"
    assert manifest["labels"] == ["neg", "pos"]
    assert manifest["params"]["ngrams"] == [1, 2]
    assert manifest["training"]["n_train"] == 540 and manifest["training"]["n_valid"] == 60
    assert manifest["metrics"]["valid"]["n"] == 60
    assert manifest["data_fingerprint"].startswith("sha256:") and manifest["data_fingerprint"].endswith(":540")
    assert {"nlpkit", "numpy", "scikit-learn"} <= set(manifest["versions"])


def test_inspect_shows_sentiment_words(trained):
    result = run_cli("inspect", "--model", trained["tfidf-lr"][1], "--top", "25", "--json")
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)
    towards_pos = [term for term, _ in top["pos"]["positive"]]
    towards_neg = [term for term, _ in top["neg"]["positive"]]
    assert "great" in towards_pos and "bad" in towards_neg
    assert towards_neg[:25] == [term for term, _ in top["pos"]["negative"]]


def test_inspect_refuses_a_model_without_feature_weights(trained):
    result = run_cli("inspect", "--model", trained["fasttext"][1])
    assert result.exit_code == 1
    assert "no per-feature weights" in result.stderr


# --------------------------------------------------------------------------- predict


def test_predict_adds_pred_and_probs_and_keeps_order_and_fields(trained):
    records = [
        {"id": "a", "text": "A brilliant, moving film with a wonderful cast. One of the best this year.", "year": 2020},
        {"id": "b", "text": "Awful. Boring, stupid and a complete waste of time: the worst movie ever made."},
        {"id": "c", "tokens": ["great", "acting", "and", "a", "superb", "story"]},
    ]
    for kind in ("tfidf-lr", "nbsvm", "bow-nb"):
        result = run_cli("predict", "--model", trained[kind][1], input="".join(json.dumps(r) + "\n" for r in records))
        assert result.exit_code == 0, result.output
        out = parse_jsonl(result.stdout)
        assert [r["pred"] for r in out] == ["pos", "neg", "pos"], kind
        assert [{k: v for k, v in r.items() if k not in ("pred", "probs")} for r in out] == records
        for r in out:
            assert set(r["probs"]) == {"neg", "pos"}
            assert abs(sum(r["probs"].values()) - 1) < 1e-5
            assert r["probs"][r["pred"]] >= 0.5


def test_predict_format_text_prints_labels(trained):
    result = run_cli("predict", "--model", trained["tfidf-lr"][1], "--format", "text",
                     input="a wonderful, beautiful film\nterrible and boring, the worst\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "pos\nneg\n"


def test_predict_skips_records_without_text_when_asked(trained):
    lines = '{"text": "great fun"}\n{"body": "no text here"}\n{"text": "dull and awful"}\n'
    failed = run_cli("predict", "--model", trained["tfidf-lr"][1], input=lines)
    assert failed.exit_code == 1
    assert "stdin:2: record has no 'text' field" in failed.stderr
    skipped = run_cli("predict", "--model", trained["tfidf-lr"][1], "--on-error", "skip", input=lines)
    assert skipped.exit_code == 0
    assert [r["pred"] for r in parse_jsonl(skipped.stdout)] == ["pos", "neg"]
    assert "skipped 1 bad record" in skipped.stderr


def test_predict_in_a_shell_pipeline_with_jobs(trained, data):
    command = (
        f"head -60 {data['test']} | {sys.executable} -m nlpkit predict --model {trained['tfidf-lr'][1]}"
        f" -j 2 --batch-size 16 --format text | sort | uniq -c"
    )
    out = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=REPO, check=True)
    counts = {label: int(n) for n, label in (line.split() for line in out.stdout.splitlines())}
    assert sum(counts.values()) == 60 and set(counts) <= {"neg", "pos"}
    assert counts["pos"] >= 50  # the first 60 test reviews are all positive


# --------------------------------------------------------------------------- evaluation


def test_classification_metrics_on_a_hand_made_case():
    metrics = classification_metrics(["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"], ["a", "b", "c"])
    assert metrics["n"] == 5
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["per_class"]["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert metrics["per_class"]["b"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert metrics["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert metrics["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[1, 1, 0], [0, 2, 0], [1, 0, 0]]}


def test_evaluate_refuses_a_label_the_model_does_not_know(trained, tmp_path):
    test = write_jsonl(tmp_path / "t.jsonl", [{"text": "good", "label": "pos"}, {"text": "meh", "label": "neutral"}])
    result = run_cli("evaluate", "--model", trained["tfidf-lr"][1], "--test", test)
    assert result.exit_code == 1
    assert f"{test}:2: label 'neutral' is not one the model knows (neg, pos)" in result.stderr
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- multi-class, any label


TOPICS = {
    "sport": "the team won the match goal striker league season coach football referee penalty",
    "food & cooking": "recipe oven bake flour sugar butter taste dinner chef kitchen spicy sauce",
    "3": "election vote parliament minister party campaign policy senate law president debate",
}


def _topic_records(n_per_topic: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for label, words in TOPICS.items():
        vocabulary = words.split()
        for i in range(n_per_topic):
            text = " ".join(rng.choice(vocabulary, size=12)) + " and also the other some"
            records.append({"id": f"{label}-{i}", "text": text, "label": 3 if label == "3" else label})
    return records


@pytest.mark.parametrize("kind", KINDS)
def test_multi_class_with_any_string_labels(kind, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", _topic_records(40, seed=1))
    model_dir = tmp_path / "m"
    # fastText on a hundred shuffled lines: a moderate learning rate, more epochs
    options = ["--bucket", "20000", "--epochs", "50", "--lr", "0.1"] if kind == "fasttext" else []
    result = run_cli("train", "--model", kind, "--train", train, "-o", model_dir, *options)
    assert result.exit_code == 0, result.output
    assert read_manifest(model_dir)["labels"] == ["3", "food & cooking", "sport"]
    queries = [{"text": "the striker scored a goal in the match"}, {"text": "bake the flour and sugar in the oven"},
               {"text": "a minister lost an election vote in parliament"}]
    out = parse_jsonl(run_cli("predict", "--model", model_dir, input="".join(json.dumps(q) + "\n" for q in queries)).stdout)
    assert [r["pred"] for r in out] == ["sport", "food & cooking", "3"]
    assert all(len(r["probs"]) == 3 for r in out)
    if kind != "fasttext":
        top = json.loads(run_cli("inspect", "--model", model_dir, "--top", "3", "--json").stdout)
        assert set(top) == {"3", "food & cooking", "sport"}
        assert {term for term, _ in top["sport"]["positive"]} <= set(TOPICS["sport"].split())


# --------------------------------------------------------------------------- train: options and bad input


def test_train_cli_writes_a_model_with_validation_metrics(data, tmp_path):
    model_dir = tmp_path / "svm"
    result = run_cli("-v", "train", "--model", "tfidf-svm", "--train", data["train"], "--valid", data["test"],
                     "-o", model_dir, "-C", "0.5", "--ngrams", "1,1", "--min-df", "3")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(model_dir)
    assert manifest["params"]["C"] == 0.5 and manifest["params"]["ngrams"] == [1, 1] and manifest["params"]["min_df"] == 3
    assert manifest["training"]["valid"] == str(data["test"]) and manifest["metrics"]["valid"]["n"] == 400
    assert "validation (400): accuracy" in result.stderr


def test_an_option_the_kind_does_not_take_is_a_usage_error(data, tmp_path):
    result = run_cli("train", "--model", "tfidf-lr", "--epochs", "3", "--train", data["train"], "-o", tmp_path / "m")
    assert result.exit_code == 2
    assert "--epochs does not apply to --model tfidf-lr" in result.stderr
    result = run_cli("train", "--model", "no-such", "--train", data["train"], "-o", tmp_path / "m")
    assert result.exit_code == 2 and "'no-such' is not a model kind" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "records, message",
    [
        ([{"text": "good", "label": "pos"}, {"text": "bad"}], "train.jsonl:2: record has no 'label' field (use --label-field"),
        ([], "train.jsonl: no records: cannot train or validate on an empty file"),
        ([{"text": "good", "label": "pos"}, {"text": "fine", "label": "pos"}], "all 2 records have the label 'pos'"),
        ([{"text": "good", "label": ["pos"]}], "train.jsonl:1: label field 'label' holds list"),
    ],
    ids=["no-label", "empty", "one-class", "list-label"],
)
def test_train_refuses_bad_training_data(records, message, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", records)
    result = run_cli("train", "--model", "tfidf-lr", "--train", train, "-o", tmp_path / "m")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_train_will_not_replace_a_directory_that_is_not_a_model(data, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = run_cli("train", "--model", "bow-nb", "--train", data["train"], "-o", tmp_path)
    assert result.exit_code == 2 and "not a model directory" in result.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_stratified_split_is_seeded_and_keeps_proportions():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 1
    train, valid = stratified_split(labels, 0.1, seed=3)
    assert stratified_split(labels, 0.1, seed=3) == (train, valid)
    assert stratified_split(labels, 0.1, seed=4) != (train, valid)
    assert sorted(train + valid) == list(range(81))
    assert [labels[i] for i in valid].count("a") == 5 and [labels[i] for i in valid].count("b") == 3
    assert 80 in train  # a label seen once stays in training


# --------------------------------------------------------------------------- damaged model directories


def _copy_model(source: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(source, dest))


@pytest.mark.parametrize("kind, missing", [("tfidf-lr", "linear.npz"), ("tfidf-lr", "vectorizer.json"),
                                           ("fasttext", "model.bin"), ("nbsvm", "nlpkit.json")])
def test_a_model_directory_with_a_missing_file_is_a_clear_error(kind, missing, trained, data, tmp_path):
    model_dir = _copy_model(trained[kind][1], tmp_path / "m")
    (model_dir / missing).unlink()
    for args in (["predict", "--model", model_dir], ["evaluate", "--model", model_dir, "--test", data["test"]]):
        result = run_cli(*args, input='{"text": "good"}\n')
        assert result.exit_code == 1, args
        assert result.stderr.startswith(f"Error: {model_dir}: ")
        assert ("damaged model directory" in result.stderr) or ("nlpkit.json is missing" in result.stderr)
        assert "Traceback" not in result.output


def test_a_newer_format_version_is_refused(trained, tmp_path):
    model_dir = _copy_model(trained["bow-nb"][1], tmp_path / "m")
    manifest = json.loads((model_dir / "nlpkit.json").read_text())
    (model_dir / "nlpkit.json").write_text(json.dumps({**manifest, "format_version": 99}))
    result = run_cli("predict", "--model", model_dir, input='{"text": "good"}\n')
    assert result.exit_code == 1 and "model format version 99 is newer" in result.stderr


def test_mismatched_weights_are_a_clear_error(trained, tmp_path):
    model_dir = _copy_model(trained["tfidf-lr"][1], tmp_path / "m")
    np.savez(model_dir / "linear.npz", coef=np.zeros((1, 3)), intercept=np.zeros(1))
    result = run_cli("predict", "--model", model_dir, input='{"text": "good"}\n')
    assert result.exit_code == 1 and "linear.npz: damaged: its sha256 does not match" in result.stderr
    # a model saved before checksums (no seal in its manifest) is still checked by shape
    manifest = json.loads((model_dir / "nlpkit.json").read_text())
    unsealed = {k: v for k, v in manifest.items() if k not in ("checksums", "manifest_checksum")}
    (model_dir / "nlpkit.json").write_text(json.dumps(unsealed))
    result = run_cli("predict", "--model", model_dir, input='{"text": "good"}\n')
    assert result.exit_code == 1 and "do not fit 2 labels" in result.stderr


def test_fasttext_trains_on_shuffled_lines_whatever_the_input_order(monkeypatch):
    # fastText reads its file in order with a decaying learning rate; IMDb's files are sorted by
    # label (all pos, then all neg), which left the model leaning to the last label
    from nlpkit.models import fasttext_model

    seen = {}

    def capture(arguments):
        with open(arguments["input"], encoding="utf-8") as f:
            seen.setdefault("labels", []).append([line.split(" ", 1)[0] for line in f])
        raise RuntimeError("captured")  # stop before training

    monkeypatch.setattr(fasttext_model, "_train_isolated", capture)
    records = [{"text": f"review {i}"} for i in range(200)]
    labels = ["pos"] * 100 + ["neg"] * 100
    for _ in range(2):
        with pytest.raises(Exception, match="captured"):
            fasttext_model.FastTextClassifier(seed=3).fit(records, labels)
    first, second = seen["labels"]
    assert first == second  # seeded: the same order every time
    assert sorted(first) == sorted(f"__label__{1 if label == 'pos' else 0}" for label in labels)
    # no long run of one label: the first quarter holds both labels in roughly equal measure
    assert 15 <= first[:50].count("__label__0") <= 35


def test_fasttext_starts_from_pretrained_vectors_of_their_size(tmp_path):
    # --vectors: fastText's -pretrainedVectors, whose size wins over --dim; an lr too small to move
    # anything leaves each known word where the vectors put it
    from nlpkit.models.fasttext_model import FastTextClassifier

    planted = {"great": [0.5, -0.25, 1.0], "awful": [-1.0, 0.75, 0.125], "Cased": [9.0, 9.0, 9.0]}
    vec = tmp_path / "planted.vec"
    vec.write_text("3 3\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in planted.items()))
    records = [{"text": "great film"}, {"text": "awful film"}] * 10
    model = FastTextClassifier(dim=50, epochs=1, lr=1e-9, vectors=str(vec)).fit(records, ["pos", "neg"] * 10)
    assert model._ft.get_dimension() == 3
    np.testing.assert_allclose(model._ft.get_word_vector("great"), planted["great"], atol=1e-6)
    np.testing.assert_allclose(model._ft.get_word_vector("awful"), planted["awful"], atol=1e-6)
    # the lines are lowercased, so a cased word is never handed to fastText
    assert "Cased" not in model._ft.words
    assert model.get_params()["vectors"] == str(vec)

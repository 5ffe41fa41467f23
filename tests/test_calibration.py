"""Calibrated probabilities, decision thresholds and abstention: what a program acting on `probs` relies on."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlpkit.models import load_model, read_manifest
from nlpkit.models.calibration import Calibrator, fit_calibrator
from nlpkit.models.evaluation import probability_metrics
from tests.conftest import REPO, SAMPLE_DIR, parse_jsonl, write_jsonl


def _synthetic(n: int, seed: int, sharpen: float) -> tuple[np.ndarray, np.ndarray]:
    """Three labels drawn from known probabilities; the 'model' reports them sharpened (logits x `sharpen`)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, 3))
    true_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in true_p])
    raw = np.exp(sharpen * logits)
    return raw / raw.sum(1, keepdims=True), y


@pytest.mark.parametrize("method", ["temperature", "sigmoid", "isotonic"])
def test_calibration_lowers_ece_where_the_scores_are_known_to_be_overconfident(method):
    fit_p, fit_y = _synthetic(3000, seed=0, sharpen=3.0)
    test_p, test_y = _synthetic(3000, seed=1, sharpen=3.0)
    before = probability_metrics(test_p, test_y)
    calibrator = fit_calibrator(method, fit_p, fit_y)
    after = probability_metrics(calibrator.apply(test_p), test_y)
    assert before["ece"] > 0.15  # the case is miscalibrated
    assert after["ece"] < 0.04 and after["ece"] < before["ece"] / 4
    assert after["log_loss"] < before["log_loss"]
    assert np.allclose(calibrator.apply(test_p).sum(1), 1.0)


def test_temperature_scaling_leaves_every_argmax_unchanged():
    p, y = _synthetic(2000, seed=2, sharpen=3.0)
    fitted = fit_calibrator("temperature", p, y)
    assert fitted.params["temperature"] == pytest.approx(3.0, rel=0.15)  # it undoes the sharpening
    for calibrator in (fitted, Calibrator("temperature", {"temperature": 0.2}, {})):
        assert (calibrator.apply(p).argmax(1) == p.argmax(1)).all()


def test_ece_is_the_count_weighted_gap_over_15_bins():
    # two records at 0.9 (one right), one at 0.6 (right): bins (0.8667, 0.9333] and (0.5333, 0.6]
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4]])
    y = np.array([0, 0, 0])
    m = probability_metrics(probs, y)
    assert m["ece"] == pytest.approx(2 / 3 * abs(0.9 - 0.5) + 1 / 3 * abs(0.6 - 1.0))
    assert m["brier"] == pytest.approx((0.02 + 1.62 + 0.32) / 3)
    assert m["log_loss"] == pytest.approx(-(np.log(0.9) + np.log(0.1) + np.log(0.6)) / 3)


# --------------------------------------------------------------------------- on a real model


def _balanced(path: Path, per_label: int, skip: int = 0) -> list[dict]:
    seen: dict[str, int] = {}
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            k = seen.get(record["label"], 0)
            seen[record["label"]] = k + 1
            if skip <= k < skip + per_label:
                out.append(record)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("calibration")
    return {
        "train": write_jsonl(d / "train.jsonl", _balanced(SAMPLE_DIR / "train.jsonl.gz", 300)),
        "valid": write_jsonl(d / "valid.jsonl", _balanced(SAMPLE_DIR / "train.jsonl.gz", 150, skip=300)),
        "test": write_jsonl(d / "test.jsonl", _balanced(SAMPLE_DIR / "test.jsonl.gz", 200)),
    }


@pytest.fixture(scope="module")
def raw_model(data, tmp_path_factory) -> Path:
    """An nbsvm trained without calibration (its raw scores are far from probabilities)."""
    from click.testing import CliRunner

    from nlpkit.cli import cli

    out = tmp_path_factory.mktemp("models") / "nbsvm"
    result = CliRunner().invoke(cli, ["train", "--model", "nbsvm", "--train", str(data["train"]), "--valid-fraction", "0",
                                      "--calibrate", "none", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _copy(model_dir: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def _evaluate(invoke, model_dir: Path, test: Path) -> dict:
    result = invoke("evaluate", "--model", model_dir, "--test", test, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_calibrate_rewrites_a_saved_model_and_its_ece_falls_on_test(invoke, raw_model, data, tmp_path):
    model_dir = _copy(raw_model, tmp_path)
    before = _evaluate(invoke, model_dir, data["test"])
    result = invoke("calibrate", "--model", model_dir, "--valid", data["valid"])
    assert result.exit_code == 0, result.output
    assert re.match(r"calibrate: sigmoid on 300 records of .*: ECE 0\.\d{4} -> 0\.\d{4}", result.stderr)
    after = _evaluate(invoke, model_dir, data["test"])
    assert before["ece"] > 0.2 and after["ece"] < 0.08
    assert abs(after["accuracy"] - before["accuracy"]) <= 0.01
    manifest = read_manifest(model_dir)  # sealed: the manifest's checksums cover calibration.json
    assert manifest["calibration"]["method"] == "sigmoid" and "calibration.json" in manifest["checksums"]
    # the loaded model's probabilities are the calibrator's map of its raw scores
    model = load_model(model_dir)
    records = [{"text": "A dull, lifeless film. I wanted my money back."}]
    assert np.allclose(model.predict_proba(records), model.calibration_.apply(model.predict_proba(records, calibrated=False)))
    # a calibration.json changed by hand is refused in one line
    (model_dir / "calibration.json").write_text('{"method": "temperature", "params": {"temperature": 9}}')
    result = invoke("predict", "--model", model_dir, input='{"text": "fine"}\n')
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("damaged: its sha256 does not match the manifest (the file was cut or changed)")


def test_train_calibrates_by_default_on_its_validation_slice(invoke, data, tmp_path):
    out = tmp_path / "lr"
    result = invoke("train", "--model", "tfidf-lr", "--train", data["train"], "-o", out)
    assert result.exit_code == 0, result.output
    calibration = json.loads((out / "calibration.json").read_text())
    assert calibration["method"] == "sigmoid" and calibration["n"] == 60  # the stratified 0.1 slice of 600
    assert "stratified 0.1 slice, seed 0" in calibration["fitted_on"]


def test_a_named_method_without_held_out_records_is_a_usage_error(invoke, data, tmp_path):
    result = invoke("train", "--model", "tfidf-lr", "--train", data["train"], "--valid-fraction", "0",
                    "--calibrate", "isotonic", "-o", tmp_path / "m")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: --calibrate isotonic needs held-out records: give --valid FILE or a "
                                     "--valid-fraction above 0")
    assert not (tmp_path / "m").exists()


def test_a_saved_threshold_round_trips_and_decides_pred(invoke, raw_model, data, tmp_path):
    model_dir = _copy(raw_model, tmp_path)
    result = invoke("threshold", "--model", model_dir, "--valid", data["valid"], "--metric", "precision@recall=0.9",
                    "--save")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.endswith(" *")]
    assert len(rows) == 1  # the chosen point is marked in the printed curve
    saved = json.loads((model_dir / "threshold.json").read_text())
    assert saved["label"] == "pos" and saved["metric"] == "precision@recall=0.9" and saved["valid"]["recall"] >= 0.9
    assert float(rows[0].split()[0]) == pytest.approx(saved["threshold"], abs=1e-4)
    assert load_model(model_dir).labels_.threshold == saved
    assert "threshold.json" in read_manifest(model_dir)["checksums"]

    # documented: pred is "pos" exactly where P(pos) >= the threshold, and each record names the threshold
    result = invoke("predict", "--model", model_dir, data["test"])
    records = parse_jsonl(result.stdout)
    t = saved["threshold"]
    assert all(r["threshold"] == {"label": "pos", "value": t} for r in records)
    assert all((r["pred"] == "pos") == (r["probs"]["pos"] >= t - 1e-6) for r in records)
    plain = parse_jsonl(invoke("predict", "--model", raw_model, data["test"]).stdout)
    changed = sum(a["pred"] != b["pred"] for a, b in zip(records, plain))
    assert changed > 0 and all("threshold" not in r for r in plain)

    # recalibrating removes it (it was chosen on the old probabilities)
    result = invoke("calibrate", "--model", model_dir, "--valid", data["valid"])
    assert "removed the saved threshold" in result.stderr
    assert not (model_dir / "threshold.json").exists() and load_model(model_dir).labels_.threshold is None


def test_threshold_refuses_a_metric_it_cannot_parse(invoke, raw_model, data):
    result = invoke("threshold", "--model", raw_model, "--valid", data["valid"], "--metric", "precision@recall=2")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --metric must be f1, precision@recall=R or recall@precision=P")


def test_min_confidence_abstains_and_counts(invoke, raw_model, data):
    result = invoke("predict", "--model", raw_model, "--min-confidence", "0.6", data["test"])
    records = parse_jsonl(result.stdout)
    abstained = [r for r in records if r["pred"] is None]
    assert 0 < len(abstained) < len(records)
    assert all(max(r["probs"].values()) < 0.6 for r in abstained)
    assert all(max(r["probs"].values()) >= 0.6 for r in records if r["pred"] is not None)
    assert f"predict: abstained on {len(abstained):,} record(s) below confidence 0.6" in result.stderr


def test_evaluate_json_is_only_json_on_stdout(raw_model, data):
    """`evaluate --json | python -m json.tool`: stdout is one JSON document, the tables stay off a pipe's stderr."""
    evaluate = subprocess.Popen([sys.executable, "-m", "nlpkit", "evaluate", "--model", str(raw_model), "--test",
                                 str(data["test"]), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    tool = subprocess.run([sys.executable, "-m", "json.tool"], stdin=evaluate.stdout, capture_output=True, text=True,
                          timeout=120)
    evaluate.stdout.close()
    stderr = evaluate.stderr.read().decode()
    evaluate.stderr.close()
    assert evaluate.wait(timeout=120) == 0 and tool.returncode == 0, stderr + tool.stderr
    metrics = json.loads(tool.stdout)
    assert {"accuracy", "macro_f1", "ece", "brier", "log_loss"} <= set(metrics)
    assert stderr == ""


ISSUE_NUMBER = re.compile(r"issue #?[0-9]+", re.IGNORECASE)


def test_no_code_report_or_doc_cites_an_issue_number():
    """A reader outside the project cannot follow "issue 12": the product says the reason instead."""
    paths = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "nlpkit").rglob("*.py"))]
    hits = [f"{p.relative_to(REPO)}:{i}" for p in paths
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if ISSUE_NUMBER.search(line)]
    assert hits == []


def test_every_published_figure_names_its_paper_table_and_where_it_was_checked():
    from nlpkit.bench.references import REFERENCES

    for ref in REFERENCES.values():
        assert re.search(r"\b(19|20)\d\d\b", ref.source) and "Table " in ref.source, ref.key
        assert ref.checked.startswith(("secondary source:", "not re-read in the paper", "the paper")) or \
            "; secondary source" in ref.checked or "; not re-read in the paper" in ref.checked, ref.key
        assert "nlpkit" not in ref.checked and "issue" not in ref.checked.lower(), ref.key

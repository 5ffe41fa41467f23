"""Calibration: ECE before and after each row's calibrator, and a threshold's promise kept on test.

    python benchmarks/bench_calibration.py            # both parts, then the threshold check
    python benchmarks/bench_calibration.py sample     # only the embedded sample (`nlpkit bench imdb`'s default rows)
    python benchmarks/bench_calibration.py full       # only full IMDb's linear rows and the threshold

1. The embedded sample: `nlpkit bench imdb --data corpora/imdb-sample` (every default row, as `make bench`),
   read back from its results.json: each row's ECE on the 1,000 test reviews with the calibrator it fitted
   on the validation split, and without it (target: 0.05 or less after).
2. Full IMDb (../shared/corpora/imdb), the linear rows tfidf-lr, tfidf-svm, nbsvm and fasttext with the bench's
   settings (fasttext without the run's Word2Vec vectors, which take longer to train than the four rows),
   the bench's protocol: fit on the training split less a stratified 2,500-review validation slice (seed 0),
   calibrate on that slice (`train --calibrate auto`), refit on all 25,000 and test on all 25,000, the
   calibrator of the first fit applied to the refit. Target: ECE 0.03 or less, accuracy within 0.2 points of
   the same model's uncalibrated argmax.
3. `nlpkit threshold --metric precision@recall=0.9 --save` on the validated nbsvm of part 2 (the one `nlpkit
   train` would save), its validation slice as --valid; then `nlpkit predict` on the 25,000 test reviews: the
   precision it promised must hold within 1 point (and the recall near 0.9).

Results: benchmarks/results/calibration.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IMDB, NLPKIT, REPO, write_results

SAMPLE = REPO / "corpora" / "imdb-sample"
FULL_ROWS = ("tfidf-lr", "tfidf-svm", "nbsvm", "fasttext")
SEED = 0


def sample_part(out: Path) -> dict:
    started = time.perf_counter()
    subprocess.run([*NLPKIT, "bench", "imdb", "--data", str(SAMPLE), "--out", str(out), "--force"], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)
    results = json.loads((out / "results.json").read_text())
    rows = {}
    for m in results["methods"]:
        if m.get("status") != "done":
            rows[m["method"]] = {"status": m.get("status")}
            continue
        rows[m["method"]] = {
            "calibration": m["calibration"], "n_test": m["n_test"],
            "accuracy": round(m["accuracy"], 4), "accuracy_uncalibrated": round(m["uncalibrated"]["accuracy"], 4),
            "ece_uncalibrated": round(m["uncalibrated"]["ece"], 4), "ece": round(m["ece"], 4),
            "log_loss_uncalibrated": round(m["uncalibrated"]["log_loss"], 4), "log_loss": round(m["log_loss"], 4),
            "meets_0.05": m["ece"] <= 0.05,
        }
    return {"command": f"nlpkit bench imdb --data corpora/imdb-sample --out {out} --force",
            "seconds": round(time.perf_counter() - started, 1), "rows": rows}


def full_part(work: Path) -> tuple[dict, Path, Path]:
    import numpy as np

    from nlpkit.bench.methods import METHODS, RUN_VECTORS
    from nlpkit.models.evaluation import classification_metrics, probability_metrics
    from nlpkit.models.training import load_dataset, save_trained, stratified_split, train_model

    train_all = load_dataset(str(IMDB / "train.jsonl.gz"))
    test = load_dataset(str(IMDB / "test.jsonl.gz"))
    train_idx, valid_idx = stratified_split(train_all.labels, 0.1, SEED)
    train = train_all.subset(train_idx, "train")
    valid = train_all.subset(valid_idx, "valid (stratified 0.1 slice of train, seed 0)")
    valid_file = work / "valid.jsonl"
    with open(valid_file, "w", encoding="utf-8") as f:
        for record, label in zip(valid.records, valid.labels):
            f.write(json.dumps({**record, "label": label}) + "\n")
    rows: dict = {}
    nbsvm_dir = work / "nbsvm"
    for name in FULL_ROWS:
        params = dict(METHODS[name].settings("cpu", len(train_all)).params)
        note = None
        if params.get("vectors") == RUN_VECTORS:
            params.pop("vectors")
            note = "without the run's Word2Vec vectors"
        started = time.perf_counter()
        validated = train_model(name, params, train, valid, seed=SEED, calibrate="auto")
        if name == "nbsvm":
            save_trained(validated, nbsvm_dir, seed=SEED)
        refit = train_model(name, params, train_all, None, seed=SEED, valid_fraction=0, calibrate="none")
        model = refit.model
        raw = np.asarray(model.predict_proba(test.records, calibrated=False), dtype=np.float64)
        calibrated = validated.model.calibration_.apply(raw)
        index = {label: i for i, label in enumerate(model.labels_)}
        y = [index[label] for label in test.labels]
        row: dict = {"calibration": validated.model.calibration_.method, "params": params, "note": note}
        for key, probs in (("uncalibrated", raw), ("calibrated", calibrated)):
            predicted = [model.labels_[i] for i in probs.argmax(axis=1)]
            scores = probability_metrics(probs, y)
            row[key] = {"accuracy": round(100 * classification_metrics(test.labels, predicted, model.labels_)["accuracy"], 2),
                        **{k: round(v, 4) for k, v in scores.items()}}
        row["accuracy_change_points"] = round(row["calibrated"]["accuracy"] - row["uncalibrated"]["accuracy"], 2)
        row["meets_targets"] = row["calibrated"]["ece"] <= 0.03 and abs(row["accuracy_change_points"]) <= 0.2
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows[name] = row
        print(name, json.dumps({k: row[k] for k in ("uncalibrated", "calibrated", "seconds")}), flush=True)
    return {"data": str(IMDB), "protocol": "fit on 22,500, calibrate on the 2,500-review validation slice, refit on "
                                          "25,000 with that calibrator, test on 25,000", "rows": rows}, nbsvm_dir, valid_file


def threshold_part(model_dir: Path, valid_file: Path, metric: str = "precision@recall=0.9") -> dict:
    subprocess.run([*NLPKIT, "threshold", "--model", str(model_dir), "--valid", str(valid_file), "--metric", metric,
                    "--save"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    rule = json.loads((model_dir / "threshold.json").read_text())
    predicted = subprocess.run([*NLPKIT, "predict", "--model", str(model_dir), str(IMDB / "test.jsonl.gz")], check=True,
                               cwd=REPO, capture_output=True, text=True).stdout
    label = rule["label"]
    tp = fp = fn = 0
    for line in predicted.split("\n"):  # not splitlines(): a review may hold U+2028
        if not line:
            continue
        r = json.loads(line)
        tp += r["pred"] == label and r["label"] == label
        fp += r["pred"] == label and r["label"] != label
        fn += r["pred"] != label and r["label"] == label
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    promised = rule["valid"]["precision"]
    return {"commands": [f"nlpkit threshold --model MODEL --valid VALID --metric {metric} --save",
                         f"nlpkit predict --model MODEL {IMDB / 'test.jsonl.gz'}"],
            "threshold": rule["threshold"], "label": label, "valid": rule["valid"],
            "test": {"precision": round(precision, 4), "recall": round(recall, 4)},
            "precision_gap_points": round(100 * (precision - promised), 2),
            "holds_within_1_point": abs(precision - promised) <= 0.01}


def main(parts: list[str]) -> int:
    parts = parts or ["sample", "full"]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        work = Path(tmp)
        if "sample" in parts:
            results["sample"] = sample_part(work / "sample-bench")
        if "full" in parts:
            if not (IMDB / "train.jsonl.gz").is_file():
                print(f"no full IMDb at {IMDB}: skipping the full part", file=sys.stderr)
            else:
                results["full"], nbsvm_dir, valid_file = full_part(work)
                results["threshold_nbsvm_full"] = threshold_part(nbsvm_dir, valid_file)
    write_results("calibration" + ("" if len(parts) == 2 else f"-{parts[0]}"), results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

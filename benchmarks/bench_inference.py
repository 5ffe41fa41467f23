"""Faster CPU inference for a fine-tuned MiniLM: int8 and ONNX Runtime against the plain fp32 loop.

One run, one process, the same 2,000 IMDb test reviews (balanced, seed 0) for each variant:

- fp32:       the model as `nlpkit predict` runs it (transformers' fp32 module in nlpkit's loop)
- int8:       `predict --quantize int8` (torch dynamic quantization: Linear weights per channel, the head fp32)
- onnx:       `predict --runtime onnx` (the graph `nlpkit export --format onnx` wrote)
- onnx-int8:  `predict --runtime onnx --quantize int8` (onnxruntime's dynamic int8 of that graph)

The model: all-MiniLM-L6-v2 fine-tuned with `nlpkit train --model bert` on 2,000 IMDb
training reviews (balanced, seed 0), 1 epoch, max_len 128 (head), lr 5e-5, batch 16:
the CPU settings of `nlpkit bench imdb`. It is trained once into bench-out/inference/bert
and reused while the training data and settings are the same.

The reviews are cut into chunks and every variant runs each chunk in turn (the order
rotating), so that a load change on this shared machine falls on all of them alike.

    nice -n 10 .venv/bin/python benchmarks/bench_inference.py [--test N] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import IMDB, NLPKIT, REPO, sh, write_results  # noqa: E402

OUT = REPO / "bench-out" / "inference"
TRAIN_SETTINGS = ["--max-len", "128", "--epochs", "1", "--lr", "5e-5", "--batch-size", "16", "--valid-fraction", "0",
                  "--seed", "0"]
VARIANTS = [("fp32", None, "torch"), ("int8", "int8", "torch"), ("onnx", None, "onnx"), ("onnx-int8", "int8", "onnx")]
CHUNKS = 4


def train_model(n_train: int, threads: int) -> tuple[Path, dict]:
    from nlpkit.bench.data import balanced_subset, load_split

    OUT.mkdir(parents=True, exist_ok=True)
    train = balanced_subset(load_split(IMDB, "train"), n_train, seed=0)
    train_file = OUT / f"train-{n_train}.jsonl"
    train_file.write_text("".join(json.dumps(r) + "\n" for r in train))
    model_dir = OUT / "bert"
    key = {"n_train": n_train, "settings": TRAIN_SETTINGS}
    stamp = model_dir / "bench-settings.json"
    info = {"train_reviews": n_train, "train_settings": " ".join(TRAIN_SETTINGS), "reused": True}
    if not (stamp.is_file() and json.loads(stamp.read_text()) == key):
        started = time.perf_counter()
        sh(" ".join([*NLPKIT, "train", "--model", "bert", "--train", str(train_file), "-o", str(model_dir),
                     "--threads", str(threads), *TRAIN_SETTINGS]))
        info.update(reused=False, train_seconds=round(time.perf_counter() - started, 1))
        stamp.write_text(json.dumps(key))
    started = time.perf_counter()
    sh(" ".join([*NLPKIT, "export", "--format", "onnx", "--model", str(model_dir), "--quantize", "int8"]))
    info["export_seconds"] = round(time.perf_counter() - started, 1)
    return model_dir, info


def measure(model_dir: Path, n_test: int, threads: int) -> dict:
    import torch

    from nlpkit.bench.data import balanced_subset, load_split
    from nlpkit.models.inference import load_for_inference

    torch.set_num_threads(threads)
    test = balanced_subset(load_split(IMDB, "test"), n_test, seed=0)
    gold = [r["label"] for r in test]
    inputs = [{"text": r["text"]} for r in test]
    models, load_seconds = {}, {}
    for name, quantize, runtime in VARIANTS:
        started = time.perf_counter()
        models[name] = load_for_inference(model_dir, quantize=quantize, runtime=runtime)
        load_seconds[name] = round(time.perf_counter() - started, 2)
        models[name].batch_size = 32
        models[name].predict_proba(inputs[:32])  # warm-up: first-call allocations, ORT's graph set-up
    rows = race(models, inputs, gold)
    for name in rows:
        rows[name]["load_seconds"] = load_seconds[name]
    return rows


def race(models: dict, inputs: list[dict], gold: list[str]) -> dict:
    """Each model's docs/s and accuracy on `inputs`, the chunks taken in turn; against models["fp32"]."""
    import numpy as np

    seconds = {name: 0.0 for name in models}
    probs = {name: [] for name in models}
    bounds = np.linspace(0, len(inputs), CHUNKS + 1).astype(int)
    for c in range(CHUNKS):
        chunk = inputs[bounds[c] : bounds[c + 1]]
        order = list(models)[c % len(models):] + list(models)[: c % len(models)]
        for name in order:
            started = time.perf_counter()
            probs[name].append(models[name].predict_proba(chunk))
            seconds[name] += time.perf_counter() - started
        print(f"chunk {c + 1}/{CHUNKS}: " + ", ".join(f"{n} {seconds[n]:.1f} s" for n in models), file=sys.stderr, flush=True)
    rows = {}
    reference = np.concatenate(probs["fp32"])
    for name, model in models.items():
        p = np.concatenate(probs[name])
        pred = [model.labels_[i] for i in p.argmax(1)]
        rows[name] = {
            "docs_per_s": round(len(inputs) / seconds[name], 2), "seconds": round(seconds[name], 2),
            "accuracy": round(float(np.mean([a == b for a, b in zip(pred, gold)])), 4),
            "agreement_with_fp32": round(float(np.mean(p.argmax(1) == reference.argmax(1))), 4),
            "max_abs_prob_diff": round(float(np.abs(p - reference).max()), 5),
        }
    for name in rows:
        rows[name]["speedup"] = round(rows[name]["docs_per_s"] / rows["fp32"]["docs_per_s"], 3)
        rows[name]["accuracy_loss_points"] = round(100 * (rows["fp32"]["accuracy"] - rows[name]["accuracy"]), 2)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=2000, help="IMDb training reviews to fine-tune on")
    parser.add_argument("--test", type=int, default=2000, help="IMDb test reviews to measure on")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model_dir, training = train_model(args.train, args.threads)
    started = time.perf_counter()
    rows = measure(model_dir, args.test, args.threads)
    write_results("inference", {
        "model": "all-MiniLM-L6-v2 fine-tuned by nlpkit train --model bert", **training,
        "test_reviews": args.test, "threads": args.threads, "batch_size": 32, "max_len": 128,
        "measure_seconds": round(time.perf_counter() - started, 1), "variants": rows,
    })


if __name__ == "__main__":
    main(sys.argv[1:])

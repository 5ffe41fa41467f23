"""Choose torch int8's rule (per-tensor or per-channel weights; the head int8 or fp32) on held-out TRAINING reviews.

benchmarks/bench_inference.py's fine-tuned MiniLM (bench-out/inference/bert, trained on
2,000 IMDb training reviews, balanced, seed 0) against each candidate
:func:`nlpkit.models.inference.quantize_int8` setting, on IMDb training reviews that
model never saw (balanced, seed 1, from the training split less those 2,000). The test
split is never read here: the rule is picked by this slice's accuracy loss and speed,
and bench_inference.py then reports the chosen rule's test figure.

    nice -n 10 .venv/bin/python benchmarks/choose_int8.py [--held-out 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import IMDB, write_results  # noqa: E402
from benchmarks.bench_inference import OUT, race  # noqa: E402
from nlpkit.models.inference import FP32_LAYERS  # noqa: E402

# name: quantize_int8's keyword arguments
CANDIDATES = {
    "int8-tensor": {"per_channel": False, "fp32_layers": ()},
    "int8-tensor-fp32-head": {"per_channel": False},
    "int8-channel": {"per_channel": True, "fp32_layers": ()},
    "int8-channel-fp32-head": {"per_channel": True},
    # round 2 (the per-channel rows above lost 0.5 points on this slice): more of the network in fp32
    "int8-channel-fp32-head-last-layer": {"per_channel": True, "fp32_layers": (*FP32_LAYERS, "bert.encoder.layer.5")},
    "int8-channel-fp32-head-ffn-out": {
        "per_channel": True, "fp32_layers": (*FP32_LAYERS, *(f"bert.encoder.layer.{i}.output.dense" for i in range(6)))},
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=2000, help="the training reviews the model was fine-tuned on")
    parser.add_argument("--held-out", type=int, default=1000, help="held-out training reviews to choose on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidates", help="comma-separated names of CANDIDATES to race (default: all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from nlpkit.bench.data import balanced_subset, load_split
    from nlpkit.models.base import load_model
    from nlpkit.models.inference import quantize_int8

    torch.set_num_threads(args.threads)
    train = load_split(IMDB, "train")
    seen = {json.dumps(r, sort_keys=True) for r in balanced_subset(train, args.train, seed=0)}
    held_out = balanced_subset([r for r in train if json.dumps(r, sort_keys=True) not in seen], args.held_out, seed=1)
    inputs, gold = [{"text": r["text"]} for r in held_out], [r["label"] for r in held_out]
    models = {"fp32": load_model(OUT / "bert")}
    chosen = args.candidates.split(",") if args.candidates else list(CANDIDATES)
    for name in chosen:
        options = CANDIDATES[name]
        model = load_model(OUT / "bert")
        model.device_ = torch.device("cpu")
        model.module_ = quantize_int8(copy.deepcopy(models["fp32"].module_), **options)
        models[name] = model
    for model in models.values():
        model.batch_size = 32
        model.predict_proba(inputs[:32])  # warm-up
    write_results("int8-choice", {
        "model": str((OUT / "bert").relative_to(OUT.parents[1])), "split": "train (held out from the fine-tuning)",
        "held_out_reviews": len(inputs), "threads": args.threads, "fp32_head_layers": list(FP32_LAYERS),
        "candidates": {name: CANDIDATES[name] for name in chosen}, "variants": race(models, inputs, gold),
    })


if __name__ == "__main__":
    main(sys.argv[1:])

"""The prepared GPU check: ``python -m nlpkit.bench.gpu_check --pack DIR --out FILE [--dry-run]``.

Reads what ``make gpu-pack`` (scripts/make_gpu_pack.py) prepared, so that the
GPU machine needs no network, no nltk, spaCy, gensim or fastText:

- ``imdb.npz``: each review of train and test as WordPiece ids of the pack's
  MiniLM tokenizer (uint16; head+tail truncation to ``max_len - 2`` ids, Sun et
  al. 2019), with its label;
- ``minilm/``: all-MiniLM-L6-v2 with its weights in bf16 safetensors (loaded
  back to fp32 master weights; training runs under bf16 autocast).

It runs the CUDA checks, then BERT fine-tuned on all 25,000 training reviews
(max_len 256, 2 epochs, bf16 autocast) tested on all 25,000, then the BiLSTM
on the GPU over the same WordPiece tokens (the pack carries no word text: it
would not fit in 64 MiB beside the model), and writes one results JSON:
accuracy, steps/s, peak GPU memory and time per part. ``--dry-run`` runs the
same code on the CPU over a tiny subset (for the test that keeps it working).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

from nlpkit.models.bert import BertClassifier


class PretokenizedBert(BertClassifier):
    """The bert kind over ids already tokenized by the pack (records ``{"ids": [...]}``): same model, same loop."""

    def _encode(self, records):
        from nlpkit.models.vocab import truncate  # the kind's own truncation (ids are pre-cut by the pack)

        before, after = self._special_ids()
        budget = self.max_len - len(before) - len(after)
        return [before + truncate(list(r["ids"]), budget, self.truncate) + after for r in records]


def load_pack(pack: Path) -> dict:
    with np.load(pack / "imdb.npz", allow_pickle=False) as arrays:
        data = {name: arrays[name] for name in arrays.files}
    splits = {}
    for split in ("train", "test"):
        ids, offsets, labels = data[f"{split}_ids"], data[f"{split}_offsets"], data[f"{split}_labels"]
        splits[split] = ([ids[offsets[i]:offsets[i + 1]].astype(np.int64).tolist() for i in range(len(labels))],
                         [str(data["label_names"][j]) for j in labels])
    return {"splits": splits, "max_len": int(data["max_len"]), "truncate": str(data["truncate"])}


def subset(ids: list, labels: list, n: int | None, seed: int = 0) -> tuple[list, list]:
    if n is None or n >= len(labels):
        return ids, labels
    from nlpkit.bench.data import balanced_subset

    rows = balanced_subset([{"i": i, "label": label} for i, label in enumerate(labels)], n, seed)
    return [ids[r["i"]] for r in rows], [r["label"] for r in rows]


# --------------------------------------------------------------------------- CUDA checks


def cuda_checks(device) -> list[dict]:
    """What must hold on the GPU before its figures mean anything; each check {name, ok, detail}."""
    import torch

    from nlpkit.device import amp_dtype, resolve_device

    checks = []

    def check(name, ok, detail=""):
        checks.append({"name": name, "ok": None if ok is None else bool(ok), "detail": str(detail)})

    if device.type == "cuda":
        check("cuda available", torch.cuda.is_available(), torch.cuda.get_device_name(device))
        check("auto resolves to cuda", resolve_device("auto").type == "cuda", resolve_device("auto"))
        check("bf16 autocast", amp_dtype(device) == torch.bfloat16, amp_dtype(device))
    else:
        for name in ("cuda available", "auto resolves to cuda", "bf16 autocast"):
            check(name, None, "skipped: --dry-run on the CPU")
    # the same small BiLSTM gives the same predictions after a save and a load on the device
    import tempfile

    from nlpkit.models import load_model, save_model
    from nlpkit.models.rnn import BiLSTMClassifier

    texts = [{"tokens": ["good", "fine", "great"]}, {"tokens": ["bad", "awful", "poor"]}] * 16
    labels = ["pos", "neg"] * 16
    model = BiLSTMClassifier(min_count=1, dim=16, hidden=8, epochs=2, batch_size=8, device=str(device), seed=0)
    model.fit(texts, labels)
    before = np.asarray(model.predict_proba(texts))
    with tempfile.TemporaryDirectory() as directory:
        save_model(model, directory)
        after = np.asarray(load_model(directory).predict_proba(texts))
    check(f"save/load on {device.type} keeps predictions", np.allclose(before, after, atol=1e-5),
          f"max difference {np.abs(before - after).max():.2e}")
    return checks


# --------------------------------------------------------------------------- one model


def run_model(name: str, model, train: tuple[list, list], test: tuple[list, list], device, records_of) -> dict:
    import torch

    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    model.fit(records_of(train[0]), train[1])
    if cuda:
        torch.cuda.synchronize(device)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    probs = np.asarray(model.predict_proba(records_of(test[0])))
    predict_seconds = time.perf_counter() - started
    predictions = [model.labels_[i] for i in probs.argmax(axis=1)]
    steps = math.ceil(len(train[1]) / (model.batch_size * getattr(model, "grad_accum", 1))) * model.epochs
    return {
        "model": name,
        "params": {k: v for k, v in model.get_params().items() if k not in ("checkpoint", "run_dir")},
        "n_train": len(train[1]),
        "n_test": len(test[1]),
        "accuracy": float(np.mean([p == t for p, t in zip(predictions, test[1])])),
        "train_seconds": round(train_seconds, 3),
        "optimizer_steps": steps,
        "steps_per_second": round(steps / train_seconds, 2),
        "predict_seconds": round(predict_seconds, 3),
        "test_docs_per_second": round(len(test[1]) / predict_seconds, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if cuda else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, default=Path("gpu-pack"))
    parser.add_argument("--out", type=Path, default=Path("gpu-check.json"))
    parser.add_argument("--dry-run", action="store_true", help="on the CPU, over a tiny subset")
    args = parser.parse_args(argv)

    import torch

    from nlpkit.device import resolve_device
    from nlpkit.files import library_versions, write_json

    started = time.perf_counter()
    device = resolve_device("cpu" if args.dry_run else "cuda")
    pack = load_pack(args.pack)
    limit = 64 if args.dry_run else None
    train = subset(*pack["splits"]["train"], limit)
    test = subset(*pack["splits"]["test"], limit)
    say = (lambda message: print(f"gpu_check: {message}", file=sys.stderr, flush=True))
    say(f"device {device}; {len(train[1]):,} train, {len(test[1]):,} test reviews")

    results = {"dry_run": args.dry_run, "device": str(device), "python": platform.python_version(),
               "versions": library_versions("torch", "transformers", "nlpkit"),
               "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
               "pack": json.loads((args.pack / "manifest.json").read_text()) if (args.pack / "manifest.json").is_file()
               else None}
    results["cuda_checks"] = cuda_checks(device)
    say("cuda checks: " + ", ".join(f"{c['name']} {({True: 'ok', False: 'FAILED', None: 'skipped'})[c['ok']]}"
                                    for c in results["cuda_checks"]))

    max_len = 64 if args.dry_run else pack["max_len"]
    bert = PretokenizedBert(checkpoint=str(args.pack / "minilm"), max_len=max_len, truncate=pack["truncate"],
                            epochs=1 if args.dry_run else 2, batch_size=16 if args.dry_run else 32, lr=5e-5,
                            device=str(device), seed=0)
    results["bert"] = run_model("bert", bert, train, test, device, lambda ids: [{"ids": x} for x in ids])
    say(f"bert: accuracy {results['bert']['accuracy']:.4f} in {results['bert']['train_seconds']} s")

    from nlpkit.models.rnn import BiLSTMClassifier

    vocab = (args.pack / "minilm" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    bilstm = BiLSTMClassifier(hidden=128, dim=100, min_count=2, truncate="head+tail", pooling="max",
                              padding="packed", max_len=max_len, epochs=1 if args.dry_run else 4,
                              batch_size=16 if args.dry_run else 128, device=str(device), seed=0)
    results["bilstm"] = run_model("bilstm", bilstm, train, test, device,
                                  lambda ids: [{"tokens": [vocab[i] for i in x]} for x in ids])
    say(f"bilstm: accuracy {results['bilstm']['accuracy']:.4f} in {results['bilstm']['train_seconds']} s")

    results["seconds"] = round(time.perf_counter() - started, 1)
    # what the GPU machine lacks must not be needed
    results["absent_libraries_imported"] = sorted(m for m in ("nltk", "spacy", "gensim", "fasttext") if m in sys.modules)
    write_json(args.out, results)
    say(f"results: {args.out} ({results['seconds']} s)")
    return 1 if any(c["ok"] is False for c in results["cuda_checks"]) else 0


if __name__ == "__main__":
    sys.exit(main())

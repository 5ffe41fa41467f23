"""What the prepared GPU checks share (``gpu_check`` and ``gpu_lm_check``): the pack, the CUDA checks, one run.

- :func:`load_pack` / :func:`load_unlabelled_ids`: what ``make gpu-pack`` wrote
  (scripts/make_gpu_pack.py): ``imdb.npz`` (train and test as WordPiece ids, head+tail
  truncated, with labels) and ``unsup.npz`` (unlabelled reviews, whole, ids only);
- :func:`subset`: a balanced seeded subset (the dry runs');
- :class:`Check`: one check's command line, device, log lines on stderr, the CUDA
  checks, and its results JSON (the header every check writes, the whole time, and
  which of the libraries the GPU machine lacks got imported);
- :func:`run_model`: one classifier trained and tested, with accuracy, steps/s, test
  docs/s and peak GPU memory.
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

ABSENT_THERE = ("nltk", "spacy", "gensim", "fasttext")  # not on the GPU machine: a check must not need them


def _reviews(ids: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    return [ids[offsets[i]:offsets[i + 1]].astype(np.int64).tolist() for i in range(len(offsets) - 1)]


def load_pack(pack: Path) -> dict:
    with np.load(pack / "imdb.npz", allow_pickle=False) as arrays:
        data = {name: arrays[name] for name in arrays.files}
    splits = {}
    for split in ("train", "test"):
        splits[split] = (_reviews(data[f"{split}_ids"], data[f"{split}_offsets"]),
                         [str(data["label_names"][j]) for j in data[f"{split}_labels"]])
    return {"splits": splits, "max_len": int(data["max_len"]), "truncate": str(data["truncate"])}


def load_unlabelled_ids(pack: Path) -> list[list[int]]:
    """The pack's unlabelled reviews as WordPiece ids (none when the pack has no unsup.npz)."""
    if not (pack / "unsup.npz").is_file():
        return []
    with np.load(pack / "unsup.npz", allow_pickle=False) as arrays:
        return _reviews(arrays["unsup_ids"], arrays["unsup_offsets"])


def subset(ids: list, labels: list, n: int | None, seed: int = 0) -> tuple[list, list]:
    if n is None or n >= len(labels):
        return ids, labels
    from nlpkit.bench.data import balanced_subset

    rows = balanced_subset([{"i": i, "label": label} for i, label in enumerate(labels)], n, seed)
    return [ids[r["i"]] for r in rows], [r["label"] for r in rows]


def peak_gpu_mb(device) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None


def reset_gpu(device) -> None:
    """Before a timed part: its own peak memory, and no GPU work of the part before still running."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Check:
    """One prepared check: ``--pack DIR --out FILE [--dry-run]``, its device, its log and its results JSON."""

    def __init__(self, name: str, description: str, argv: list[str] | None):
        parser = argparse.ArgumentParser(prog=f"python -m nlpkit.bench.{name}", description=description)
        parser.add_argument("--pack", type=Path, default=Path("gpu-pack"))
        parser.add_argument("--out", type=Path, default=Path(f"{name.replace('_', '-')}.json"))
        parser.add_argument("--dry-run", action="store_true", help="on the CPU, over a tiny subset")
        self.args = parser.parse_args(argv)
        self.name, self.dry_run, self.pack = name, self.args.dry_run, self.args.pack

        import torch

        from nlpkit.device import resolve_device
        from nlpkit.files import library_versions

        self.started = time.perf_counter()
        self.device = resolve_device("cpu" if self.dry_run else "cuda")
        manifest = self.pack / "manifest.json"
        self.results: dict = {
            "dry_run": self.dry_run, "device": str(self.device), "python": platform.python_version(),
            "versions": library_versions("torch", "transformers", "nlpkit"),
            "gpu": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else None,
            "pack": json.loads(manifest.read_text()) if manifest.is_file() else None,
        }

    def say(self, message: str) -> None:
        print(f"{self.name}: {message}", file=sys.stderr, flush=True)

    def cuda_checks(self) -> None:
        self.results["cuda_checks"] = cuda_checks(self.device)
        self.say("cuda checks: " + ", ".join(f"{c['name']} {({True: 'ok', False: 'FAILED', None: 'skipped'})[c['ok']]}"
                                             for c in self.results["cuda_checks"]))

    def finish(self) -> int:
        """Write the results JSON; exit status 1 when a CUDA check failed."""
        from nlpkit.files import write_json

        self.results["seconds"] = round(time.perf_counter() - self.started, 1)
        self.results["absent_libraries_imported"] = sorted(m for m in ABSENT_THERE if m in sys.modules)
        write_json(self.args.out, self.results)
        self.say(f"results: {self.args.out} ({self.results['seconds']} s)")
        return 1 if any(c["ok"] is False for c in self.results.get("cuda_checks", [])) else 0


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
    """Fit on `train`, predict `test` (ids and labels; `records_of` makes the model's records of the ids)."""
    reset_gpu(device)
    started = time.perf_counter()
    model.fit(records_of(train[0]), train[1])
    sync(device)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    probs = np.asarray(model.predict_proba(records_of(test[0])))
    predict_seconds = time.perf_counter() - started
    predictions = [model.labels_[i] for i in probs.argmax(axis=1)]
    history = getattr(model, "history_", None)
    steps = history[-1]["step"] if history else \
        math.ceil(len(train[1]) / (model.batch_size * getattr(model, "grad_accum", 1))) * model.epochs
    return {
        "model": name,
        "params": {k: v for k, v in model.get_params().items() if k not in ("checkpoint", "run_dir", "lm")},
        "n_train": len(train[1]),
        "n_test": len(test[1]),
        "accuracy": float(np.mean([p == t for p, t in zip(predictions, test[1])])),
        "train_seconds": round(train_seconds, 3),
        "optimizer_steps": steps,
        "steps_per_second": round(steps / train_seconds, 2),
        "predict_seconds": round(predict_seconds, 3),
        "test_docs_per_second": round(len(test[1]) / predict_seconds, 1),
        "peak_gpu_mb": peak_gpu_mb(device),
    }

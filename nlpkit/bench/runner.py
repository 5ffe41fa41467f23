"""`nlpkit bench imdb`: prepare the data once, run each method in its own process, keep what finished.

Layout of ``--out``::

    data/               the prepared splits (train, valid, test) and data.json
    methods/NAME.json   one finished method's figures (kept between runs)
    models/NAME/        its saved model directory (usable with `nlpkit predict`)
    logs/NAME.log       what its process printed
    results.json, report.md, report.html

A finished method is skipped on the next run when its settings (data, seed,
parameters, device, subset sizes) are the same, unless ``force``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from nlpkit.bench import data as bench_data
from nlpkit.bench.methods import CEILING, REFERENCES, Method, registered, select
from nlpkit.errors import NlpkitError
from nlpkit.files import read_cached_json


@dataclass
class BenchOptions:
    out: Path
    data: str | None = None
    methods: str | None = None
    limit: int | None = None
    device: str = "auto"
    seed: int = 0
    force: bool = False


class Listener:
    """What the runner tells its user interface; the default says nothing."""

    def notice(self, message: str) -> None: ...
    def start(self, methods: list[Method]) -> None: ...
    def method_phase(self, name: str, phase: str) -> None: ...
    def method_done(self, name: str, result: dict) -> None: ...


FULL_SIZES = {"train": 25_000, "test": 25_000}


def run_imdb(options: BenchOptions, listener: Listener | None = None) -> dict:
    from nlpkit.corpora import resolve
    from nlpkit.files import write_json

    listener = listener or Listener()
    started = time.perf_counter()
    try:
        methods = select(options.methods)
    except ValueError as e:
        raise NlpkitError(str(e)) from None
    out = Path(options.out)
    for sub in ("data", "methods", "models", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    source = resolve("imdb", options.data)
    if source.notice:
        listener.notice(source.notice)
    device = resolve_device(options.device)
    device_type = device.split(":")[0]
    data_info = prepare_data(source, options, listener)

    listener.start(methods)
    rows = []
    for method in methods:
        rows.append(run_method(method, options, data_info, device, device_type, out, listener))
        listener.method_done(method.name, rows[-1])

    results = {
        "benchmark": "imdb",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["nlpkit", *sys.argv[1:]]) if sys.argv and "nlpkit" in sys.argv[0] else None,
        "seed": options.seed,
        "device": {"requested": options.device, "used": device},
        "data": data_info,
        "preprocessing": {"steps": bench_data.PREPROCESSING, "description": bench_data.describe_preprocessing()},
        "references": {key: ref.__dict__ for key, ref in REFERENCES.items()},
        "ceiling": CEILING,
        "hardware": hardware(device),
        "versions": versions(),
        "methods": rows,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "method_seconds": round(sum(r.get("wall_seconds") or 0 for r in rows if r.get("status") == "done"), 1),
    }
    write_json(out / "results.json", results)
    from nlpkit.bench.report import write_reports

    write_reports(results, out)
    return results


# --------------------------------------------------------------------------- data


def prepare_data(source, options: BenchOptions, listener: Listener) -> dict:
    """Load, subset, slice validation and preprocess once; reuse the prepared files when settings match."""
    from nlpkit.io import write_records
    from nlpkit.models.base import fingerprint
    from nlpkit.files import write_json

    out = Path(options.out) / "data"
    raw = {split: bench_data.load_split(source.path, split) for split in ("train", "test")}
    prints = {split: fingerprint(records, [r["label"] for r in records]) for split, records in raw.items()}
    key = bench_data.settings_key(prints, options.limit, options.seed, bench_data.VALID_FRACTION,
                                  bench_data.PREPROCESSING)
    info_path = out / "data.json"
    info = read_cached_json(info_path)  # a damaged data.json is prepared again
    if info is not None:
        if info.get("key") == key and all((out / f"{s}.jsonl.gz").is_file() for s in ("train", "valid", "test")):
            return info
    listener.notice(f"preparing data from {source.path} ({bench_data.describe_preprocessing()})")
    train = bench_data.balanced_subset(raw["train"], options.limit, options.seed)
    test = bench_data.balanced_subset(raw["test"], options.limit, options.seed)
    train, valid = bench_data.split_validation(train, bench_data.VALID_FRACTION, options.seed)
    counts = {}
    for split, records in (("train", train), ("valid", valid), ("test", test)):
        write_records(bench_data.preprocess(records), str(out / f"{split}.jsonl.gz"))
        counts[split] = len(records)
    comparable = (not source.is_sample and options.limit is None
                  and len(raw["train"]) == FULL_SIZES["train"] and len(raw["test"]) == FULL_SIZES["test"])
    info = {
        "key": key,
        "path": str(source.path),
        "origin": source.origin,
        "notice": source.notice,
        "comparable": comparable,
        "limit": options.limit,
        "valid_fraction": bench_data.VALID_FRACTION,
        "fingerprints": prints,
        "source_sizes": {split: len(records) for split, records in raw.items()},
        "counts": counts,
    }
    write_json(info_path, info)
    return info


# --------------------------------------------------------------------------- methods


def run_method(method: Method, options: BenchOptions, data_info: dict, device: str, device_type: str,
               out: Path, listener: Listener) -> dict:
    from nlpkit.files import write_json

    settings = method.settings(device_type)
    base = {"method": method.name, "kind": method.kind, "family": method.family,
            "description": method.description, "references": list(method.references)}
    if not registered(method):
        return {**base, "status": "unavailable", "error": f"model kind {method.kind!r} is not in this nlpkit yet"}
    run_key = bench_data.settings_key(data_info["key"], method.name, method.kind, settings.__dict__, method.word2vec,
                                      device if method.neural else "cpu", options.seed)
    result_path = out / "methods" / f"{method.name}.json"
    kept = read_cached_json(result_path) if not options.force else None
    if kept is not None:
        if kept.get("run_key") == run_key and kept.get("status") == "done":
            return {**kept, **base, "kept": True}
    spec_path = out / "logs" / f"{method.name}.spec.json"
    write_json(spec_path, {
        "method": method.name, "kind": method.kind, "params": settings.params, "word2vec": method.word2vec,
        "settings": {k: v for k, v in settings.__dict__.items() if k != "params"},
        "seed": options.seed, "device": device if method.neural else None,
        "data_dir": str(out / "data"), "model_dir": str(out / "models" / method.name),
        "result": str(result_path), "run_key": run_key,
    })
    result_path.unlink(missing_ok=True)
    log_path = out / "logs" / f"{method.name}.log"
    started = time.perf_counter()
    # PYTHONHASHSEED: gensim and fastText hash words; a fixed seed makes runs repeatable
    env = {**os.environ, "PYTHONHASHSEED": str(options.seed)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "nlpkit.bench.worker", str(spec_path)],
                                   stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                try:
                    listener.method_phase(method.name, json.loads(line)["phase"])
                except (ValueError, KeyError):
                    pass
            rc = process.wait()
        finally:  # interrupted (Ctrl-C, SIGTERM): the method's process goes too
            if process.poll() is None:
                process.terminate()
                process.wait()
    wall = round(time.perf_counter() - started, 1)
    if rc != 0 or not result_path.is_file():
        return {**base, "status": "failed", "wall_seconds": wall, "log": str(log_path),
                "error": _last_error(log_path) or f"worker exited with code {rc}"}
    result = {**json.loads(result_path.read_text()), **base, "wall_seconds": wall}
    write_json(result_path, result)
    return {**result, "kept": False}


def _last_error(log_path: Path) -> str | None:
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


# --------------------------------------------------------------------------- environment


def resolve_device(spec: str) -> str:
    from nlpkit.device import resolve_device as resolve

    return str(resolve(spec))


def hardware(device: str) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def versions() -> dict:
    from nlpkit.files import library_versions

    return library_versions("scikit-learn", "scipy", "torch", "transformers", "gensim", "fasttext-modern",
                            "nltk", "matplotlib")

"""Helpers the benchmark scripts share: where the data is, timing, writing results."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
IMDB = REPO.parent / "shared" / "corpora" / "imdb"
NLPKIT = [sys.executable, "-m", "nlpkit"]


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


@contextmanager
def timer(into: dict, key: str):
    started = time.perf_counter()
    yield
    into[key] = round(time.perf_counter() - started, 3)


def peak_rss_mb_children() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def sh(command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a shell pipeline (bash, pipefail) and fail loudly."""
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, cwd=REPO, **kwargs)


def accuracy(model, records, labels) -> float:
    """A fitted classifier's accuracy: its most probable label against the gold ones."""
    import numpy as np

    predicted = np.asarray(model.predict_proba(records)).argmax(axis=1)
    return float(np.mean([model.labels_[i] == y for i, y in zip(predicted, labels)]))


def write_results(name: str, results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    results = {"benchmark": name, "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), **results}
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return path

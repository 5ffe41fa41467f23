"""One benchmark step in a fresh Python process: its progress lines read as they come, its output in a log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_module(module: str, spec_path: Path, log_path: Path, env: dict[str, str],
               on_phase: Callable[[str], None]) -> int:
    """``python -m MODULE SPEC`` with stderr in `log_path`; each ``{"phase": ...}`` line it prints goes to
    `on_phase`. Returns its exit code; if this process is interrupted (Ctrl-C, SIGTERM), the child goes too."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", module, str(spec_path)],
                                   stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                try:
                    on_phase(json.loads(line)["phase"])
                except (ValueError, KeyError, TypeError):
                    pass
            return process.wait()
        finally:
            if process.poll() is None:
                process.terminate()  # the child unwinds (bench.worker removes its temporary files) ...
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:  # ... unless a library holds it in C code
                    process.kill()
                    process.wait()


def run_worker(name: str, spec_path: Path, out: Path, seed: int, listener: Any) -> tuple[int, float, Path]:
    """``python -m nlpkit.bench.worker SPEC`` with its stderr in logs/NAME.log, its phases told to
    ``listener.method_phase``; (exit code, seconds, log)."""
    log_path = out / "logs" / f"{name}.log"
    started = time.perf_counter()
    # PYTHONHASHSEED: gensim and fastText hash words; a fixed seed makes runs repeatable
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    rc = run_module("nlpkit.bench.worker", spec_path, log_path, env, lambda phase: listener.method_phase(name, phase))
    return rc, round(time.perf_counter() - started, 1), log_path


def last_error(log_path: Path) -> str | None:
    """The last non-empty line of a step's log: what a failed step said last."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def step_row(base: dict, rc: int, wall: float, log_path: Path, result_path: Path) -> dict:
    """A finished step's row for results.json: its result file with `base` and the wall time added
    (and written back), or a failed row naming the log's last line."""
    from nlpkit.files import write_json

    if rc != 0 or not result_path.is_file():
        return {**base, "status": "failed", "wall_seconds": wall, "log": str(log_path),
                "error": last_error(log_path) or f"worker exited with code {rc}"}
    result = {**json.loads(result_path.read_text()), **base, "wall_seconds": wall}
    write_json(result_path, result)
    return {**result, "kept": False}

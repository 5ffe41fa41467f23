"""`nlpkit run --pipeline "clean | tokenize | lemmatize" --engine ray` versus the same shell pipeline.

    python benchmarks/bench_ray.py [--records N] [--files K]

Input: IMDb train + unsup reviews (the first N of those 75,000; `make perf` uses 2,000, the
closing-note figures use all 75,000 in 75 files: WordNet lemmatization with NLTK's tagger runs
at about 70 reviews per second per core, so each full pass costs about 18 CPU-minutes), split
into K JSONL files. Measured in one run:

* the local shell pipeline (three processes joined by pipes),
* the fused pipeline locally (`nlpkit run --jobs 2`),
* the fused pipeline on a local 2-CPU Ray (`--executor ray`, started by the command),
* Ray's start-up overhead: the Ray command on 10 records, minus the local one,

and from these a model of throughput versus workers (see docs/scale.md).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from _common import IMDB, NLPKIT, sh, write_results

PIPELINE = "clean | tokenize | lemmatize"


def split_corpus(records: int, files: int, root: Path) -> Path:
    """The first `records` reviews of train then unsup, in `files` JSONL files."""
    from nlpkit.io import dumps, read_records

    out = root / "imdb"
    out.mkdir(parents=True)
    source = itertools.chain(read_records(str(IMDB / "train.jsonl.gz")), read_records(str(IMDB / "unsup.jsonl.gz")))
    taken = list(itertools.islice(source, records))
    per_file = -(-len(taken) // files)
    for i in range(files):
        part = taken[i * per_file:(i + 1) * per_file]
        if part:
            (out / f"part-{i:04d}.jsonl").write_bytes(b"".join(dumps(r) + b"\n" for r in part))
    return out


def timed(command: str, **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    result = sh(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, result.stderr


def _rate(records: int, seconds: float) -> float | None:
    return round(records / seconds, 1) if seconds > 1 else None


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=int(os.environ.get("NLPKIT_BENCH_RAY_RECORDS", 2000)))
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="skip the local fused --jobs 2 run")
    args = parser.parse_args()
    nlpkit = " ".join(NLPKIT)
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
    stages = [s.strip() for s in PIPELINE.split("|")]
    results: dict = {"pipeline": PIPELINE, "records": args.records, "files": args.files,
                     "subset_note": "first N of IMDb train+unsup (75,000); see the module docstring"}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        root = Path(tmp)
        corpus = split_corpus(args.records, args.files, root)
        tiny = root / "tiny.jsonl"
        shutil.copyfile(sorted(corpus.iterdir())[0], tiny)
        sh(f"head -n 10 {tiny} > {root / 'tiny10.jsonl'}")
        tiny = root / "tiny10.jsonl"

        shell = f"{nlpkit} {stages[0]} {corpus} | " + " | ".join(f"{nlpkit} {s}" for s in stages[1:]) + f" > {root / 'shell.jsonl'}"
        shell_s, _ = timed(shell, env=env)
        assert count_lines(root / "shell.jsonl") == args.records

        fused_s = None
        if not args.quick:
            fused_s, _ = timed(f"{nlpkit} run --pipeline '{PIPELINE}' --jobs 2 {corpus} > {root / 'fused.jsonl'}", env=env)

        ray_s, ray_err = timed(f"{nlpkit} -v run --pipeline '{PIPELINE}' --engine ray {corpus} -o {root / 'ray'}", env=env)
        written = sum(count_lines(p) for p in (root / "ray").glob("part-*"))
        assert written == args.records, written
        # same records as the shell pipeline, whatever the order of the shards
        shell_lines = sorted((root / "shell.jsonl").read_bytes().splitlines())
        ray_lines = sorted(line for p in (root / "ray").glob("part-*") for line in p.read_bytes().splitlines())
        same = shell_lines == ray_lines

        tiny_local_s, _ = timed(f"{nlpkit} run --pipeline '{PIPELINE}' {tiny} > /dev/null", env=env)
        tiny_shell = f"{nlpkit} {stages[0]} {tiny} | " + " | ".join(f"{nlpkit} {s}" for s in stages[1:]) + " > /dev/null"
        tiny_shell_s, _ = timed(tiny_shell, env=env)
        tiny_ray_s, tiny_err = timed(f"{nlpkit} -v run --pipeline '{PIPELINE}' --engine ray {tiny} -o {root / 'tiny-ray'}", env=env)

    startup = float(re.search(r"Ray start-up ([\d.]+) s", ray_err).group(1))
    per_stage = {name: float(s) for name, s in re.findall(r"(\w+) ([\d.]+) s", ray_err.split("time per stage:")[1].splitlines()[0])}
    cpu_per_record = sum(per_stage.values()) / args.records
    fixed = tiny_ray_s  # start-up, worker start and model loading, paid once per run
    results.update(
        {
            "shell_pipeline": {"seconds": round(shell_s, 2), "records_per_s": round(args.records / shell_s, 1)},
            "fused_local_jobs2": None if fused_s is None else {"seconds": round(fused_s, 2), "records_per_s": round(args.records / fused_s, 1)},
            "ray_2cpu": {
                "seconds": round(ray_s, 2),
                "records_per_s": round(args.records / ray_s, 1),
                "ray_init_s": startup,
                "stage_cpu_seconds": per_stage,
                "output_equals_shell_pipeline": same,
            },
            "ray_vs_shell_speedup": round(shell_s / ray_s, 2),
            "steady_state_records_per_s": {
                # each run minus what it costs on 10 records (start-up, model loading); None when
                # the input is too small for the difference to rise above the noise
                "shell_pipeline": _rate(args.records, shell_s - tiny_shell_s),
                "ray_2cpu": _rate(args.records, ray_s - tiny_ray_s),
            },
            "startup_overhead": {
                "ray_10_records_s": round(tiny_ray_s, 2),
                "local_10_records_s": round(tiny_local_s, 2),
                "overhead_s": round(tiny_ray_s - tiny_local_s, 2),
            },
            "model": {
                "cpu_seconds_per_record": round(cpu_per_record, 5),
                "records_per_s_per_worker": round(1 / cpu_per_record, 1),
                "fixed_seconds_per_run": round(fixed, 2),
                "formula": "T(W) = fixed + records * cpu_per_record / W  (W = worker CPUs; fixed: Ray start, workers' model loading, driver planning)",
                "predicted_seconds": {
                    str(w): round(fixed + args.records * cpu_per_record / w, 1) for w in (1, 2, 8, 32, 128)
                },
                "predicted_seconds_75k": {
                    str(w): round(fixed + 75000 * cpu_per_record / w, 1) for w in (2, 8, 32, 128)
                },
            },
        }
    )
    # a run on another size keeps its own file, so `make perf` (2,000) does not overwrite the 75,000 figures
    write_results("ray" if args.records == parser.get_default("records") else f"ray-{args.records}", results)


if __name__ == "__main__":
    main()

"""Candidate settings for the bench's rows, scored the bench's way: writes benchmarks/results/bench_imdb_candidates.json.

    python benchmarks/tune_bench_imdb.py '[["bow-nb", {"binary": true, "ngrams": [1, 3]}], ...]'

The splits of `nlpkit bench imdb` on full IMDb (the seeded 10% validation slice of train, the
bench's preprocessing), each candidate fitted on the other 90% and scored on validation, then
refitted on all 25,000 and tested: the figures behind the settings in nlpkit/bench/methods.py.
"""

from __future__ import annotations

import json
import sys
import time

from _common import IMDB, RESULTS, accuracy

from nlpkit.bench import data as bench_data
from nlpkit.models.training import build_model
from nlpkit.records import model_input


def main(grid: list) -> None:
    train, valid = bench_data.split_validation(bench_data.load_split(IMDB, "train"), bench_data.VALID_FRACTION, seed=0)
    splits = {}
    for name, records in (("train", train), ("valid", valid), ("test", bench_data.load_split(IMDB, "test"))):
        prepared = bench_data.preprocess(records)
        splits[name] = ([model_input(r) for r in prepared], [r["label"] for r in prepared])
    path = RESULTS / "bench_imdb_candidates.json"
    rows = json.loads(path.read_text())["candidates"] if path.is_file() else []
    for kind, params in grid:
        started = time.perf_counter()
        model = build_model(kind, params, 0).fit(*splits["train"])
        row = {"kind": kind, "params": params, "valid": accuracy(model, *splits["valid"]),
               "fit_seconds": round(time.perf_counter() - started, 1)}
        started = time.perf_counter()
        everything = (splits["train"][0] + splits["valid"][0], splits["train"][1] + splits["valid"][1])
        model = build_model(kind, params, 0).fit(*everything)
        row.update(refit_seconds=round(time.perf_counter() - started, 1), test=accuracy(model, *splits["test"]))
        rows.append(row)
        print(json.dumps(row), flush=True)
        path.write_text(json.dumps({"benchmark": "tune_bench_imdb", "data": "../shared/corpora/imdb",
                                    "candidates": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

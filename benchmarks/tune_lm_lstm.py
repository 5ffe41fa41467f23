"""Candidate settings for the recurrent rows on the embedded sample, scored on validation only.

    nlpkit -v bench imdb --data corpora/imdb-sample --limit 800 --methods bilstm,lm-lstm --out bench-out/lm-base
    python benchmarks/tune_lm_lstm.py bench-out/lm-base '[["lm-lstm", {"freeze_embeddings": true}], ["bilstm", {}]]'

A candidate is a bench method and overrides of its settings at this size (as `--set` gives
them; `"seed"` is the model's own seed, not a setting). It is fitted on the run's prepared training
split (720 reviews), with the run's own vectors and pretrained LM (the directories under
OUT/vectors and OUT/lm), and scored on labelled reviews the run never trains or tests on: its
80-review validation slice, the 200 sample training reviews that `--limit 800` leaves out, and
1,720 more of full IMDb's *training* reviews, outside the sample (../shared/corpora/imdb; never
test). 2,000 in all: a standard error of about 1 point at 75%, where the sample's own 280 give
2.7, too few to order rows a point or two apart. Each result is appended to
benchmarks/results/tune_lm_lstm.json: the figures behind the recurrent rows' small settings.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _common import IMDB, REPO, RESULTS, accuracy

from nlpkit.bench import data as bench_data
from nlpkit.bench import methods as bench_methods
from nlpkit.bench import pretrain
from nlpkit.io import read_records
from nlpkit.models.training import build_model
from nlpkit.records import model_input

SAMPLE = REPO / "corpora" / "imdb-sample"
N_VALID = 2_000


def held_out(n_valid_slice: int, limit: int, seed: int) -> list[dict]:
    """Labelled training reviews a --limit 800 run of the sample never sees, prepared the bench's way: the
    sample's 200 left out, then full IMDb's (outside the sample) up to N_VALID with the run's own slice."""
    sample = bench_data.load_split(SAMPLE, "train")
    kept = {r["id"] for r in bench_data.balanced_subset(sample, limit, seed)}
    left_out = [r for r in sample if r["id"] not in kept]
    in_sample = {r["id"] for r in sample}
    outside = [r for r in bench_data.load_split(IMDB, "train") if r["id"] not in in_sample]
    more = bench_data.balanced_subset(outside, N_VALID - n_valid_slice - len(left_out), 0)
    return bench_data.preprocess([*left_out, *more])


def only_directory(parent: Path) -> str:
    found = sorted(p for p in parent.iterdir() if p.is_dir())
    if len(found) != 1:
        raise SystemExit(f"{parent}: expected one directory, found {len(found)}")
    return str(found[0])


def main(out: Path, grid: list) -> None:
    def split(records):
        records = list(records)
        return [model_input(r) for r in records], [r["label"] for r in records]

    train = split(read_records(str(out / "data" / "train.jsonl.gz")))
    valid_slice = list(read_records(str(out / "data" / "valid.jsonl.gz")))
    run = json.loads((out / "results.json").read_text())  # the run's --limit and --seed chose its subset
    if run["data"]["origin"] != "sample":
        raise SystemExit(f"{out}: a run on {run['data']['path']}, not on the embedded sample")
    valid = split([*valid_slice, *held_out(len(valid_slice), run["data"]["limit"], run["seed"])])
    vectors, lm = only_directory(out / "vectors"), only_directory(out / "lm")
    path = RESULTS / "tune_lm_lstm.json"
    rows = json.loads(path.read_text())["candidates"] if path.is_file() else []
    for name, overrides in grid:
        seed = overrides.get("seed", run["seed"])  # the model's own seed (init, batches), to see how far it moves a score
        method = bench_methods.METHODS[name]
        settings = method.settings("cpu", len(train[0]), {k: v for k, v in overrides.items() if k != "seed"})
        if pretrain.wants_lm(settings):  # as the bench's runner does: the run's LM, no lm_* settings
            settings = pretrain.classifier_settings(settings, {"directory": lm})
        params = dict(settings.params)
        params.update({"vectors": vectors} if settings.uses_vectors else {})
        started = time.perf_counter()
        model = build_model(method.kind, params, seed).fit(*train)
        score = accuracy(model, *valid)
        row = {"method": name, "overrides": overrides, "valid": round(100 * score, 2), "n_valid": len(valid[0]),
               "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "tune_lm_lstm", "candidates": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), json.loads(sys.argv[2]))

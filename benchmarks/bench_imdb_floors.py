"""The accuracy floors on full IMDb (each rung at its published anchor), from one `nlpkit bench imdb` run: writes benchmarks/results/bench_imdb.json.

    python benchmarks/bench_imdb_floors.py [--out bench-out/imdb] [--methods LIST] [--no-run]

It runs `nlpkit -v bench imdb --data ../shared/corpora/imdb --out OUT [--methods LIST]` first
(rows finished in OUT are kept, so a second call costs little; --no-run only reads), then it
reads OUT/results.json and records, per row, the
validation and test accuracy, the floor and whether it is met, the published figure of the row's
family, times and sizes; and the rows of the floor table that the run did not have (to be measured).
Accuracy floors live here, never in the timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import IMDB, NLPKIT, REPO, write_results

# the accuracy floors each row must reach: test accuracy (%) after the settings chosen on validation are refit on all 25,000
FLOORS = {"bow-nb": 86.6, "tfidf-lr": 90.5, "tfidf-svm": 90.5, "nbsvm": 91.6, "fasttext": 90.0, "w2v-lr": 86.5,
          "bilstm": 89.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench-out" / "imdb"))
    parser.add_argument("--methods", default=None)
    parser.add_argument("--no-run", action="store_true", help="only read OUT/results.json")
    args = parser.parse_args()
    command = [*NLPKIT, "-v", "bench", "imdb", "--data", os.path.relpath(IMDB, REPO), "--out", args.out]
    if args.methods:
        command += ["--methods", args.methods]
    if not args.no_run:
        subprocess.run(command, check=True, cwd=REPO)
    results = json.loads((REPO / args.out / "results.json").read_text())
    rows = {}
    for m in results["methods"]:
        if m.get("status") != "done":
            rows[m["method"]] = {"status": m.get("status"), "error": m.get("error")}
            continue
        refs = [results["references"][k] for k in m["references"] if not results["references"][k].get("not_reproduced")]
        accuracy = round(100 * m["accuracy"], 2)
        floor = FLOORS.get(m["method"])
        rows[m["method"]] = {
            "valid_accuracy": round(100 * m["valid_accuracy"], 2) if m.get("valid_accuracy") is not None else None,
            "test_accuracy": accuracy, "macro_f1": round(100 * m["macro_f1"], 2), "floor": floor,
            "meets_floor": None if floor is None else accuracy >= floor,
            "published": {"label": refs[0]["label"], "accuracy": refs[0]["accuracy"]} if refs else "none published",
            "n_train": m["n_train"], "n_test": m["n_test"], "params": m["params"], "note": m["note"],
            "refit_seconds": m["train_seconds"], "process_seconds": m["wall_seconds"],
            "docs_per_second": m["docs_per_second"], "peak_rss_mb": m["peak_rss_mb"],
        }
    report = {
        "command": " ".join(["nlpkit", *command[len(NLPKIT):]]),
        "comparable": results["data"]["comparable"],
        "counts": results["data"]["counts"],
        "run_created": results["created"],
        "run_wall_seconds": results["wall_seconds"],
        "rows": rows,
        "not_measured": sorted(set(FLOORS) - {name for name, row in rows.items() if "test_accuracy" in row}),
    }
    write_results("bench_imdb", report)
    for name, row in rows.items():
        if "test_accuracy" in row:
            mark = "" if row["floor"] is None else (" meets" if row["meets_floor"] else " BELOW") + f" {row['floor']}"
            print(f"{name:10} {row['test_accuracy']:6.2f}{mark}", file=sys.stderr)
    print(f"not measured: {', '.join(report['not_measured']) or '-'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

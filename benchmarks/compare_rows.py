"""Two rows of one `nlpkit bench` run, paired on the same test reviews: McNemar's exact test.

    python benchmarks/compare_rows.py OUT ROW_A ROW_B

Loads the run's saved models OUT/models/ROW_A and OUT/models/ROW_B, predicts the run's
prepared test split OUT/data/test.jsonl.gz with each, and prints JSON: each row's accuracy
(checked against OUT/results.json), how many reviews only A and only B gets right, and the
two-sided exact McNemar p-value (a binomial test on those discordant reviews). Both rows
are scored on the same reviews, so a paired test sees a gap that two standard errors blur.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nlpkit  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads)


def correct_flags(model_dir: Path, records: list[dict], labels: list) -> list[bool]:
    import numpy as np

    from nlpkit.models import load_model

    model = load_model(model_dir)
    probs = np.asarray(model.predict_proba(records))
    return [model.labels_[i] == label for i, label in zip(probs.argmax(axis=1), labels)]


def main(out: Path, row_a: str, row_b: str) -> dict:
    from scipy.stats import binomtest

    from nlpkit.io import read_records
    from nlpkit.records import model_input

    test = list(read_records(str(out / "data" / "test.jsonl.gz")))
    records, labels = [model_input(r) for r in test], [r["label"] for r in test]
    published = {m["method"]: m for m in json.loads((out / "results.json").read_text())["methods"]}
    right = {}
    for row in (row_a, row_b):
        right[row] = correct_flags(out / "models" / row, records, labels)
        accuracy = sum(right[row]) / len(labels)
        if abs(accuracy - published[row]["accuracy"]) > 1e-9:
            raise SystemExit(f"{row}: {accuracy:.5f} here, {published[row]['accuracy']:.5f} in results.json")
    only_a = sum(a and not b for a, b in zip(right[row_a], right[row_b]))
    only_b = sum(b and not a for a, b in zip(right[row_a], right[row_b]))
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"test_reviews": len(labels), "accuracy": {row: sum(right[row]) / len(labels) for row in right},
            "right": {row: sum(right[row]) for row in right}, f"only_{row_a}": only_a, f"only_{row_b}": only_b,
            "mcnemar_exact_p": p}


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]), indent=2))

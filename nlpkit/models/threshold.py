"""Choosing the decision threshold of a two-label model on validation data (``nlpkit threshold``).

In the manner of spaCy's ``find-threshold``: sweep the threshold on the positive label's
probability over held-out records, print the metric at each, and keep the best. The metrics
(:data:`nlpkit.decisions.THRESHOLD_METRICS`):

- ``f1``: the F1 of the positive label;
- ``precision@recall=R``: the highest precision among thresholds whose recall is at least R
  (fastText's ``-autotune-metric precisionAtRecall``), i.e. the highest such threshold;
- ``recall@precision=P``: the highest recall among thresholds whose precision is at least P.

The chosen rule is ``{"label", "threshold", "metric", "valid": {precision, recall, f1, n}}``;
saved as threshold.json in the model directory (nlpkit.models.adjust), ``predict`` and
``serve`` predict the label when its probability is at least the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from nlpkit.models.calibration import CalibrationError

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # the thresholds the printed curve shows


def parse_metric(text: str) -> tuple[str, float | None]:
    """``f1`` -> ("f1", None); ``precision@recall=0.9`` -> ("precision@recall", 0.9); likewise recall@precision."""
    if text == "f1":
        return "f1", None
    match = re.fullmatch(r"(precision@recall|recall@precision)=([0-9.]+)", text)
    if match:
        target = float(match[2])
        if 0 < target <= 1:
            return match[1], target
    raise CalibrationError(f"--metric must be f1, precision@recall=R or recall@precision=P with R, P in (0, 1], not {text!r}")


def scores_at(p: np.ndarray, positive: np.ndarray, threshold: float) -> dict:
    """Precision, recall and F1 of predicting the positive label where ``p >= threshold``."""
    predicted = p >= threshold
    tp = int(np.sum(predicted & positive))
    precision = tp / int(predicted.sum()) if predicted.any() else 1.0
    recall = tp / int(positive.sum()) if positive.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"threshold": float(threshold), "precision": precision, "recall": recall, "f1": f1,
            "predicted": int(predicted.sum())}


def sweep(p: Sequence[float], positive: Sequence[bool]) -> list[dict]:
    """The scores at every distinct probability (each a threshold that changes a decision), highest first."""
    p = np.asarray(p, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    order = np.argsort(-p, kind="stable")
    ranked = p[order]
    tp = np.cumsum(positive[order])
    predicted = np.arange(1, len(p) + 1)
    ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])  # the last record of each distinct probability
    n_pos = int(positive.sum())
    out = []
    for i in ends:
        precision, recall = tp[i] / predicted[i], (tp[i] / n_pos if n_pos else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        out.append({"threshold": float(ranked[i]), "precision": float(precision), "recall": float(recall),
                    "f1": float(f1), "predicted": int(predicted[i])})
    return out


def choose(p: Sequence[float], positive: Sequence[bool], metric: str) -> dict:
    """The threshold that optimises `metric` on these held-out probabilities, with its scores there."""
    name, target = parse_metric(metric)
    points = sweep(p, positive)
    if name == "f1":
        best = max(points, key=lambda s: (s["f1"], s["threshold"]))
    elif name == "precision@recall":
        meeting = [s for s in points if s["recall"] >= target]  # never empty: the lowest threshold has recall 1
        best = max(meeting, key=lambda s: (s["precision"], s["threshold"]))
    else:
        meeting = [s for s in points if s["precision"] >= target]
        if not meeting:
            top = max(s["precision"] for s in points)
            raise CalibrationError(f"no threshold reaches precision {target:g} on the validation data (best: {top:.4f})")
        best = max(meeting, key=lambda s: (s["recall"], -s["threshold"]))
    return best


def find_threshold(model, records: Sequence[dict], labels: Sequence[str], metric: str, label: str | None = None,
                   source: str = "validation records") -> tuple[dict, list[dict]]:
    """The rule to save (see the module docstring) and the curve on :data:`GRID` plus the chosen point."""
    if len(model.labels_) != 2:
        raise CalibrationError(f"a threshold applies to a two-label model; this one has {len(model.labels_)} labels "
                               "(use predict --min-confidence to abstain instead)")
    label = label if label is not None else model.labels_[1]
    if label not in model.labels_:
        raise CalibrationError(f"--label {label!r} is not one of the model's labels ({', '.join(model.labels_)})")
    p = np.asarray(model.predict_proba(records))[:, list(model.labels_).index(label)]
    positive = np.array([y == label for y in labels])
    if not positive.any() or positive.all():
        raise CalibrationError(f"{source}: the threshold needs records of both labels")
    best = choose(p, positive, metric)
    curve = sorted([scores_at(p, positive, t) for t in GRID] + [{**best, "chosen": True}], key=lambda s: s["threshold"])
    rule = {"label": label, "threshold": round(best["threshold"], 6), "metric": metric,
            "valid": {"source": source, "n": len(labels), **{k: round(best[k], 6) for k in ("precision", "recall", "f1")}}}
    return rule, curve

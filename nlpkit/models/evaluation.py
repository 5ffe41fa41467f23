"""Classification metrics (scikit-learn's) in one JSON-ready shape, and evaluating a model on a file.

:func:`classification_metrics` is what ``train`` stores in the manifest,
``evaluate`` prints, and the IMDb benchmark reports:

    {"n": 4, "accuracy": 0.75, "macro_f1": 0.733,
     "per_class": {"neg": {"precision": .., "recall": .., "f1": .., "support": 2}, ...},
     "confusion": {"labels": ["neg", "pos"], "matrix": [[2, 0], [1, 1]]}}

(rows of the confusion matrix are the true labels, columns the predictions).

:func:`probability_metrics` scores the probabilities themselves: the expected calibration
error (ECE: the top-class probabilities in 15 equal-width bins, the gap between each bin's
mean confidence and its accuracy, weighted by its share of the records; Guo et al. 2017,
after Naeini et al. 2015), the Brier score (Brier 1950: the squared distance between the
probability vector and the one-hot truth, summed over labels, averaged over records; for
two labels twice scikit-learn's ``brier_score_loss``) and the log-loss (natural log).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from nlpkit.errors import InputError

ECE_BINS = 15


def reliability_bins(probs: np.ndarray, y: Sequence[int], bins: int = ECE_BINS) -> list[dict]:
    """The top-class probabilities in `bins` equal-width bins: each bin's range, count, mean confidence and
    accuracy (None for an empty bin): a reliability diagram's bars."""
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(y)
    # bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 (impossible for a top class) would go to bin 0
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    out = []
    for i in range(bins):
        mask = which == i
        n = int(mask.sum())
        out.append({"lo": i / bins, "hi": (i + 1) / bins, "n": n,
                    "confidence": float(confidence[mask].mean()) if n else None,
                    "accuracy": float(correct[mask].mean()) if n else None})
    return out


def probability_metrics(probs: np.ndarray, y: Sequence[int], bins: int = ECE_BINS) -> dict:
    """ECE, Brier score and log-loss of `probs` (rows over the labels) against true label indices `y`."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    ece = sum(b["n"] / n * abs(b["confidence"] - b["accuracy"]) for b in reliability_bins(probs, y, bins) if b["n"])
    onehot = np.zeros_like(probs)
    onehot[np.arange(n), y] = 1.0
    true = np.clip(probs[np.arange(n), y], 1e-15, 1.0)
    return {"ece": float(ece), "brier": float(np.mean(np.sum((probs - onehot) ** 2, axis=1))),
            "log_loss": float(-np.mean(np.log(true)))}


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(labels)
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate")
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def evaluate_model(model, examples: Iterable[tuple[str, dict, str]], batch_size: int = 1000,
                   source: str | None = None) -> dict:
    """Predict `examples` ((location, model input, true label) triples, streamed) and score them:
    the classification metrics, then ECE, Brier score and log-loss of the probabilities.

    A true label the model does not know is an :class:`InputError` at its location;
    no examples at all is one naming `source` (the test file).
    Adds ``seconds`` and ``docs_per_s`` (prediction throughput) to the metrics.
    """
    from nlpkit.io import batched
    from nlpkit.decisions import decide

    known = set(model.labels_)
    y_true: list[str] = []
    y_pred: list[str] = []
    rows: list[np.ndarray] = []
    started = time.perf_counter()
    for batch in batched(((loc, (record, label)) for loc, record, label in examples), batch_size):
        for location, (_, label) in batch:
            if label not in known:
                raise InputError(
                    location, f"label {label!r} is not one the model knows ({', '.join(map(str, model.labels_))})"
                )
        probs = np.asarray(model.predict_proba([record for _, (record, _) in batch]), dtype=np.float64)
        rows.append(probs)
        y_pred.extend(model.labels_[i] for i in decide(probs, model.labels_))
        y_true.extend(label for _, (_, label) in batch)
    seconds = time.perf_counter() - started
    if not y_true:
        raise InputError(source, "the test data holds no records")
    metrics = classification_metrics(y_true, y_pred, model.labels_)
    index = {label: i for i, label in enumerate(model.labels_)}
    metrics.update(probability_metrics(np.concatenate(rows), [index[label] for label in y_true]))
    metrics["seconds"] = round(seconds, 3)
    metrics["docs_per_s"] = round(len(y_true) / seconds, 1) if seconds > 0 else None
    return metrics


def metrics_table(metrics: dict, title: str = ""):
    """A rich renderable: per-class P/R/F1, totals and the confusion matrix."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    scores = Table()
    for column in ("label", "precision", "recall", "F1", "support"):
        scores.add_column(column, justify="left" if column == "label" else "right")
    for label, row in metrics["per_class"].items():
        scores.add_row(str(label), f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}", f"{row['support']:,}")
    scores.add_section()
    scores.add_row("accuracy", "", "", f"{metrics['accuracy']:.4f}", f"{metrics['n']:,}")
    scores.add_row("macro avg", "", "", f"{metrics['macro_f1']:.4f}", f"{metrics['n']:,}")
    if "ece" in metrics:
        scores.add_section()
        for name, key in (("ECE (15 bins)", "ece"), ("Brier score", "brier"), ("log-loss", "log_loss")):
            scores.add_row(name, "", "", f"{metrics[key]:.4f}", f"{metrics['n']:,}")

    labels = metrics["confusion"]["labels"]
    confusion = Table()
    confusion.add_column("")
    for label in labels:
        confusion.add_column(str(label), justify="right")
    for label, row in zip(labels, metrics["confusion"]["matrix"]):
        confusion.add_row(str(label), *(f"{n:,}" for n in row))
    # titles as plain lines: a table title would wrap at the table's width
    parts = [Text(title)] if title else []
    return Group(*parts, scores, Text("confusion matrix (rows: true label, columns: predicted)"), confusion)

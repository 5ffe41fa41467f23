"""Classification metrics (scikit-learn's) in one JSON-ready shape, and evaluating a model on a file.

:func:`classification_metrics` is what ``train`` stores in the manifest,
``evaluate`` prints, and the IMDb benchmark reports:

    {"n": 4, "accuracy": 0.75, "macro_f1": 0.733,
     "per_class": {"neg": {"precision": .., "recall": .., "f1": .., "support": 2}, ...},
     "confusion": {"labels": ["neg", "pos"], "matrix": [[2, 0], [1, 1]]}}

(rows of the confusion matrix are the true labels, columns the predictions).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from nlpkit.errors import InputError


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
    """Predict `examples` ((location, model input, true label) triples, streamed) and score them.

    A true label the model does not know is an :class:`InputError` at its location;
    no examples at all is one naming `source` (the test file).
    Adds ``seconds`` and ``docs_per_s`` (prediction throughput) to the metrics.
    """
    from nlpkit.io import batched

    known = set(model.labels_)
    y_true: list[str] = []
    y_pred: list[str] = []
    started = time.perf_counter()
    for batch in batched(((loc, (record, label)) for loc, record, label in examples), batch_size):
        for location, (_, label) in batch:
            if label not in known:
                raise InputError(
                    location, f"label {label!r} is not one the model knows ({', '.join(map(str, model.labels_))})"
                )
        y_pred.extend(model.predict([record for _, (record, _) in batch]))
        y_true.extend(label for _, (_, label) in batch)
    seconds = time.perf_counter() - started
    if not y_true:
        raise InputError(source, "the test data holds no records")
    metrics = classification_metrics(y_true, y_pred, model.labels_)
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

"""How a model's probabilities become decisions: the calibration methods and threshold metrics on offer,
the labels that carry a saved threshold, and the rule that turns a row of probabilities into a label.

A module that imports nothing at start-up, so that the command line can offer the choices
without importing numpy, and every reader of probabilities (base.Classifier.predict,
evaluation, the predict stage, serve) can decide the same way. The calibrators themselves
are in nlpkit.models.calibration.
"""

from __future__ import annotations

from collections.abc import Sequence

# how ``train --calibrate`` / ``nlpkit calibrate --method`` map raw probabilities to calibrated ones
METHODS = ("auto", "sigmoid", "isotonic", "temperature", "none")
DEFAULT_METHOD = "auto"

# what ``nlpkit threshold --metric`` optimises: F1 of the positive label, the best precision at a
# recall of at least R, the best recall at a precision of at least P
THRESHOLD_METRICS = ("f1", "precision@recall=R", "recall@precision=P")
DEFAULT_THRESHOLD_METRIC = "f1"


class Labels(list):
    """A model's labels, and the decision threshold its directory saved (None: the argmax)."""

    threshold: dict | None = None

    def __init__(self, labels, threshold: dict | None = None):
        super().__init__(labels)
        self.threshold = threshold if threshold is not None else getattr(labels, "threshold", None)


def decide(probs, labels: Sequence[str]):
    """Index of the predicted label per row: the argmax, or for a two-label model with a saved threshold,
    the threshold's label where its probability is at least the threshold, else the other one."""
    import numpy as np

    probs = np.asarray(probs)
    rule = getattr(labels, "threshold", None)
    if rule is None or len(probs) == 0:
        return probs.argmax(axis=1)
    positive = list(labels).index(rule["label"])
    return np.where(probs[:, positive] >= rule["threshold"], positive, 1 - positive)

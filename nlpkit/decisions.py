"""How a model's probabilities become decisions: the calibration methods and threshold metrics on offer
(declared with nlpkit.params for ``train --calibrate``, ``nlpkit calibrate`` and ``nlpkit threshold``),
the labels that carry a saved threshold, and the rule that turns a row of probabilities into a label.

A module that imports nothing heavy, so that the command line can offer the choices
without importing numpy, and every reader of probabilities (base.Classifier.predict,
evaluation, the predict stage, serve) can decide the same way. The calibrators themselves
are in nlpkit.models.calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlpkit.params import FLAG, param

# how ``train --calibrate`` / ``nlpkit calibrate --method`` map raw probabilities to calibrated ones
METHODS = ("auto", "sigmoid", "isotonic", "temperature", "none")
DEFAULT_METHOD = "auto"

# what ``nlpkit threshold --metric`` optimises: F1 of the positive label, the best precision at a
# recall of at least R, the best recall at a precision of at least P
THRESHOLD_METRICS = ("f1", "precision@recall=R", "recall@precision=P")
DEFAULT_THRESHOLD_METRIC = "f1"


def _model_param():
    return param(None, flag="--model", path="dir", required=True,
                 help="Model directory (from `nlpkit train`); rewritten in place, atomically.")


def _valid_param():
    return param(None, flag="--valid", path="file", exists=True, dash=True, required=True,
                 help="Labelled held-out records (JSONL): never the test set.")


def _field_params():
    return (param("text", show_default=True, help="Record field that holds the text."),
            param("label", show_default=True, help="Record field that holds the label."))


@dataclass
class TrainCalibration:
    """What ``nlpkit train`` adds to a fit: a calibrator of its probabilities, on its validation data."""

    calibrate: str = param(DEFAULT_METHOD, choices=METHODS, show_default=True,
                           help="Fit the probabilities on the validation data: temperature scaling, Platt's sigmoid or "
                                "isotonic; auto: temperature for the softmax-trained kinds (fasttext, neural), sigmoid "
                                "for the others.")


@dataclass
class CalibrateOptions:
    model_dir: str = _model_param()
    valid_file: str = _valid_param()
    method: str = param(DEFAULT_METHOD, choices=METHODS, show_default=True,
                        help="temperature, Platt's sigmoid or isotonic; auto: the kind's choice; none removes the "
                             "calibration.")
    field: str = _field_params()[0]
    label_field: str = _field_params()[1]


@dataclass
class ThresholdOptions:
    model_dir: str = _model_param()
    valid_file: str = _valid_param()
    metric: str = param(DEFAULT_THRESHOLD_METRIC, show_default=True, metavar="|".join(THRESHOLD_METRICS),
                        help="What the threshold optimises on --valid: the label's F1, the best precision at recall "
                             ">= R, or the best recall at precision >= P.")
    label: str | None = param(None, help="The label whose probability is thresholded (default: the model's second "
                                         "label).")
    save: bool = param(False, style=FLAG, help="Store the chosen threshold in the model directory: predict and serve "
                                               "apply it.")
    as_json: bool = param(False, style=FLAG, flag="--json",
                          help="Write the curve and the chosen threshold as JSON on stdout.")
    field: str = _field_params()[0]
    label_field: str = _field_params()[1]


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

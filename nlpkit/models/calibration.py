"""Calibrated probabilities and decision thresholds for every model kind.

A kind's ``predict_proba`` gives scores that sum to 1, but not probabilities that mean
what they say: a linear SVM's margin passed through a logistic is not fitted to anything,
and a network trained to zero loss is over-confident. A *calibrator* maps a model's raw
probabilities to ones fitted on held-out data (never the test set):

- ``temperature`` (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one
  scalar T, ``softmax(log p / T)``, T fitted by minimising the log-loss. ``log p`` is the
  logits less a constant per row, so this is temperature scaling of the logits; T > 0
  keeps every argmax.
- ``sigmoid`` (Platt 1999): a logistic ``sigmoid(a z + b)`` of the log-odds
  ``z = log(p / (1 - p))`` of each class (for a linear kind's binary model, z *is* the
  margin), with Platt's smoothed targets; one-vs-rest for several labels, then each row
  renormalised (as scikit-learn's CalibratedClassifierCV does).
- ``isotonic`` (Zadrozny & Elkan 2002): a non-decreasing step map of each class's
  probability, kept as its breakpoints and applied by linear interpolation; one-vs-rest
  and renormalised for several labels. It needs more held-out data than the other two.
- ``auto``: the kind's :attr:`~nlpkit.models.base.Classifier.auto_calibration`
  (temperature for the kinds trained on a softmax log-loss, sigmoid for the others).

A calibrator is a small JSON file, ``calibration.json``, in the model directory, sealed by
the manifest like every other file (see nlpkit.models.base). :func:`~nlpkit.models.base.load_model`
attaches it; the model's ``predict_proba`` then returns calibrated probabilities, which
is what ``predict``, ``serve``, ``evaluate`` and ``bench`` read.

A *threshold* (``threshold.json``) replaces the argmax of a two-label model: the positive
label is predicted when its probability is at least the threshold. :class:`Labels` carries
it beside the labels, so that every place that turns a row of probabilities into a
prediction (:func:`nlpkit.decisions.decide`) applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.decisions import DEFAULT_METHOD, METHODS, Labels
from nlpkit.errors import DamagedFile, NlpkitError

CALIBRATION_FILE = "calibration.json"
THRESHOLD_FILE = "threshold.json"
# probabilities are clipped to [EPS, 1 - EPS] before a log: a float32 softmax can round to exactly 0 or 1
EPS = 1e-12


class CalibrationError(NlpkitError):
    """A calibration or threshold request that does not apply (a usage error)."""

    exit_code = 2


# --------------------------------------------------------------------------- calibrators


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, EPS, 1.0))


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p) - np.log1p(-p)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _normalise(columns: np.ndarray) -> np.ndarray:
    total = columns.sum(axis=1, keepdims=True)
    uniform = np.full_like(columns, 1.0 / columns.shape[1])
    return np.where(total > 0, columns / np.where(total > 0, total, 1.0), uniform)


def _one_vs_rest(probs: np.ndarray, column_map) -> np.ndarray:
    """Map each class's probability with ``column_map(k, p_k)``; two labels map only the second (the first is 1 - it)."""
    if probs.shape[1] == 2:
        p1 = column_map(0, probs[:, 1])
        return np.column_stack([1.0 - p1, p1])
    return _normalise(np.column_stack([column_map(k, probs[:, k]) for k in range(probs.shape[1])]))


@dataclass
class Calibrator:
    """A fitted map from a model's raw probabilities to calibrated ones."""

    method: str
    params: dict[str, Any]
    info: dict[str, Any]  # where it was fitted and how much it helped there (for the manifest and inspect)

    def apply(self, probs: np.ndarray) -> np.ndarray:
        probs = np.asarray(probs, dtype=np.float64)
        if len(probs) == 0:
            return probs
        if self.method == "temperature":
            return _softmax(_log(probs) / self.params["temperature"])
        if self.method == "sigmoid":
            a, b = self.params["a"], self.params["b"]
            return _one_vs_rest(probs, lambda k, p: 1.0 / (1.0 + np.exp(-(a[k] * _log_odds(p) + b[k]))))
        if self.method == "isotonic":
            xs, ys = self.params["x"], self.params["y"]
            return _one_vs_rest(probs, lambda k, p: np.interp(p, xs[k], ys[k]))
        raise ValueError(f"unknown calibration method {self.method!r}")

    def to_json(self) -> dict:
        return {"method": self.method, "params": self.params, **self.info}

    @classmethod
    def from_json(cls, obj: Any, n_labels: int, path: Path) -> "Calibrator":
        """A calibrator read back from `path`, its shape checked against the model's labels."""

        def bad(problem: str) -> DamagedFile:
            return DamagedFile(path, f"damaged calibration ({problem})")

        if not isinstance(obj, dict) or not isinstance(obj.get("params"), dict):
            raise bad("not an object with method and params")
        method, params = obj.get("method"), obj["params"]
        columns = 1 if n_labels == 2 else n_labels
        try:
            if method == "temperature":
                t = float(params["temperature"])
                if not t > 0 or not np.isfinite(t):
                    raise bad(f"temperature {t!r} is not a positive number")
                params = {"temperature": t}
            elif method == "sigmoid":
                params = {k: [float(v) for v in params[k]] for k in ("a", "b")}
                if any(len(v) != columns for v in params.values()):
                    raise bad(f"sigmoid parameters for {len(params['a'])} classes, the model has {n_labels} labels")
            elif method == "isotonic":
                params = {k: [[float(v) for v in row] for row in params[k]] for k in ("x", "y")}
                if len(params["x"]) != columns or any(len(x) != len(y) or not x for x, y in zip(params["x"], params["y"])):
                    raise bad(f"isotonic breakpoints do not fit {n_labels} labels")
            else:
                raise bad(f"unknown method {method!r}")
        except (KeyError, TypeError, ValueError) as e:
            raise bad(f"{type(e).__name__}: {e}") from None
        info = {k: v for k, v in obj.items() if k not in ("method", "params")}
        return cls(method, params, info)


def fit_calibrator(method: str, probs: np.ndarray, y: Sequence[int]) -> Calibrator:
    """Fit `method` (temperature, sigmoid or isotonic) to raw `probs` and true label indices `y`."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if method == "temperature":
        return Calibrator(method, {"temperature": _fit_temperature(probs, y)}, {})
    columns = [1] if probs.shape[1] == 2 else list(range(probs.shape[1]))
    if method == "sigmoid":
        fitted = [_fit_platt(_log_odds(probs[:, k]), (y == k).astype(np.float64)) for k in columns]
        return Calibrator(method, {"a": [a for a, _ in fitted], "b": [b for _, b in fitted]}, {})
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        xs, ys = [], []
        for k in columns:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(probs[:, k], (y == k).astype(float))
            xs.append(iso.X_thresholds_.tolist())
            ys.append(iso.y_thresholds_.tolist())
        return Calibrator(method, {"x": xs, "y": ys}, {})
    raise CalibrationError(f"calibration method must be one of {', '.join(METHODS)}, not {method!r}")


def _fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 that minimises the log-loss of softmax(log p / T) (a bounded search on log T)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    logp = _log(probs)
    true = logp[np.arange(len(y)), y]

    def nll(log_t: float) -> float:
        t = np.exp(log_t)
        return float(np.mean(logsumexp(logp / t, axis=1) - true / t))

    result = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def _fit_platt(z: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Platt's (1999) sigmoid: a, b minimising the log-loss of sigmoid(a z + b) against his smoothed targets
    ((N+ + 1) / (N+ + 2) for a positive, 1 / (N- + 2) for a negative: no zero or one to chase)."""
    from scipy.optimize import minimize

    n_pos = float(target.sum())
    n_neg = float(len(target) - n_pos)
    t = np.where(target > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        s = ab[0] * z + ab[1]
        # log(1 + e^s) - t s, stably; its gradient (sigmoid(s) - t) times (z, 1)
        value = np.logaddexp(0.0, s) - t * s
        g = 1.0 / (1.0 + np.exp(-s)) - t
        return float(value.mean()), np.array([np.mean(g * z), np.mean(g)])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def resolve_method(method: str, model) -> str:
    """`method` with ``auto`` replaced by the kind's own choice."""
    if method not in METHODS:
        raise CalibrationError(f"calibration method must be one of {', '.join(METHODS)}, not {method!r}")
    return model.auto_calibration if method == "auto" else method


def calibrate(model, records: Sequence[dict], labels: Sequence[str], method: str = DEFAULT_METHOD,
              source: str = "held-out records") -> Calibrator | None:
    """Fit a calibrator of `model` on held-out `records` and attach it (``model.calibration_``).

    Returns it, or None for method ``none`` (which removes any calibration). Its ``info``
    holds the held-out set's size and source and the ECE and log-loss there before and after.
    """
    from nlpkit.models.evaluation import probability_metrics

    method = resolve_method(method, model)
    if method == "none":
        model.calibration_ = None
        return None
    if not records:
        raise CalibrationError("no held-out records to calibrate on")
    index = {label: i for i, label in enumerate(model.labels_)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise CalibrationError(f"{source}: label(s) {', '.join(map(repr, unknown))} are not the model's "
                               f"({', '.join(model.labels_)})")
    y = np.array([index[label] for label in labels])
    raw = np.asarray(model.predict_proba(records, calibrated=False), dtype=np.float64)
    calibrator = fit_calibrator(method, raw, y)
    before, after = probability_metrics(raw, y), probability_metrics(calibrator.apply(raw), y)
    calibrator.info = {"fitted_on": source, "n": len(y),
                       "before": {k: round(before[k], 6) for k in ("ece", "log_loss")},
                       "after": {k: round(after[k], 6) for k in ("ece", "log_loss")}}
    model.calibration_ = calibrator
    return calibrator


# --------------------------------------------------------------------------- thresholds and decisions


def read_threshold(directory: Path, labels: Sequence[str]) -> dict | None:
    path = Path(directory) / THRESHOLD_FILE
    if not path.is_file():
        return None
    from nlpkit.files import read_json

    obj = read_json(path)
    if (not isinstance(obj, dict) or obj.get("label") not in labels or len(labels) != 2
            or not isinstance(obj.get("threshold"), (int, float)) or not 0 <= obj["threshold"] <= 1):
        raise DamagedFile(path, "damaged threshold (a label of a two-label model and a threshold in [0, 1])")
    return obj


def read_calibration(directory: Path, n_labels: int) -> Calibrator | None:
    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None
    from nlpkit.files import read_json

    return Calibrator.from_json(read_json(path), n_labels, path)


def write_decision_files(model, directory: Path) -> dict:
    """Write calibration.json and threshold.json of `model` into `directory` (the ones it has);
    returns their summary for the manifest."""
    from nlpkit.files import write_json

    summary: dict = {}
    calibrator = getattr(model, "calibration_", None)
    if calibrator is not None:
        write_json(Path(directory) / CALIBRATION_FILE, calibrator.to_json())
        summary["calibration"] = {"method": calibrator.method, **calibrator.info}
    rule = getattr(model.labels_, "threshold", None)
    if rule is not None:
        write_json(Path(directory) / THRESHOLD_FILE, rule)
        summary["threshold"] = rule
    return summary


def attach_decision_files(model, directory: Path) -> None:
    """Give a loaded `model` the calibrator and threshold its directory holds (load_model calls this)."""
    model.calibration_ = read_calibration(directory, len(model.labels_))
    model.labels_ = Labels(model.labels_, read_threshold(directory, model.labels_))

"""What every classifier shares: the estimator protocol, the registry, the model directory.

A model kind is a class with scikit-learn's shape (parameters in ``__init__``,
``fit`` / ``predict_proba`` / ``predict``) plus ``save_weights`` / ``load_weights``
that write and read code-free files (``.npz``, JSON, safetensors, fastText
``.bin``) inside a directory. :func:`save_model` writes that directory
atomically with its ``nlpkit.json`` manifest; :func:`load_model` reads it back
and refuses damaged or newer-format directories with a clear message.

Records in, records out: ``fit`` and ``predict_proba`` take lists of records
(dicts with ``text`` and/or ``tokens``) so that each kind chooses what it reads.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import NlpkitError
from nlpkit.files import AtomicDirectory, library_versions, seal, write_json
# the model directory's manifest, re-exported: every kind's load_weights reads it through this module
from nlpkit.modeldir import FORMAT_VERSION, MANIFEST, ModelError, fingerprint, json_type, read_manifest  # noqa: F401


# kind -> "module:Class". Classes are imported only when a kind is used.
MODEL_KINDS: dict[str, str] = {}


def register(kind: str, target: str) -> None:
    MODEL_KINDS[kind] = target


class Classifier:
    """Base class for model kinds. Subclasses set ``kind`` and implement the four hooks."""

    kind: str = ""
    #: files every directory of this kind holds (relative paths): a missing one is an error, not a default
    required_files: tuple[str, ...] = ()

    labels_: list[str]

    def fit(self, records: Sequence[dict], labels: Sequence[str], valid: tuple[Sequence[dict], Sequence[str]] | None = None):
        raise NotImplementedError

    def predict_proba(self, records: Sequence[dict]) -> np.ndarray:
        """(n_records, n_labels) scores that sum to 1 per row, columns in ``labels_`` order."""
        raise NotImplementedError

    def predict(self, records: Sequence[dict]) -> list[str]:
        probs = self.predict_proba(records)
        return [self.labels_[i] for i in np.argmax(probs, axis=1)]

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters, JSON-serialisable (scikit-learn's convention)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names if hasattr(self, name)}

    def save_weights(self, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load_weights(cls, directory: Path, manifest: dict) -> "Classifier":
        raise NotImplementedError


def model_class(kind: str) -> type[Classifier]:
    _ensure_registry()
    from nlpkit.registry import resolve

    try:
        target = MODEL_KINDS[kind]
    except KeyError:
        raise ModelError(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODEL_KINDS))}") from None
    return resolve(target)


def _ensure_registry() -> None:
    # The registry is filled by nlpkit.models (a light module: names only, no imports of estimators).
    importlib.import_module("nlpkit.models")


# --------------------------------------------------------------------------- save / load


def save_model(model: Classifier, directory: str | os.PathLike, *, metrics: dict | None = None,
               data_fingerprint: str | None = None, extra: dict | None = None, libraries: Sequence[str] = ()) -> Path:
    """Write `model` and its manifest into `directory`, atomically."""
    directory = Path(directory)
    manifest = model_manifest(model, metrics=metrics, data_fingerprint=data_fingerprint, extra=extra, libraries=libraries)
    with AtomicDirectory(directory) as tmp:
        model.save_weights(tmp)
        write_json(tmp / MANIFEST, seal(tmp, manifest, MANIFEST))
    return directory


def model_manifest(model: Classifier, *, metrics: dict | None = None, data_fingerprint: str | None = None,
                   extra: dict | None = None, libraries: Sequence[str] = ()) -> dict:
    """The ``nlpkit.json`` of `model` (also written by the training loop's snapshots)."""
    return {
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "params": model.get_params(),
        "labels": list(model.labels_),
        "metrics": metrics or {},
        "versions": library_versions(*libraries),
        "data_fingerprint": data_fingerprint,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(extra or {}),
    }


def validate_classifier_manifest(directory: Path, manifest: dict, cls: type[Classifier]) -> None:
    """What every classifier's load_weights relies on: params, two or more string labels, its files."""
    path = directory / MANIFEST
    for key, expected in (("params", dict), ("labels", list)):
        if not isinstance(manifest.get(key), expected):
            raise ModelError(f"{path}: damaged manifest ({key} is {json_type(manifest.get(key))}, not {json_type(expected)})")
    labels = manifest["labels"]
    if len(labels) < 2 or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise ModelError(f"{path}: damaged manifest (labels must be two or more different strings, not {labels!r})")
    for name in cls.required_files:
        if not (directory / name).is_file():
            raise ModelError(f"{directory}: damaged model directory ({name} is missing)")


def load_model(directory: str | os.PathLike) -> Classifier:
    """Rebuild a model from its directory. Never unpickles.

    Every failure is one ModelError or DamagedFile naming the directory or file: the manifest's types,
    the checksums, the kind's required files, then whatever the weight format's reader raises
    (MemoryError included: fastText turns a length read from a cut .bin into std::bad_alloc).
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    cls = model_class(manifest["kind"])
    validate_classifier_manifest(directory, manifest, cls)
    try:
        return cls.load_weights(directory, manifest)
    except NlpkitError:
        raise
    except Exception as e:
        if not isinstance(e, LOAD_ERRORS) and type(e).__name__ != "SafetensorError":  # safetensors imported lazily
            raise
        raise ModelError(f"{directory}: damaged model directory ({type(e).__name__}: {e})") from None


# what a kind's reader raises on a damaged directory saved before checksums (the nlpkit readers name the file)
LOAD_ERRORS = (FileNotFoundError, KeyError, ValueError, OSError, MemoryError, TypeError, RuntimeError, AttributeError,
               IndexError)


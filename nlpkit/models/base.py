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

import hashlib
import importlib
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import DamagedFile, NlpkitError
from nlpkit.files import AtomicDirectory, library_versions, read_json, seal, verify_sealed, write_json

FORMAT_VERSION = 1
MANIFEST = "nlpkit.json"

# kind -> "module:Class". Classes are imported only when a kind is used.
MODEL_KINDS: dict[str, str] = {}


def register(kind: str, target: str) -> None:
    MODEL_KINDS[kind] = target


class ModelError(NlpkitError):
    """A model directory that cannot be used (missing, damaged, newer format, ...)."""


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


# --------------------------------------------------------------------------- fingerprints, versions


def fingerprint(records: Iterable[dict], labels: Iterable[str] | None = None) -> str:
    """sha256 over the texts (and labels) a model was trained on, to tell data sets apart."""
    h = hashlib.sha256()
    labels_iter = iter(labels) if labels is not None else None
    n = 0
    for record in records:
        text = record.get("text")
        if text is None:
            text = " ".join(record.get("tokens", []))
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
        if labels_iter is not None:
            h.update(str(next(labels_iter)).encode("utf-8"))
            h.update(b"\x01")
        n += 1
    return f"sha256:{h.hexdigest()[:32]}:{n}"


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


# manifest key -> the type it must have where present (issue 15: "1" or null crashed the loaders)
MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str, "params": dict, "labels": list, "metrics": dict, "versions": dict, "file": str, "format": str,
}


def read_manifest(directory: str | os.PathLike) -> dict:
    """The validated manifest of a model (or vectors) directory, its checksums checked (see nlpkit.files.seal)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"{directory}: not a model directory (no such directory)")
    if not path.exists():
        raise ModelError(f"{directory}: not a model directory ({MANIFEST} is missing)")
    try:
        manifest = read_json(path)
    except DamagedFile as e:
        raise ModelError(f"{path}: damaged manifest ({e.problem})") from None
    if not isinstance(manifest, dict) or "kind" not in manifest or "format_version" not in manifest:
        raise ModelError(f"{path}: damaged manifest (no kind or format_version)")
    version = manifest["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"{path}: damaged manifest (format_version is {version!r}, not a positive whole number)")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{directory}: model format version {version} is newer than this nlpkit reads "
            f"({FORMAT_VERSION}); upgrade nlpkit"
        )
    for key, expected in MANIFEST_TYPES.items():
        if key in manifest and not isinstance(manifest[key], expected):
            raise ModelError(f"{path}: damaged manifest ({key} is {_json_type(manifest[key])}, not {_json_type(expected)})")
    verify_sealed(directory, manifest, MANIFEST, what=f"{'vectors' if manifest['kind'] == 'vectors' else 'model'} directory")
    return manifest


def _json_type(value_or_type) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
             bool: "true/false", type(None): "null"}
    t = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    return names.get(t, t.__name__)


def validate_classifier_manifest(directory: Path, manifest: dict, cls: type[Classifier]) -> None:
    """What every classifier's load_weights relies on: params, two or more string labels, its files."""
    path = directory / MANIFEST
    for key, expected in (("params", dict), ("labels", list)):
        if not isinstance(manifest.get(key), expected):
            raise ModelError(f"{path}: damaged manifest ({key} is {_json_type(manifest.get(key))}, not {_json_type(expected)})")
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


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
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import NlpkitError

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
    try:
        module_name, attr = MODEL_KINDS[kind].split(":")
    except KeyError:
        raise ModelError(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODEL_KINDS))}") from None
    return getattr(importlib.import_module(module_name), attr)


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


def library_versions(*names: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import nlpkit

    out = {"nlpkit": nlpkit.__version__, "python": platform.python_version()}
    for name in ("numpy", *names):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# --------------------------------------------------------------------------- atomic directories


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file via a temporary name in the same directory, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a model is for others to read too
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Plain arrays as an .npz (readable with allow_pickle=False), written atomically."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz, refusing object arrays (which would need pickle)."""
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class AtomicDirectory:
    """``with AtomicDirectory(dest) as tmp:`` fill ``tmp``; on success it replaces ``dest``.

    A crash leaves ``dest`` as it was (or absent), never half-written.
    """

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)

    def __enter__(self) -> Path:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.tmp-", dir=self.dest.parent))
        self.tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if self.dest.exists():
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(self.dest, old)
        os.replace(self.tmp, self.dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return False


# --------------------------------------------------------------------------- save / load


def save_model(model: Classifier, directory: str | os.PathLike, *, metrics: dict | None = None,
               data_fingerprint: str | None = None, extra: dict | None = None, libraries: Sequence[str] = ()) -> Path:
    """Write `model` and its manifest into `directory`, atomically."""
    directory = Path(directory)
    manifest = {
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
    with AtomicDirectory(directory) as tmp:
        model.save_weights(tmp)
        write_json(tmp / MANIFEST, manifest)
    return directory


def read_manifest(directory: str | os.PathLike) -> dict:
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"{directory}: not a model directory (no such directory)")
    if not path.exists():
        raise ModelError(f"{directory}: not a model directory ({MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: damaged manifest ({e})") from None
    if not isinstance(manifest, dict) or "kind" not in manifest or "format_version" not in manifest:
        raise ModelError(f"{path}: damaged manifest (no kind or format_version)")
    if manifest["format_version"] > FORMAT_VERSION:
        raise ModelError(
            f"{directory}: model format version {manifest['format_version']} is newer than this nlpkit reads "
            f"({FORMAT_VERSION}); upgrade nlpkit"
        )
    return manifest


def load_model(directory: str | os.PathLike) -> Classifier:
    """Rebuild a model from its directory. Never unpickles."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    cls = model_class(manifest["kind"])
    try:
        return cls.load_weights(directory, manifest)
    except (FileNotFoundError, KeyError, ValueError, OSError) as e:
        raise ModelError(f"{directory}: damaged model directory ({type(e).__name__}: {e})") from None

"""Files that are whole or absent: atomic writes of bytes, JSON, npz and directories; manifests' helpers.

Every file nlpkit writes (a model, a vectorizer, a report, a corpus) goes to a
temporary name in the same directory and is renamed into place on success, so a
crash, a kill or a full disk leaves the old file (or none), never half of one.
Temporary files get the umask's mode, not mkstemp's 0600: models are for others
to read too.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


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

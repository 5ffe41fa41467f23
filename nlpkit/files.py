"""Files that are whole or absent: atomic writes of bytes, JSON, npz and directories; manifests' helpers.

Every file nlpkit writes (a model, a vectorizer, a report, a corpus) goes to a
temporary name in the same directory and is renamed into place on success, so a
crash, a kill or a full disk leaves the old file (or none), never half of one.
Temporary files get the umask's mode, not mkstemp's 0600: models are for others
to read too.

A directory with a manifest is *sealed* on save (:func:`seal`): the manifest holds
the sha256 of every file beside it and of its own content, and :func:`verify_sealed`
checks them on load, so a cut, flipped or swapped file is one clean error naming it
rather than a crash or silently wrong numbers. The readers here (:func:`read_npz`,
:func:`read_json`, :func:`read_safetensors`) turn each format's own errors into a
:class:`~nlpkit.errors.DamagedFile` that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import DamagedFile, OutputError


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
    remove_stale_temporaries(path.parent, f".{path.name}.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(f".{path.name}."), dir=path.parent)
    except OSError as e:
        raise cannot_create(path, e) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a model is for others to read too
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            e.filename = str(path)  # a full disk's write error names no file: name it
        raise


def cannot_create(dest: Path, e: OSError) -> OutputError:
    """A read-only (or missing) directory refused the temporary: name what was to be written, not the temporary."""
    return OutputError(f"{dest}: cannot create it in {dest.parent} ({e.strerror or e})")


def temporary_prefix(stem: str, what: str = "tmp") -> str:
    """`STEM` + ``tmp-PID-``: the process id in the name lets a later run remove what a killed one left."""
    return f"{stem}{what}-{os.getpid()}-"


def remove_stale_temporaries(directory: str | os.PathLike, stem: str) -> None:
    """Delete STEM{tmp,old}-PID-* entries in `directory` whose process is gone (a kill -9 leaves them)."""
    pattern = re.compile(rf"^{re.escape(stem)}(?:tmp|old)-(\d+)-")
    try:
        entries = list(os.scandir(os.fspath(directory)))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or _process_alive(int(match[1])):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive, and not ours to clean up
        return True
    return True


def _umask_modes(directory: Path) -> None:
    """Give every file and folder under `directory` the umask's mode: libraries such as safetensors write 0600."""
    mask = _umask()
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o666 & ~mask)


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
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz, refusing object arrays (which would need pickle); damage names the file."""
    _require_file(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            return {name: f[name] for name in f.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zipfile.LargeZipFile) as e:
        raise DamagedFile(path, f"damaged .npz file ({_reason(e)})") from None


def read_json(path: Path) -> Any:
    """A JSON file nlpkit wrote; a missing, cut or non-UTF-8 one is a DamagedFile naming it."""
    _require_file(path)
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as e:
        raise DamagedFile(path, f"damaged JSON file ({_reason(e)})") from None


def read_cached_json(path: Path) -> dict | None:
    """A cache file's JSON object, or None when it is absent or damaged: a cache is rebuilt, never trusted broken."""
    try:
        value = read_json(path)
    except DamagedFile:
        return None
    return value if isinstance(value, dict) else None


def read_safetensors(path: Path) -> dict:
    """The tensors of a .safetensors file (torch); a cut file or one that is not safetensors names the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    _require_file(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise DamagedFile(path, f"damaged .safetensors file ({_reason(e)})") from None


def _require_file(path: Path) -> None:
    if not Path(path).is_file():
        raise DamagedFile(path, "missing (the directory is incomplete)")


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


# --------------------------------------------------------------------------- sealed directories

CHECKSUMS = "checksums"  # manifest key: relative path -> "sha256:HEX" of each file beside the manifest
MANIFEST_CHECKSUM = "manifest_checksum"  # manifest key: sha256 of the manifest's own content


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"sha256:{h.hexdigest()}"


def file_checksums(directory: Path, manifest_name: str) -> dict[str, str]:
    """sha256 of every file under `directory` but the manifest; a subdirectory with its own manifest is sealed apart."""
    directory = Path(directory)
    out: dict[str, str] = {}

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                if not (entry / manifest_name).is_file():
                    walk(entry)
            elif entry.is_file() and entry != directory / manifest_name:
                out[entry.relative_to(directory).as_posix()] = sha256_file(entry)

    walk(directory)
    return out


def manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != MANIFEST_CHECKSUM}
    text = json.dumps(body, sort_keys=True, default=_json_default, separators=(",", ":"))
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"


def seal(directory: Path, manifest: dict, manifest_name: str) -> dict:
    """`manifest` plus the checksums of the files already in `directory` and of itself (write it last)."""
    sealed = {**manifest, CHECKSUMS: file_checksums(directory, manifest_name)}
    # what json.loads will give back (tuples become lists, numpy scalars numbers), so the digest matches on load
    sealed = json.loads(json.dumps(sealed, default=_json_default))
    sealed[MANIFEST_CHECKSUM] = manifest_digest(sealed)
    return sealed


def reseal(directory: Path, manifest_name: str) -> None:
    """Seal a directory whose manifest is already written (files were added after it, as a checkpoint's)."""
    path = Path(directory) / manifest_name
    write_json(path, seal(Path(directory), read_json(path), manifest_name))


# directories already checked in this process (predict reads the manifest, then loads the model), keyed by
# their manifest checksum and every file's size, inode and mtime: a file changed since is checked again
_VERIFIED: set[tuple] = set()


def verify_sealed(directory: Path, manifest: dict, manifest_name: str, what: str = "directory") -> None:
    """Check a sealed directory's checksums (see :func:`seal`); a directory written before sealing passes.

    `what` names the directory in messages ("model directory", "vectors directory").
    """
    directory = Path(directory)
    manifest_path = directory / manifest_name
    expected = manifest.get(MANIFEST_CHECKSUM)
    if expected is not None and expected != manifest_digest(manifest):
        raise DamagedFile(manifest_path, "damaged or edited manifest (its checksum does not match its content)")
    checksums = manifest.get(CHECKSUMS)
    if checksums is None:
        return
    if not isinstance(checksums, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in checksums.items()):
        raise DamagedFile(manifest_path, f"damaged manifest ({CHECKSUMS!r} is not a map of file names to checksums)")
    try:
        key = (str(directory.resolve()), str(expected), *(_stat_key(directory / name) for name in sorted(checksums)))
    except OSError:
        key = None  # a file is missing: the loop below says which
    if key in _VERIFIED:
        return
    for name, checksum in checksums.items():
        path = confined_path(directory, name, manifest_name)
        if not path.is_file():
            raise DamagedFile(directory, f"damaged {what} ({name} is missing)")
        if sha256_file(path) != checksum:
            raise DamagedFile(path, "damaged: its sha256 does not match the manifest (the file was cut or changed)")
    if key is not None:
        _VERIFIED.add(key)


def _stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_size, st.st_ino, st.st_mtime_ns)


def confined_path(directory: Path, name: str, manifest_name: str) -> Path:
    """`directory / name` for a file name read from a manifest, refused if it leads outside `directory`."""
    directory = Path(directory)
    candidate = directory / name
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise DamagedFile(directory / manifest_name, f"names the file {name!r}, outside its directory")
    try:
        candidate.resolve().relative_to(directory.resolve())
    except ValueError:
        raise DamagedFile(directory / manifest_name, f"names the file {name!r}, which leads outside its directory") from None
    return candidate


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot.

    Replacing a directory otherwise takes two renames (the old one away, the new one in),
    and a kill between them leaves neither in place.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


class AtomicDirectory:
    """``with AtomicDirectory(dest) as tmp:`` fill ``tmp``; on success it replaces ``dest``.

    A crash leaves ``dest`` as it was (or absent), never half-written. On Linux the old
    ``dest`` and the new one are swapped in one step (:func:`exchange_paths`), so that
    even a kill at the end leaves one of them in place.
    """

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)

    def __enter__(self) -> Path:
        if self.dest.exists() and not self.dest.is_dir():
            # a file (or /dev/full) where the directory goes would be renamed away, then lost: refuse
            raise OutputError(f"{self.dest}: exists and is not a directory (give a directory path)")
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.dest.parent, f".{self.dest.name}.")
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(f".{self.dest.name}."), dir=self.dest.parent))
        except OSError as e:
            raise cannot_create(self.dest, e) from None
        self.tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                self._name_destination(exc)
            return False
        _umask_modes(self.tmp)
        if self.dest.exists() and exchange_paths(self.tmp, self.dest):
            shutil.rmtree(self.tmp, ignore_errors=True)  # the old directory, now under the temporary name
            return False
        old = None
        if self.dest.exists():
            old = self.dest.with_name(f"{temporary_prefix(f'.{self.dest.name}.', 'old')}{time.time_ns()}")
            os.replace(self.dest, old)
        os.replace(self.tmp, self.dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return False

    def _name_destination(self, exc: OSError) -> None:
        """Point an OSError at the file's place in the destination, not in the temporary (or at none)."""
        where = Path(exc.filename) if isinstance(exc.filename, str) else None
        if where is not None and where.is_relative_to(self.tmp):
            exc.filename = str(self.dest / where.relative_to(self.tmp))
        elif exc.filename is None:
            exc.filename = str(self.dest)


class AtomicFile:
    """``with AtomicFile(dest) as f:`` write bytes to ``f``; on success the file replaces ``dest``.

    The bytes go to a hidden temporary file in the same directory, renamed into place only
    when the block ends without an exception: a failure, Ctrl-C or a kill leaves the old
    ``dest`` whole (or none). ``dest`` ending in ``.gz`` is gzip-compressed, its header
    naming ``dest`` as gzip.open would.
    """

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)

    def __enter__(self):
        import gzip
        import stat

        self.dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            special = not stat.S_ISREG(os.stat(self.dest).st_mode)
        except FileNotFoundError:
            special = False
        if special:
            # /dev/null, /dev/full, a FIFO: nothing to keep whole, and a rename would replace the device
            self.tmp: Path | None = None
            self.raw: Any = open(self.dest, "wb")
        else:
            remove_stale_temporaries(self.dest.parent, f".{self.dest.name}.")
            fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(f".{self.dest.name}."), dir=self.dest.parent)
            self.tmp = Path(tmp)
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600
            self.raw = os.fdopen(fd, "wb")
        self.stream: Any = self.raw  # the file itself, or a gzip layer over it
        if self.dest.name.endswith(".gz"):
            self.stream = gzip.GzipFile(filename=str(self.dest), mode="wb", fileobj=self.raw)
        return self.stream

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.stream is not self.raw:
                self.stream.close()
            self.raw.close()
        except BaseException:
            self._discard()
            if exc_type is None:
                raise
            return False
        if exc_type is not None:
            self._discard()
        elif self.tmp is not None:
            os.replace(self.tmp, self.dest)
        return False

    def _discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)

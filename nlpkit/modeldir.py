"""The model directory's manifest (``nlpkit.json``): what every saved model, language model and vectors directory shares.

A directory written by nlpkit holds its files and a manifest naming its ``kind``, its
``format_version`` and the sha256 of every file (nlpkit.files.seal). :func:`read_manifest`
checks all of it before anything is loaded: a damaged file, a manifest of the wrong shape,
or a format newer than this nlpkit reads is one clear line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from nlpkit.errors import DamagedFile, NlpkitError, UsageError
from nlpkit.files import read_json, verify_sealed

FORMAT_VERSION = 1
MANIFEST = "nlpkit.json"


class ModelError(NlpkitError):
    """A model directory that cannot be used (missing, damaged, newer format, ...)."""


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


# manifest key -> the type it must have where present ("1" or null there once crashed the loaders)
MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str, "params": dict, "labels": list, "metrics": dict, "versions": dict, "file": str, "format": str,
}


def read_manifest(directory: str | os.PathLike) -> dict:
    """The validated manifest of a model (or vectors) directory, its checksums checked (see nlpkit.files.seal)."""
    directory = Path(directory)
    manifest = read_versioned_manifest(directory, "model", FORMAT_VERSION, ModelError, verify=False)
    path = directory / MANIFEST
    if "kind" not in manifest:
        raise ModelError(f"{path}: damaged manifest (no kind or format_version)")
    for key, expected in MANIFEST_TYPES.items():
        if key in manifest and not isinstance(manifest[key], expected):
            raise ModelError(f"{path}: damaged manifest ({key} is {json_type(manifest[key])}, not {json_type(expected)})")
    verify_sealed(directory, manifest, MANIFEST, what=f"{'vectors' if manifest['kind'] == 'vectors' else 'model'} directory")
    return manifest


def read_versioned_manifest(directory: Path, what: str, format_version: int, error: type[NlpkitError],
                            verify: bool = True) -> dict:
    """The manifest of a sealed directory of `what` ("model", "index"), refused as `error` when it is missing,
    not an object, of a format newer than `format_version`, or (with `verify`) when a checksum fails."""
    path = directory / MANIFEST
    article = "an" if what[:1] in "aeiou" else "a"
    if not directory.is_dir():
        raise error(f"{directory}: not {article} {what} directory (no such directory)")
    if not path.exists():
        raise error(f"{directory}: not {article} {what} directory ({MANIFEST} is missing)")
    try:
        manifest = read_json(path)
    except DamagedFile as e:
        raise error(f"{path}: damaged manifest ({e.problem})") from None
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise error(f"{path}: damaged manifest (no kind or format_version)")
    version = manifest["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise error(f"{path}: damaged manifest (format_version is {version!r}, not a positive whole number)")
    if version > format_version:
        raise error(f"{directory}: {what} format version {version} is newer than this nlpkit reads "
                    f"({format_version}); upgrade nlpkit")
    if verify:
        verify_sealed(directory, manifest, MANIFEST, what=f"{what} directory")
    return manifest


def json_type(value_or_type) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
             bool: "true/false", type(None): "null"}
    t = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    return names.get(t, t.__name__)


def check_output_dir(output: str | os.PathLike) -> None:
    """Refuse to replace a directory that is not a model directory (saving replaces it whole): a usage error."""
    path = Path(output)
    interrupted_run = (path / "model-last").is_dir()  # a neural run to --resume
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).exists() and not interrupted_run:
        raise UsageError(f"Invalid value for '-o': {output} exists and is not a model directory; refusing to replace it")

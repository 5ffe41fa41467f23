"""The index directory: BM25, a FAISS index and the records, sealed like a model directory.

::

    DIR/nlpkit.json            the manifest: format_version, kind "retrieval-index", the encoder,
                               BM25's settings, the dense index's kind and parameters, counts,
                               library versions, and the sha256 of every file (nlpkit.files.seal)
    DIR/records.jsonl          the records, in index order (see nlpkit.retrieval.store)
    DIR/records.offsets.npy
    DIR/bm25/                  bm25s's own files (.npy arrays, JSON) and the token ids (tokens.npz)
    DIR/dense.faiss            faiss.write_index's format

Nothing is pickled. :func:`build_index` streams records: each batch is checked (an id,
``id`` else ``_id``, not seen before; a text), embedded where it has no ``embedding``
field, then written to the store, tokenized for BM25 and added to the dense index, so
memory holds a batch of vectors beyond the index itself. The directory is written
beside its place and renamed in (nlpkit.files.AtomicDirectory): a failed or killed
build leaves the old one.

:func:`add_to_index` writes a new version of the directory the same way: the store is
copied and appended to, the FAISS index read and added to (no vector is re-encoded),
and BM25 re-scored from the stored token ids of old and new documents together (bm25s
cannot append: a new document changes every idf). A killed ``add`` leaves the old
index whole.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.errors import InputError, NlpkitError, RecordError, UsageError
from nlpkit.files import AtomicDirectory, library_versions, read_json, seal, verify_sealed, write_json
from nlpkit.io import Item, Writer, source_of
from nlpkit.params import SWITCH, nested, param, values
from nlpkit.records import Record
from nlpkit.retrieval import dense, sparse
from nlpkit.retrieval.documents import document_text, record_id
from nlpkit.retrieval.encoder import EMBEDDING_FIELD, Encoder, EncoderOptions, read_model_config, resolve_model
from nlpkit.retrieval.store import Store, StoreWriter
from nlpkit.runner import RunReport, drive
from nlpkit.stage import Stage

FORMAT_VERSION = 1
MANIFEST = "nlpkit.json"
KIND = "retrieval-index"
BM25_DIR = "bm25"
DENSE_CHOICES = (*dense.KINDS, "none")


class IndexDirectoryError(NlpkitError):
    """An index directory that cannot be used (missing, damaged, newer format)."""


@dataclass
class IndexBuildOptions:
    """What `index build` builds: BM25, the dense index and its parameters, and the encoder (see :func:`build_index`)."""

    output: str = param(None, short=("-o",), path="dir", required=True, help="Index directory to write (replaced whole).")
    bm25: bool = param(True, style=SWITCH, show_default=True,
                       help="Build the BM25 index (bm25s, Lucene, k1 1.5, b 0.75, English stop words).")
    dense_index: str = param(dense.DEFAULT_KIND, choices=DENSE_CHOICES, show_default=True,
                             help="flat: exact inner product; hnsw: a graph, fast and near exact; ivfpq: compressed, "
                                  "for large corpora; none.")
    hnsw_m: int = param(dense.HNSW_M, min=2, show_default=True, help="hnsw: links per node.")
    ef_construction: int = param(dense.HNSW_EF_CONSTRUCTION, min=1, show_default=True,
                                 help="hnsw: candidates kept while building.")
    ef_search: int = param(dense.HNSW_EF_SEARCH, min=1, show_default=True,
                           help="hnsw: candidates kept while searching (stored; search --ef-search overrides).")
    nlist: int | None = param(None, type=int, min=1, help="ivfpq: inverted lists.  [default: 4 sqrt(n)]")
    nprobe: int = param(dense.IVF_NPROBE, min=1, show_default=True,
                        help="ivfpq: lists searched per query (stored; search --nprobe overrides).")
    encoder: EncoderOptions = nested(EncoderOptions)

    def dense_params(self) -> dict[str, Any]:
        if self.dense_index == "hnsw":
            return {"m": self.hnsw_m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}
        if self.dense_index == "ivfpq":
            return {"nprobe": self.nprobe, **({"nlist": self.nlist} if self.nlist else {})}
        return {}

    def build_arguments(self) -> dict[str, Any]:
        """:func:`build_index`'s keyword arguments (but the records'), from these options."""
        return {"directory": self.output, "bm25": self.bm25, "dense_index": self.dense_index,
                "dense_params": self.dense_params(), **values(self.encoder)}


# --------------------------------------------------------------------------- reading the manifest


def read_index_manifest(directory: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """The manifest of an index directory, its format and (with `verify`) every file's checksum checked."""
    from nlpkit.modeldir import json_type, read_versioned_manifest

    directory = Path(directory)
    manifest = read_versioned_manifest(directory, "index", FORMAT_VERSION, IndexDirectoryError, verify=False)
    if manifest.get("kind") != KIND:
        raise IndexDirectoryError(f"{directory}: not an index directory (its {MANIFEST} is of a {manifest.get('kind')!r}, "
                                  f"not a {KIND}; build one with `nlpkit index build`)")
    for key, expected in (("count", int), ("bm25", (dict, type(None))), ("dense", (dict, type(None))), ("encoder", dict)):
        if key not in manifest or not isinstance(manifest[key], expected):
            raise IndexDirectoryError(f"{directory / MANIFEST}: damaged manifest ({key} is "
                                      f"{json_type(manifest.get(key)) if key in manifest else 'missing'})")
    if verify:
        verify_sealed(directory, manifest, MANIFEST, what="index directory")
    return manifest


def check_output(directory: str | os.PathLike) -> None:
    """Refuse to replace a directory that is not an index (building replaces it whole): a usage error."""
    path = Path(directory)
    if path.is_dir() and any(path.iterdir()):
        try:
            read_index_manifest(path, verify=False)
        except IndexDirectoryError:
            raise UsageError(f"Invalid value for '-o': {directory} exists and is not an index directory; "
                             "refusing to replace it") from None


# --------------------------------------------------------------------------- building


class IndexStage(Stage):
    """Checks each record (an id not seen before, a text, a well-formed embedding) and embeds those without one.

    Run by the runner (``drive``) so that bad records stop the build or are skipped with
    ``--on-error skip`` exactly as in every stage; a record is only marked seen once its
    whole batch passed, so that the runner's one-by-one retry of a failed batch is fair.
    """

    batch_size = 256

    def __init__(self, encoder: Encoder | None, dim: int, field: str = "text", seen: set[str] | None = None,
                 encode: bool = True):
        self.encoder = encoder
        self.dim = dim
        self.field = field
        self.seen: set[str] = seen if seen is not None else set()
        self.encode = encode

    def process(self, records: list[Record]) -> list[Record]:
        ids = [record_id(r) for r in records]
        batch: set[str] = set()
        for i in ids:
            if i in self.seen or i in batch:
                raise RecordError(f"id {i!r} is already in the index (ids must be unique)")
            batch.add(i)
        texts = [document_text(r, self.field) for r in records]
        out = [{**r, EMBEDDING_FIELD: self._given_vector(r)} if EMBEDDING_FIELD in r else dict(r) for r in records]
        missing = [j for j, r in enumerate(out) if self.encode and EMBEDDING_FIELD not in r]
        if missing:
            assert self.encoder is not None
            vectors = self.encoder.encode([texts[j] for j in missing])
            for j, v in zip(missing, vectors):
                out[j][EMBEDDING_FIELD] = v
        self.seen.update(ids)
        return out

    def _given_vector(self, record: Record) -> np.ndarray | None:
        if not self.encode:
            return None
        value = record[EMBEDDING_FIELD]
        try:
            vector = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise RecordError(f"field {EMBEDDING_FIELD!r} is not a list of numbers") from None
        if vector.shape != (self.dim,):
            raise RecordError(f"field {EMBEDDING_FIELD!r} has {vector.size} numbers, not the encoder's {self.dim}")
        if not np.isfinite(vector).all():
            raise RecordError(f"field {EMBEDDING_FIELD!r} holds NaN or infinity")
        return vector


class IndexWriter(Writer):
    """The runner's writer for an index: each batch to the store, BM25 and the dense index. :meth:`finish` writes them."""

    def __init__(self, directory: Path, field: str, bm25: sparse.BM25Builder | None, vectors: dense.DenseBuilder | None,
                 store: StoreWriter):
        self.directory = directory
        self.field = field
        self.bm25 = bm25
        self.vectors = vectors
        self.store = store

    def write(self, records: Iterable[Record]) -> None:
        records = list(records)
        if not records:
            return
        self.store.add(records)
        if self.bm25 is not None:
            self.bm25.add([document_text(r, self.field) for r in records])
        if self.vectors is not None:
            self.vectors.add(np.stack([r[EMBEDDING_FIELD] for r in records]))

    def close(self) -> None:  # the runner closes its writer before it raises: finish() writes the index
        pass

    def finish(self) -> dict[str, Any]:
        self.store.finish()
        info: dict[str, Any] = {"count": len(self.store), "bm25": None, "dense": None}
        if self.bm25 is not None:
            self.bm25.save(self.directory / BM25_DIR)
            info["bm25"] = {**sparse.settings(), "vocabulary": len(self.bm25.vocab)}
        if self.vectors is not None:
            info["dense"] = self.vectors.finish(self.directory)
        return info


def build_index(items: Iterable[Item], directory: str | os.PathLike, *, field: str = "text", model: str | None = None,
                max_tokens: int | None = None, device: str = "auto", quantize: str | None = None, runtime: str = "torch",
                bm25: bool = True, dense_index: str = dense.DEFAULT_KIND, dense_params: dict[str, Any] | None = None,
                on_error: str = "fail", batch_size: int | None = None,
                progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], RunReport]:
    """Index the records of `items` into `directory` (replaced atomically); returns (manifest, report)."""
    if dense_index not in DENSE_CHOICES:
        raise UsageError(f"--dense-index must be one of {', '.join(DENSE_CHOICES)}, not {dense_index!r}")
    if not bm25 and dense_index == "none":
        raise UsageError("an index needs BM25 or a dense index (or both): drop --no-bm25 or --dense-index none")
    check_output(directory)
    encoder_info = _encoder_info(model, max_tokens, quantize, runtime)
    with AtomicDirectory(directory) as tmp:
        # the model loads only when a record without an embedding comes
        encoder = Encoder(model, max_tokens=max_tokens, device=device, quantize=quantize, runtime=runtime) \
            if dense_index != "none" else None
        vectors = (dense.DenseBuilder(dense_index, encoder_info["dim"], dense_params or {}, tmp)
                   if dense_index != "none" else None)
        writer = IndexWriter(tmp, field, sparse.BM25Builder() if bm25 else None, vectors, StoreWriter(tmp))
        stage = IndexStage(encoder, encoder_info["dim"], field=field, encode=vectors is not None)
        started = time.perf_counter()
        report = drive(stage, items, writer, name="index build", on_error=on_error, batch_size=batch_size, progress=progress)
        if not len(writer.store):
            raise InputError(source_of(items) or "-", "no records to index" + (" (every one was skipped)" if report.records_in else ""))
        info = writer.finish()
        manifest = _manifest(info, encoder_info, field, started, created=None)
        write_json(tmp / MANIFEST, seal(tmp, manifest, MANIFEST))
    return manifest, report


def add_to_index(items: Iterable[Item], directory: str | os.PathLike, *, device: str = "auto", on_error: str = "fail",
                 batch_size: int | None = None,
                 progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], RunReport]:
    """Append the records of `items` to the index in `directory`, writing its new version beside it, then swapping."""
    directory = Path(directory)
    old = read_index_manifest(directory)
    enc = old["encoder"]
    field = old.get("field", "text")
    encoder_info = _encoder_info(enc.get("model_arg"), enc.get("max_tokens"), enc.get("quantize"), enc.get("runtime", "torch"))
    dense_info = old["dense"]
    seen = {record_id(r) for r in Store(directory)}
    with AtomicDirectory(directory) as tmp:
        encoder = (Encoder(enc.get("model_arg"), max_tokens=enc.get("max_tokens"), device=device, quantize=enc.get("quantize"),
                           runtime=enc.get("runtime", "torch")) if dense_info else None)
        vectors = None
        if dense_info:
            index = dense.read_index(directory / dense.INDEX_FILE)
            vectors = dense.DenseBuilder(dense_info["kind"], int(dense_info["dim"]), dense_info.get("params") or {}, tmp,
                                         index=index)
            vectors.count = int(index.ntotal)
        bm25 = sparse.BM25Builder.load(directory / BM25_DIR) if old["bm25"] else None
        writer = IndexWriter(tmp, field, bm25, vectors, StoreWriter(tmp, previous=directory))
        stage = IndexStage(encoder, int(dense_info["dim"]) if dense_info else 0, field=field, seen=seen,
                           encode=vectors is not None)
        started = time.perf_counter()
        report = drive(stage, items, writer, name="index add", on_error=on_error, batch_size=batch_size, progress=progress)
        info = writer.finish()
        manifest = _manifest(info, encoder_info, field, started, created=old.get("created"))
        manifest["added"] = [*old.get("added", []), {"records": info["count"] - old["count"], "at": _now()}]
        write_json(tmp / MANIFEST, seal(tmp, manifest, MANIFEST))
    return manifest, report


def _encoder_info(model: str | None, max_tokens: int | None, quantize: str | None, runtime: str) -> dict[str, Any]:
    directory = resolve_model(model)
    config = read_model_config(directory)
    dim = read_json(directory / "config.json").get("hidden_size") if (directory / "config.json").is_file() else None
    if not isinstance(dim, int):
        raise UsageError(f"{directory}: its config.json gives no hidden_size (the vectors' dimension)")
    return {"model": model or "all-MiniLM-L6-v2", "model_arg": model, "dim": dim,
            "max_tokens": max_tokens or config["max_tokens"], "pooling": config["pooling"], "normalize": True,
            "quantize": quantize, "runtime": runtime}


def _manifest(info: dict[str, Any], encoder_info: dict[str, Any], field: str, started: float, created: str | None) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "count": info["count"],
        "field": field,
        "encoder": encoder_info,
        "bm25": info["bm25"],
        "dense": info["dense"],
        "versions": library_versions("bm25s", "faiss-cpu", "torch", "transformers"),
        "created": created or _now(),
        "updated": _now(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------- information


def index_info(directory: str | os.PathLike) -> dict[str, Any]:
    """What `index info` prints: the manifest's content (checked) without the checksums, plus sizes on disk."""
    directory = Path(directory)
    manifest = read_index_manifest(directory)
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = Path(root) / name
            files[path.relative_to(directory).as_posix()] = path.stat().st_size
    info = {k: v for k, v in manifest.items() if k not in ("checksums", "manifest_checksum")}
    info["encoder"] = {k: v for k, v in manifest["encoder"].items() if k != "model_arg"}
    info["directory"] = str(directory)
    info["files"] = dict(sorted(files.items()))
    info["bytes"] = sum(files.values())
    return info

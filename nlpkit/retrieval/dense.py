"""Dense indexes over unit vectors with FAISS: ``flat`` (exact inner product), ``hnsw`` and ``ivfpq``.

Vectors go in batch by batch as they are encoded (``flat``, ``hnsw``), so building holds
a batch of vectors beyond the index itself. ``ivfpq`` must be trained before anything
is added: its vectors are spooled to a file on disk and read back in blocks after
training on a sample, so it too holds a constant number of blocks. The index file is
``faiss.write_index``'s own format (no pickle); ``index add`` reads it and adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from nlpkit.errors import DamagedFile, UsageError

KINDS = ("flat", "hnsw", "ivfpq")
DEFAULT_KIND = "flat"
INDEX_FILE = "dense.faiss"
#: HNSW: links per node, candidates kept while building and while searching. efSearch 256: on 100,000
#: IMDb passages, Recall@10 0.9842 of exact search's at p50 1.5 ms (128 gave 0.9584; 512 0.9959 at 2.8 ms),
#: `python benchmarks/bench_retrieval.py hnsw`
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 256
#: IVF-PQ: lists probed per query; bits per sub-quantizer code; dimensions per sub-quantizer
IVF_NPROBE = 16
PQ_BITS = 8
PQ_DIMS_PER_CODE = 8
#: vectors per block when an ivfpq index is trained and filled from its spool
BLOCK = 8192
TRAIN_SAMPLE = 65536


def default_params(kind: str) -> dict[str, Any]:
    if kind == "hnsw":
        return {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
    if kind == "ivfpq":
        return {"nprobe": IVF_NPROBE, "bits": PQ_BITS}
    return {}


class DenseBuilder:
    """Collects vectors into a FAISS index of `kind` (see the module docstring)."""

    def __init__(self, kind: str, dim: int, params: dict[str, Any], spool_dir: Path, index=None):
        if kind not in KINDS:
            raise UsageError(f"--dense-index must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        self.dim = dim
        self.params = {**default_params(kind), **params}
        self.spool_path = spool_dir / ".vectors.spool"
        self._spool: BinaryIO | None = None
        self.count = 0
        if index is not None:
            self.index = index
        elif kind == "flat":
            self.index = _faiss().IndexFlatIP(dim)
        elif kind == "hnsw":
            faiss = _faiss()
            self.index = faiss.IndexHNSWFlat(dim, int(self.params["m"]), faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = int(self.params["ef_construction"])
        else:
            self.index = None  # trained at the end, on the spooled vectors

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.index is not None and (self.kind != "ivfpq" or self.index.is_trained):
            self.index.add(vectors)
        else:
            if self._spool is None:
                self._spool = open(self.spool_path, "wb")
            self._spool.write(vectors.tobytes())
        self.count += len(vectors)

    def finish(self, directory: Path) -> dict[str, Any]:
        """Train (ivfpq), write the index; returns what the manifest records of it."""
        if self.index is None:
            self._train_and_fill()
        write_index(self.index, directory / INDEX_FILE)
        return {"kind": self.kind, "dim": self.dim, "params": self.params, "count": int(self.index.ntotal)}

    def _train_and_fill(self) -> None:
        faiss = _faiss()
        if self._spool is not None:
            self._spool.close()
        n = self.count
        vectors = np.memmap(self.spool_path, dtype=np.float32, mode="r", shape=(n, self.dim)) if n else np.zeros((0, self.dim), np.float32)
        bits = int(self.params["bits"])
        if n < 2 ** bits:
            # a code book of 2**bits centroids needs at least as many vectors: fewer bits for a small corpus
            bits = max(1, int(np.floor(np.log2(max(n, 2)))))
        nlist = int(self.params.get("nlist") or max(1, min(int(4 * np.sqrt(max(n, 1))), n // 39 or 1)))
        m = _sub_quantizers(self.dim)
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, m, bits, faiss.METRIC_INNER_PRODUCT)
        if n == 0:
            raise UsageError("--dense-index ivfpq needs at least one record to train on")
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(n, size=min(n, TRAIN_SAMPLE), replace=False))
        index.train(np.ascontiguousarray(vectors[sample]))
        for start in range(0, n, BLOCK):
            index.add(np.ascontiguousarray(vectors[start:start + BLOCK]))
        self.params.update({"nlist": nlist, "m": m, "bits": bits})
        self.index = index
        del vectors
        self.spool_path.unlink(missing_ok=True)


def _sub_quantizers(dim: int) -> int:
    """The number of PQ sub-quantizers: about one per PQ_DIMS_PER_CODE dimensions, a divisor of `dim`."""
    m = max(1, dim // PQ_DIMS_PER_CODE)
    while dim % m:
        m -= 1
    return m


def _faiss():
    import faiss

    return faiss


def write_index(index, path: Path) -> None:
    _faiss().write_index(index, str(path))


def read_index(path: Path):
    faiss = _faiss()
    if not Path(path).is_file():
        raise DamagedFile(path, "missing (the index directory is incomplete)")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as e:
        raise DamagedFile(path, f"damaged FAISS index ({str(e).strip().splitlines()[0][:200]})") from None


def configure(index, kind: str, params: dict[str, Any]) -> None:
    """Search-time settings of a loaded index (HNSW's efSearch, IVF's nprobe)."""
    if kind == "hnsw":
        index.hnsw.efSearch = int(params.get("ef_search", HNSW_EF_SEARCH))
    elif kind == "ivfpq":
        index.nprobe = int(params.get("nprobe", IVF_NPROBE))


def search(index, vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """(position, inner product) of the top `k` per query vector, best first."""
    if len(vectors) == 0 or index.ntotal == 0:
        return [[] for _ in range(len(vectors))]
    scores, positions = index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, int(index.ntotal)))
    return [[(int(p), float(s)) for p, s in zip(row_p, row_s) if p >= 0] for row_p, row_s in zip(positions, scores)]

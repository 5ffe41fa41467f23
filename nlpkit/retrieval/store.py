"""The records of an index: JSON Lines in index order, with a table of byte offsets for random access.

``records.jsonl`` holds each indexed record as it came (its ``embedding`` left out: the
vectors are in the dense index); ``records.offsets.npy`` (int64, ``allow_pickle=False``)
holds where each line starts, and the file's length last, so record ``i`` is the bytes
``offsets[i]:offsets[i + 1]``. A hit reads only its own line.
"""

from __future__ import annotations

import shutil
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit import io
from nlpkit.errors import DamagedFile

RECORDS_FILE = "records.jsonl"
OFFSETS_FILE = "records.offsets.npy"
#: fields the store leaves out (the vectors live in the dense index)
LEFT_OUT = ("embedding",)


class StoreWriter:
    """Appends records to ``records.jsonl`` in `directory` (copying an existing store first, for ``index add``)."""

    def __init__(self, directory: Path, previous: Path | None = None):
        self.directory = directory
        self.offsets = array("q", [0])
        if previous is not None:
            shutil.copyfile(previous / RECORDS_FILE, directory / RECORDS_FILE)
            self.offsets = array("q", read_offsets(previous).tolist())
        self._file = open(directory / RECORDS_FILE, "ab")

    def add(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            line = io.dumps({k: v for k, v in record.items() if k not in LEFT_OUT}) + b"\n"
            self._file.write(line)
            self.offsets.append(self.offsets[-1] + len(line))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def finish(self) -> None:
        self._file.close()
        np.save(self.directory / OFFSETS_FILE, np.frombuffer(self.offsets, dtype=np.int64), allow_pickle=False)


def read_offsets(directory: Path) -> np.ndarray:
    path = directory / OFFSETS_FILE
    if not path.is_file():
        raise DamagedFile(path, "missing (the index directory is incomplete)")
    try:
        offsets = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DamagedFile(path, f"damaged offsets table ({type(e).__name__}: {e})") from None
    if offsets.ndim != 1 or offsets.dtype != np.int64 or len(offsets) < 1:
        raise DamagedFile(path, "damaged offsets table (not one column of whole numbers)")
    return offsets


class Store:
    """Random access to an index's records by position."""

    def __init__(self, directory: Path):
        self.path = directory / RECORDS_FILE
        self.offsets = read_offsets(directory)
        if not self.path.is_file():
            raise DamagedFile(self.path, "missing (the index directory is incomplete)")
        self._file = open(self.path, "rb")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def get(self, positions: list[int]) -> list[dict[str, Any]]:
        out = []
        for p in positions:
            start, end = int(self.offsets[p]), int(self.offsets[p + 1])
            self._file.seek(start)
            line = self._file.read(end - start)
            try:
                out.append(io.loads(line))
            except ValueError:
                raise DamagedFile(self.path, f"damaged record store (record {p} at byte {start} is not JSON)") from None
        return out

    def __iter__(self):
        """Every record in index order."""
        with open(self.path, "rb") as f:
            for position, line in enumerate(f):
                if position >= len(self):
                    return
                yield io.loads(line)

    def close(self) -> None:
        self._file.close()

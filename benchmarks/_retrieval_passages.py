"""The IMDb passage set of the retrieval benchmark, and its vectors, cached in bench-out/.

    python benchmarks/_retrieval_passages.py        # chunk, then encode whatever is not cached yet

Passages: the reviews of IMDb train, test and unsup, in that order, each cut into windows of
at most 128 word pieces of all-MiniLM-L6-v2's tokenizer (no overlap); the first 100,000
windows are the indexed passages and the next 1,000 are the queries of the HNSW check.
Vectors: nlpkit's encoder, all-MiniLM-L6-v2 on ONNX Runtime with int8 weights (the fastest
encoder measured here: the fp32 model ran at 16 passages/s on the two shared cores, so
100,000 would take two hours), normalized, max 256 word pieces, in shards of 1,000 so that
an interrupted run resumes where it stopped. The HNSW check compares HNSW with exact search
over the same vectors, so the int8 encoder's small difference from fp32 does not enter it.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import IMDB, REPO  # noqa: E402

CACHE = REPO / "bench-out" / "retrieval" / "imdb-passages"
PASSAGES = 100_000
QUERIES = 1_000
WINDOW = 128
SHARD = 1_000


def model_path() -> str:
    from nlpkit.resources import default_bert_checkpoint

    return default_bert_checkpoint()


def imdb_reviews():
    for split in ("train", "test", "unsup"):
        with gzip.open(IMDB / f"{split}.jsonl.gz", "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                yield record["id"], record["text"]


def chunk_reviews(total: int) -> list[dict]:
    """The first `total` windows of WINDOW word pieces, as {id, parent, start, end, text}."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path())
    passages: list[dict] = []
    for review_id, text in imdb_reviews():
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        for k, first in enumerate(range(0, len(offsets), WINDOW)):
            window = offsets[first:first + WINDOW]
            start, end = window[0][0], window[-1][1]
            passages.append({"id": f"{review_id}#{k}", "parent": review_id, "start": start, "end": end,
                             "text": text[start:end]})
            if len(passages) == total:
                return passages
    return passages


def passages() -> list[dict]:
    path = CACHE / "passages.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        rows = chunk_reviews(PASSAGES + QUERIES)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        tmp.replace(path)
    return [json.loads(line) for line in path.read_text().splitlines()]


def vectors(rows: list[dict], *, shards_only: bool = False) -> np.ndarray | None:
    """The normalized vectors of `rows`, encoded shard by shard and cached."""
    model = None
    parts = []
    for number, first in enumerate(range(0, len(rows), SHARD)):
        shard = CACHE / f"vectors-{number:03d}.npy"
        if not shard.exists():
            if model is None:
                from nlpkit.retrieval.encoder import Encoder

                model = Encoder(max_tokens=256, device="cpu", quantize="int8", runtime="onnx").load()
            started = time.perf_counter()
            texts = [row["text"] for row in rows[first:first + SHARD]]
            array = model.encode(texts)
            tmp = shard.with_suffix(".tmp.npy")
            np.save(tmp, array.astype(np.float32))
            os.replace(tmp, shard)
            print(f"shard {number}: {len(texts)} passages in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
        if not shards_only:
            parts.append(np.load(shard, allow_pickle=False))
    return None if shards_only else np.concatenate(parts)


def cached() -> bool:
    count = -(-(PASSAGES + QUERIES) // SHARD)
    return all((CACHE / f"vectors-{n:03d}.npy").exists() for n in range(count))


if __name__ == "__main__":
    vectors(passages(), shards_only=True)

"""fastText candidates for `bench imdb`'s row, scored on the validation slice only: the figures in nlpkit/bench/methods.py.

    python benchmarks/sweep_fasttext.py bench-out/imdb-full [VECTORS.vec]

Reads a finished full-IMDb run's prepared splits (OUT/data/train.jsonl.gz: 22,500 reviews, valid.jsonl.gz:
2,500, the bench's preprocessing) and fits the fasttext library on each candidate with 2 threads (so a
figure moves by about 0.2 between runs), never touching test. The pretrained-vector candidates need the
run's vectors as word2vec text (gensim: KeyedVectors.load_word2vec_format(OUT/vectors/KEY/vectors.bin,
binary=True).save_word2vec_format(VECTORS.vec)). Prints one JSON line per candidate.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

BASE = {"dim": 50, "epoch": 20, "lr": 0.1, "wordNgrams": 2, "bucket": 500_000}
CANDIDATES = [{}, {"wordNgrams": 3, "bucket": 2_000_000}, {"epoch": 40}, {"epoch": 60}, {"epoch": 40, "bucket": 1_000_000},
              {"epoch": 40, "bucket": 2_000_000}, {"epoch": 40, "bucket": 4_000_000}, {"epoch": 40, "lr": 0.2}]
WITH_VECTORS = [{"epoch": 40, "dim": 200}, {"epoch": 40, "dim": 200, "bucket": 2_000_000}]


def write_lines(source: Path, target: Path) -> None:
    with gzip.open(source, "rt") as f, open(target, "w") as out:
        for line in f:
            record = json.loads(line)
            out.write(f"__label__{record['label']} {' '.join(record.get('tokens') or record['text'].split())}\n")


def main(run_dir: str, vectors: str | None = None) -> None:
    import fasttext

    with tempfile.TemporaryDirectory() as tmp:
        paths = {split: Path(tmp) / f"{split}.txt" for split in ("train", "valid")}
        for split, path in paths.items():
            write_lines(Path(run_dir) / "data" / f"{split}.jsonl.gz", path)
        grid = [{**BASE, **c} for c in CANDIDATES] + ([{**BASE, **c, "pretrainedVectors": vectors} for c in WITH_VECTORS]
                                                      if vectors else [])
        for params in grid:
            started = time.perf_counter()
            model = fasttext.train_supervised(input=str(paths["train"]), thread=2, minCount=1, seed=0, verbose=0, **params)
            _, precision, _ = model.test(str(paths["valid"]))
            print(json.dumps({**params, "valid": round(precision, 4), "seconds": round(time.perf_counter() - started, 1)}),
                  flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])

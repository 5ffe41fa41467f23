"""Draw corpora/imdb-sample from the full IMDb JSONL copy: balanced, seeded, reproducible.

    python scripts/make_imdb_sample.py ../shared/corpora/imdb corpora/imdb-sample

Each split gets 500 pos + 500 neg reviews chosen with random.Random(SEED).sample over
the split's records in file order; the sample keeps file order (all pos, then all neg).
"""

import gzip
import json
import random
import sys
from pathlib import Path

SEED = 13
PER_CLASS = 500


def main(source: str, dest: str) -> None:
    out_dir = Path(dest)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        with gzip.open(Path(source) / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        rng = random.Random(f"{SEED}-{split}")
        chosen = []
        for label in ("pos", "neg"):
            indices = [i for i, r in enumerate(records) if r["label"] == label]
            chosen += sorted(rng.sample(indices, PER_CLASS))
        # mtime=0: the same input gives byte-identical files
        with open(out_dir / f"{split}.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for i in chosen:
                gz.write((json.dumps(records[i], ensure_ascii=True) + "\n").encode("ascii"))
        print(f"{split}: {len(chosen)} records", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])

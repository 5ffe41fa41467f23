"""Draw corpora/imdb-sample from the full IMDb JSONL copy: balanced, seeded, reproducible.

    python scripts/make_imdb_sample.py ../shared/corpora/imdb corpora/imdb-sample

Each split gets 500 pos + 500 neg reviews chosen with random.Random(SEED).sample over
the split's records in file order; the sample keeps file order (all pos, then all neg).
The unsup split gets 10,000 of the 50,000 unlabelled reviews, chosen the same way, for
the word vectors the benchmark learns from train + unlabelled text.
"""

import gzip
import json
import random
import sys
from pathlib import Path

SEED = 13
PER_CLASS = 500
UNLABELLED = 10_000


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
        write(out_dir / f"{split}.jsonl.gz", [records[i] for i in chosen])
    with gzip.open(Path(source) / "unsup.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    chosen = sorted(random.Random(f"{SEED}-unsup").sample(range(len(records)), UNLABELLED))
    write(out_dir / "unsup.jsonl.gz", [records[i] for i in chosen])


def write(path: Path, records: list[dict]) -> None:
    # mtime=0: the same input gives byte-identical files
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for record in records:
            gz.write((json.dumps(record, ensure_ascii=True) + "\n").encode("ascii"))
    print(f"{path.name}: {len(records)} records", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])

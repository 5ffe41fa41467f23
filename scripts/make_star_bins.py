"""A four-class corpus from real reviews: IMDb's star ratings in bins 1-2, 3-4, 7-8, 9-10.

    python scripts/make_star_bins.py corpora/imdb-sample stars

Reads a corpus directory of IMDb records (`rating` 1-4 or 7-10) and writes
DEST/{train,test}.jsonl.gz labelled by bin, plus DEST/unsup.jsonl.gz when the
source has unlabelled reviews: a multi-class corpus for `nlpkit bench corpus DEST`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlpkit.corpora import read_split, split_path, write_split  # noqa: E402

BINS = {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 7: "7-8", 8: "7-8", 9: "9-10", 10: "9-10"}


def main(source: str, dest: str) -> None:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        write_split(out / f"{split}.jsonl.gz", [{"id": r["id"], "text": r["text"], "label": BINS[r["rating"]]}
                                                for r in read_split(source, split)])
    if split_path(source, "unsup") is not None:
        write_split(out / "unsup.jsonl.gz", [{"id": r["id"], "text": r["text"], "label": None}
                                             for r in read_split(source, "unsup")])


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""`nlpkit bench ud` and `nlpkit bench ner` on the full dev sets, every installed engine.

    UD English-EWT r2.16 dev (2,001 sentences, 25,147 words): UPOS, XPOS, lemmas, UAS, LAS on the
    gold words and, from the raw text, tokens, sentences and the same scores by CoNLL 2018 alignment;
    Universal NER English-EWT dev (966 entities): per-type, micro and macro F1. Words/s of each engine.

Runs the two commands as a user would (each engine in its own process, resumable in
bench-out/treebanks-*; --force re-runs), under /tmp/nlpkit-heavy.lock and nice, and writes
benchmarks/results/treebanks.json with both results.json files.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys

from _common import NLPKIT, REPO, sh, write_results

LOCK = "/tmp/nlpkit-heavy.lock"


def main(argv: list[str]) -> int:
    force = " --force" if "--force" in argv else ""
    results = {}
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for bench in ("ud", "ner"):
            out = REPO / "bench-out" / f"treebanks-{bench}"
            sh(f"OMP_NUM_THREADS=1 nice -n 10 {' '.join(NLPKIT)} -v bench {bench} --out {out}{force}",
               env={**os.environ, "PYTHONPATH": str(REPO)})
            results[bench] = json.loads((out / "results.json").read_text())
    write_results("treebanks", results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""lm-lstm with its defaults against a bilstm trained from scratch, on a sentence corpus no setting was tuned on.

    python benchmarks/bench_lm_defaults.py [--reviews 3000] [--train-sentences 4000] [--test-sentences 2000]

The corpus: IMDb *test* reviews rated 1-2 or 9-10 (the rating is in each record's id), their
last sentence of 5 to 40 words, labelled with the review's polarity; balanced, seeded, split into
train and test sentences. (IMDb test reviews, so that no sentence comes from the reviews the LM
read; none of the settings compared here was chosen on sentences.) The LM: `nlpkit lm train
--epochs 1` on a seeded 3,000 of IMDb's training reviews, its other settings the command's
defaults. Then, on the sentence corpus, each with `nlpkit train`'s defaults but `--threads 2`:

- `lm-lstm --lm LM` (its defaults: pooled embeddings, no gradual unfreezing, head+tail);
- `lm-lstm --lm LM --no-pool-embeddings --gradual-unfreezing --truncate head` (the former defaults);
- `bilstm` from scratch.

Test accuracy of each on the held-out sentences: benchmarks/results/lm_defaults.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IMDB, NLPKIT, REPO, write_results

SEED = 0
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_corpus(n_train: int, n_test: int, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    by_label: dict[str, list[dict]] = {"neg": [], "pos": []}
    with gzip.open(IMDB / "test.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            rating = int(record["id"].rsplit("_", 1)[1])
            if 3 <= rating <= 8:
                continue
            sentences = [s.strip() for s in SENTENCE_END.split(record["text"].replace("<br />", " ")) if s.strip()]
            last = next((s for s in reversed(sentences) if 5 <= len(s.split()) <= 40), None)
            if last is not None:
                by_label[record["label"]].append({"id": record["id"], "text": last, "label": record["label"]})
    rng = random.Random(seed)
    train, test = [], []
    for label, rows in by_label.items():
        rng.shuffle(rows)
        need = n_train // 2 + n_test // 2
        if len(rows) < need:
            raise SystemExit(f"only {len(rows)} {label} sentences for {need}")
        train += rows[: n_train // 2]
        test += rows[n_train // 2: need]
    rng.shuffle(train)
    return train, test


def lm_reviews(n: int, seed: int = SEED) -> list[dict]:
    with gzip.open(IMDB / "train.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return random.Random(seed).sample(rows, n)


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def nlpkit(*args: str) -> str:
    return subprocess.run([*NLPKIT, *args], check=True, cwd=REPO, capture_output=True, text=True).stdout


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--train-sentences", type=int, default=4000)
    parser.add_argument("--test-sentences", type=int, default=2000)
    args = parser.parse_args(argv)
    results: dict = {"corpus": "last sentences (5-40 words) of IMDb test reviews rated 1-2 or 9-10, review polarity",
                     "lm": f"nlpkit lm train --epochs 1 on {args.reviews:,} seeded IMDb training reviews", "rows": {}}
    with tempfile.TemporaryDirectory(prefix="bench-lm-defaults-") as tmp:
        work = Path(tmp)
        train, test = sentence_corpus(args.train_sentences, args.test_sentences)
        train_file, test_file = write(work / "train.jsonl", train), write(work / "test.jsonl", test)
        results["n_train"], results["n_test"] = len(train), len(test)
        started = time.perf_counter()
        nlpkit("lm", "train", "--epochs", "1", "-o", str(work / "lm"), str(write(work / "lm.jsonl", lm_reviews(args.reviews))))
        results["lm_seconds"] = round(time.perf_counter() - started, 1)
        rows = {
            "lm-lstm (defaults)": ["--model", "lm-lstm", "--lm", str(work / "lm")],
            "lm-lstm (former defaults)": ["--model", "lm-lstm", "--lm", str(work / "lm"), "--no-pool-embeddings",
                                          "--gradual-unfreezing", "--truncate", "head"],
            "bilstm (defaults, from scratch)": ["--model", "bilstm"],
        }
        for i, (name, options) in enumerate(rows.items()):
            started = time.perf_counter()
            out = work / f"model-{i}"
            nlpkit("train", *options, "--threads", "2", "--seed", str(SEED), "--train", str(train_file), "-o", str(out))
            metrics = json.loads(nlpkit("evaluate", "--model", str(out), "--test", str(test_file), "--json"))
            results["rows"][name] = {"accuracy": round(100 * metrics["accuracy"], 2), "ece": round(metrics["ece"], 4),
                                     "command": "nlpkit train " + " ".join(options) + " --threads 2 --seed 0",
                                     "seconds": round(time.perf_counter() - started, 1)}
            print(name, results["rows"][name], flush=True)
    write_results("lm_defaults", results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Speed of the text rungs on the 25,000 IMDb train reviews.

1. `nlpkit tokenize --engine nltk` (1 and 2 processes) versus a plain Python loop calling
   nltk.word_tokenize on the same texts, side by side in one run.
2. `clean | tokenize --engine regex | stopwords | stem` as a 4-process shell pipeline: words/s.
3. 1 GB of text through `clean | tokenize --engine regex`: peak RSS of each process.

    python benchmarks/bench_text.py [tokenize] [pipeline] [memory] [--quick]
    # default: all three parts; --quick: 2,000 reviews and 100 MB
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IMDB, REPO, RESULTS, write_results

PY = sys.executable
NLPKIT = f"{PY} -m nlpkit"

PLAIN_LOOP = r"""
import gzip, json, sys, time
import nltk
from nlpkit.resources import configure_nltk
configure_nltk()
# the texts are loaded before timing starts: this times the loop alone
texts = [json.loads(line)["text"] for line in gzip.open(sys.argv[1], "rt", encoding="utf-8")]
nltk.word_tokenize("warm up")
started = time.perf_counter()
tokens = [nltk.word_tokenize(t) for t in texts]
loop = time.perf_counter() - started
print(json.dumps({"loop_s": loop, "docs": len(texts), "tokens": sum(map(len, tokens))}))
"""


def timed(command: str, **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, cwd=REPO, **kwargs)
    return time.perf_counter() - started


def write_subset(path: Path, n: int) -> Path:
    with gzip.open(IMDB / "train.jsonl.gz", "rt", encoding="utf-8") as src, gzip.open(path, "wt", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i >= n:
                break
            out.write(line)
    return path


def tokenize_vs_loop(source: Path) -> dict:
    plain_started = time.perf_counter()
    plain = json.loads(subprocess.run([PY, "-c", PLAIN_LOOP, str(source)], check=True, capture_output=True, text=True, cwd=REPO).stdout)
    plain["process_s"] = time.perf_counter() - plain_started
    jobs1 = timed(f"{NLPKIT} tokenize --engine nltk {source} > /dev/null")
    jobs2 = timed(f"{NLPKIT} tokenize --engine nltk --jobs 2 {source} > /dev/null")
    return {
        "docs": plain["docs"],
        "plain_loop_s": round(plain["loop_s"], 2),
        "plain_process_s": round(plain["process_s"], 2),
        "nlpkit_jobs1_s": round(jobs1, 2),
        "nlpkit_jobs2_s": round(jobs2, 2),
        # nlpkit's time is the whole command (start-up, gzip JSON in, JSON out); the loop's is tokenizing only
        "ratio_jobs1_vs_loop": round(jobs1 / plain["loop_s"], 3),
        "ratio_jobs2_vs_loop": round(jobs2 / plain["loop_s"], 3),
        "target": "jobs1 <= 1.15x, jobs2 <= 0.65x",
    }


def ladder_pipeline(source: Path) -> dict:
    words = 0
    with gzip.open(source, "rt", encoding="utf-8") as f:
        for line in f:
            words += len(json.loads(line)["text"].split())
    seconds = timed(
        f"{NLPKIT} clean {source} | {NLPKIT} tokenize --engine regex | {NLPKIT} stopwords | {NLPKIT} stem > /dev/null"
    )
    return {"words_in": words, "seconds": round(seconds, 2), "words_per_s": round(words / seconds)}


def text_stream(target_bytes: int):
    """Plain-text reviews, one per line, cycling through train+test+unsup until target_bytes."""
    written = 0
    while True:
        for split in ("train", "test", "unsup"):
            with gzip.open(IMDB / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
                for line in f:
                    text = json.loads(line)["text"].replace("\n", " ") + "\n"
                    data = text.encode("utf-8")
                    yield data
                    written += len(data)
                    if written >= target_bytes:
                        return


def memory_gigabyte(target_bytes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "rss.log"
        env = {**os.environ, "RSS_LOG": str(log)}
        rss = f"{PY} {REPO / 'benchmarks' / '_rss.py'}"
        command = f"{rss} clean {NLPKIT} clean | {rss} tokenize {NLPKIT} tokenize --engine regex | wc -l"
        started = time.perf_counter()
        proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO)
        sent = 0
        for chunk in text_stream(target_bytes):
            proc.stdin.write(chunk)
            sent += len(chunk)
        proc.stdin.close()
        records = int(proc.stdout.read().strip())
        assert proc.wait() == 0
        seconds = time.perf_counter() - started
        peaks = dict(line.split() for line in log.read_text().splitlines())
    return {
        "bytes_in": sent,
        "records": records,
        "seconds": round(seconds, 1),
        "mb_per_s": round(sent / 1e6 / seconds, 2),
        "peak_rss_mb": {k: float(v) for k, v in peaks.items()},
        "target": "each process < 200 MB",
    }


PARTS = ("tokenize", "pipeline", "memory")


def main() -> None:
    """Run the parts named on the command line (default: all), merging into the results file."""
    quick = "--quick" in sys.argv
    parts = [a for a in sys.argv[1:] if a in PARTS] or list(PARTS)
    name = "text-quick" if quick else "text"
    previous = RESULTS / f"{name}.json"
    results = json.loads(previous.read_text()) if previous.exists() else {}
    results = {k: v for k, v in results.items() if k not in ("benchmark", "machine", "date")}
    results["quick"] = quick
    with tempfile.TemporaryDirectory() as tmp:
        source = write_subset(Path(tmp) / "train.jsonl.gz", 2000 if quick else 25000)
        if "tokenize" in parts:
            results["tokenize_nltk"] = tokenize_vs_loop(source)
        if "pipeline" in parts:
            results["ladder_pipeline"] = ladder_pipeline(source)
    if "memory" in parts:
        results["memory"] = memory_gigabyte(100_000_000 if quick else 1_000_000_000)
    write_results(name, results)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()

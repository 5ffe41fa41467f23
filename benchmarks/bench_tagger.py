"""The tagger-bound stages against the raw NLTK loops, side by side in one run.

1. tag: `nlpkit tag --engine nltk` over N IMDb train reviews (cleaned and regex-tokenized
   beforehand, untimed) against one `PerceptronTagger` calling `.tag` per record; the tags
   must be identical on every token.
2. lemmatize: `nlpkit lemmatize` against the tagger plus `WordNetLemmatizer` per token; the
   output must be what `lemmatize` gave before the batched tagger (NLTK's tags, then
   WordNet's morphy).
3. pipeline: `nlpkit run --pipeline "clean | tokenize | stopwords | lemmatize" -j 2` over
   all 25,000 IMDb train reviews against one process doing the same steps: nlpkit's
   `clean()`, `nltk.word_tokenize`, the same NLTK stop words, the tagger and
   `WordNetLemmatizer`.

Parts 1 and 2 run on one core (`taskset -c CORE`, BLAS threads 1), alternating nlpkit and
the loop for `--rounds` rounds; the figures are medians. Each row gives:

- `loop_s`: the raw loop alone (its imports and model loading not counted, a warm-up first);
- `command_s`: the whole nlpkit command, start-up, model loading, JSON in and out included;
- `stage_s`: nlpkit's stage alone over the same records, timed like the loop;
- words/s and ratios of each against the loop, and CPU seconds beside wall seconds
  (this machine is shared: CPU time moves less than wall time when others run).

    python benchmarks/bench_tagger.py [tag] [lemmatize] [pipeline] [--reviews 2000] [--rounds 3] [--core 0]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IMDB, REPO, RESULTS, write_results

PY = sys.executable
NLPKIT = f"{PY} -m nlpkit"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# the raw NLTK loops: the data is read and the models loaded before the clock starts
RAW_LOOP = r"""
import json, sys, time
from nlpkit.resources import configure_nltk, english_wordnet
configure_nltk()
from nltk.stem import WordNetLemmatizer
from nltk.tag import PerceptronTagger
from nlpkit.text.lemmatize import penn_to_wordnet

part, source, out = sys.argv[1:4]
records = [json.loads(line)["tokens"] for line in open(source, encoding="utf-8")]
tagger, lemmatizer = PerceptronTagger(), WordNetLemmatizer()
tagger.tag(["warm", "up"]); lemmatizer.lemmatize("cats", "n")
wall, cpu = time.perf_counter(), time.process_time()
if part == "tag":
    tags = [[t for _, t in tagger.tag(tokens)] for tokens in records]
else:
    lemmas = []
    for tokens in records:
        tagged = tagger.tag(tokens)
        lemmas.append([lemmatizer.lemmatize(w, penn_to_wordnet(t)) for w, t in tagged])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
if part == "tag":
    expected = tags
else:  # what `nlpkit lemmatize` gave before the batched tagger: NLTK's tags, then WordNet's morphy
    morphy = english_wordnet().morphy
    expected = [[morphy(w, penn_to_wordnet(t)) or w for w, t in tagger.tag(tokens)] for tokens in records]
json.dump(expected, open(out, "w"))
print(json.dumps({"loop_s": wall, "loop_cpu_s": cpu, "tokens": sum(map(len, records))}))
"""

# nlpkit's stage alone, timed like the loop (set-up and a warm-up batch first)
STAGE_LOOP = r"""
import json, sys, time
from nlpkit.stages import build_stage

part, source = sys.argv[1:3]
records = [json.loads(line) for line in open(source, encoding="utf-8")]
stage = build_stage(part, field="text", **({"engine": "nltk"} if part == "tag" else {}))
stage.ensure_setup()
stage.process(records[:8])
batches = [records[i:i + stage.batch_size] for i in range(0, len(records), stage.batch_size)]
wall, cpu = time.perf_counter(), time.process_time()
for batch in batches:
    stage.process(batch)
print(json.dumps({"stage_s": time.perf_counter() - wall, "stage_cpu_s": time.process_time() - cpu}))
"""

PARTS = ("tag", "lemmatize", "pipeline")
PIPELINE = "clean | tokenize | stopwords | lemmatize"
PIPELINE_LOOP = r"""
import gzip, json, sys, time
from nlpkit.resources import configure_nltk
configure_nltk()
import nltk
from nltk.stem import WordNetLemmatizer
from nltk.tag import PerceptronTagger
from nlpkit.text.clean import clean
from nlpkit.text.lemmatize import penn_to_wordnet
from nlpkit.text.stopwords import stopword_set

texts = [json.loads(line)["text"] for line in gzip.open(sys.argv[1], "rt", encoding="utf-8")]
stop, tagger, lemmatizer = stopword_set(), PerceptronTagger(), WordNetLemmatizer()
nltk.word_tokenize("warm up"); tagger.tag(["warm", "up"]); lemmatizer.lemmatize("cats", "n")
wall, cpu = time.perf_counter(), time.process_time()
words = 0
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for text in texts:
        tokens = [t for t in nltk.word_tokenize(clean(text)) if t.lower() not in stop]
        lemmas = [lemmatizer.lemmatize(w, penn_to_wordnet(t)) for w, t in tagger.tag(tokens)]
        words += len(lemmas)
        out.write(json.dumps(lemmas) + "\n")
print(json.dumps({"loop_s": time.perf_counter() - wall, "loop_cpu_s": time.process_time() - cpu, "tokens_out": words}))
"""


def run_timed(command: list[str] | str, **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of it and its children, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    shell = isinstance(command, str)
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command] if shell else command, check=True, cwd=REPO,
                            capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result


def write_tokens(root: Path, n: int) -> Path:
    """The first n train reviews, cleaned and regex-tokenized by nlpkit (untimed)."""
    raw = root / "raw.jsonl"
    with gzip.open(IMDB / "train.jsonl.gz", "rt", encoding="utf-8") as src, open(raw, "w", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i >= n:
                break
            out.write(line)
    tokens = root / "tokens.jsonl"
    subprocess.run(["bash", "-o", "pipefail", "-c", f"{NLPKIT} clean {raw} | {NLPKIT} tokenize --engine regex > {tokens}"],
                   check=True, cwd=REPO)
    return tokens


def side_by_side(part: str, tokens: Path, root: Path, rounds: int, core: int) -> dict:
    env = {**os.environ, **ONE_THREAD}
    pin = ["taskset", "-c", str(core)]
    loops, commands, stages = [], [], []
    expected_path, got_path = root / f"{part}-expected.json", root / f"{part}-nlpkit.jsonl"
    extra = " --engine nltk" if part == "tag" else ""
    for _ in range(rounds):
        _, _, result = run_timed(pin + [PY, "-c", RAW_LOOP, part, str(tokens), str(expected_path)], env=env)
        loops.append(json.loads(result.stdout))
        wall, cpu, _ = run_timed(f"taskset -c {core} {NLPKIT} {part}{extra} {tokens} > {got_path}", env=env)
        commands.append({"command_s": wall, "command_cpu_s": cpu})
        _, _, result = run_timed(pin + [PY, "-c", STAGE_LOOP, part, str(tokens)], env=env)
        stages.append(json.loads(result.stdout))
    expected = json.loads(expected_path.read_text())
    got = [json.loads(line)["pos" if part == "tag" else "tokens"] for line in got_path.read_text().splitlines()]
    identical = sum(a == b for e, g in zip(expected, got) for a, b in zip(e, g))
    n_tokens = loops[0]["tokens"]
    assert len(got) == len(expected) and identical == n_tokens, f"{part}: {identical} of {n_tokens} tokens identical"

    def median(rows, key):
        return statistics.median(r[key] for r in rows)

    loop_s, command_s, stage_s = median(loops, "loop_s"), median(commands, "command_s"), median(stages, "stage_s")
    loop_cpu, command_cpu, stage_cpu = median(loops, "loop_cpu_s"), median(commands, "command_cpu_s"), median(stages, "stage_cpu_s")
    return {
        "records": len(expected), "tokens": n_tokens, "rounds": rounds, "core": core,
        "identical_tokens": f"{identical} of {n_tokens}",
        "loop_s": round(loop_s, 3), "command_s": round(command_s, 3), "stage_s": round(stage_s, 3),
        "loop_cpu_s": round(loop_cpu, 3), "command_cpu_s": round(command_cpu, 3), "stage_cpu_s": round(stage_cpu, 3),
        "words_per_s": {"raw_loop": round(n_tokens / loop_s), "nlpkit_command": round(n_tokens / command_s),
                        "nlpkit_stage": round(n_tokens / stage_s)},
        "speedup_command_vs_loop": round(loop_s / command_s, 2),
        "speedup_stage_vs_loop": round(loop_s / stage_s, 2),
        "speedup_cpu_command_vs_loop": round(loop_cpu / command_cpu, 2),
        "speedup_cpu_stage_vs_loop": round(loop_cpu / stage_cpu, 2),
        "every_round": {"loop": loops, "command": commands, "stage": stages},
        "target": "command at least 5x the loop's words/s",
    }


def pipeline_vs_loop(root: Path, jobs: int) -> dict:
    source = IMDB / "train.jsonl.gz"
    env = {**os.environ, **ONE_THREAD}
    _, _, result = run_timed([PY, "-c", PIPELINE_LOOP, str(source), str(root / "loop.jsonl")], env=env)
    loop = json.loads(result.stdout)
    out = root / "pipeline.jsonl"
    wall, cpu, _ = run_timed(f"{NLPKIT} run --pipeline '{PIPELINE}' -j {jobs} {source} > {out}", env=env)
    ours = [json.loads(line)["tokens"] for line in out.read_text().splitlines()]
    theirs = [json.loads(line) for line in (root / "loop.jsonl").read_text().splitlines()]
    assert len(ours) == len(theirs) == 25000
    # the same tokens reach the lemmatizer; lemmas differ where WordNetLemmatizer's shortest
    # candidate is not morphy's first analysis (nlpkit's choice: "hated" stays "hate", not "hat")
    assert [len(t) for t in ours] == [len(t) for t in theirs]
    same = sum(a == b for o, t in zip(ours, theirs) for a, b in zip(o, t))
    return {
        "pipeline": PIPELINE, "jobs": jobs, "records": len(ours), "tokens_out": loop["tokens_out"],
        "loop_s": round(loop["loop_s"], 2), "loop_cpu_s": round(loop["loop_cpu_s"], 2),
        "nlpkit_s": round(wall, 2), "nlpkit_cpu_s": round(cpu, 2),
        "speedup": round(loop["loop_s"] / wall, 2),
        "lemmas_equal_to_wordnetlemmatizer": f"{same} of {loop['tokens_out']}",
        "target": "at least 5x",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("parts", nargs="*", help="tag, lemmatize, pipeline (default: all three)")
    parser.add_argument("--reviews", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    parts = args.parts or list(PARTS)
    if set(parts) - set(PARTS):
        parser.error(f"parts are {', '.join(PARTS)}")
    # a run of some parts keeps the others' figures from the last run
    previous = RESULTS / "tagger.json"
    results = json.loads(previous.read_text()) if previous.exists() else {}
    results = {k: v for k, v in results.items() if k not in ("benchmark", "machine", "date")}
    results["reviews"] = args.reviews
    with tempfile.TemporaryDirectory(prefix="bench-tagger-") as tmp:
        root = Path(tmp)
        if "tag" in parts or "lemmatize" in parts:
            tokens = write_tokens(root, args.reviews)
            for part in ("tag", "lemmatize"):
                if part in parts:
                    results[part] = side_by_side(part, tokens, root, args.rounds, args.core)
        if "pipeline" in parts:
            results["pipeline"] = pipeline_vs_loop(root, args.jobs)
    write_results("tagger", results)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()

"""Linguistic rungs: tagging/parsing accuracy on gold CoNLL-U, and `annotate` speed against raw spaCy.

Accuracy (gold tokenization): `nlpkit parse` (spaCy) and `nlpkit tag --engine nltk|spacy`
on each gold file, scored with `nlpkit evaluate-conllu`. No UD English treebank ships
on PyPI or in an installed package here, so the files are:
  - tests/data/linguistic-gold.conllu: 8 hand-made UD English sentences (62 words; tiny,
    so these figures are a smoke test, not an accuracy estimate);
  - $NLPKIT_UD_TREEBANK, when set: any UD English CoNLL-U (e.g. en_ewt-ud-test.conllu).
spaCy's English parser uses ClearNLP labels and heads (prepositions head their objects,
copulas head the clause), so its UAS/LAS against UD trees is far below its own published
scores: the figures measure agreement with UD, not parser quality.

Speed: the same 2,000 IMDb reviews (the repo's sample, train + test) through
  direct-1:  spaCy's full pipeline driven with nlp.pipe in a plain script (n_process=1)
  annotate-1: nlpkit annotate --layers pos,lemma,ner,deps
  annotate-2: the same with --jobs 2 (spaCy n_process=2)
  direct-2:  the plain script with n_process=2
each as a separate process timed end to end (start-up and model load included on both
sides), interleaved, under /tmp/nlpkit-heavy.lock. Targets: annotate-1 <= 1.10x direct-1;
annotate-1 / annotate-2 >= 1.6. Also checks that --jobs 2 writes exactly what --jobs 1 does.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import NLPKIT, REPO, sh, write_results

GOLD = REPO / "tests" / "data" / "linguistic-gold.conllu"
SAMPLE = REPO / "corpora" / "imdb-sample"
LOCK = "/tmp/nlpkit-heavy.lock"
PIPE_BATCH = 64  # the same minibatch size nlpkit's runner gives nlp.pipe

DIRECT = r"""
import sys, time, json
started = time.perf_counter()
import spacy
from nlpkit.resources import spacy_model_name
nlp = spacy.load(spacy_model_name(), exclude=["senter"])
texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
loaded = time.perf_counter()
words = 0
for doc in nlp.pipe(texts, batch_size=int(sys.argv[3]), n_process=int(sys.argv[2])):
    words += len(doc)
print(json.dumps({"load_s": loaded - started, "pipe_s": time.perf_counter() - loaded, "words": words}))
"""


def nlpkit_cmd(*args: str) -> str:
    return " ".join([*NLPKIT, *args])


def accuracy(gold: Path, work: Path) -> dict:
    out = {"gold": str(gold.relative_to(REPO) if gold.is_relative_to(REPO) else gold)}
    runs = {
        "spacy-parse": nlpkit_cmd("parse", "--input-format", "conllu", str(gold), "--format", "conllu"),
        "spacy-tag": nlpkit_cmd("tag", "--engine", "spacy", "--input-format", "conllu", str(gold), "--format", "conllu"),
        "nltk-tag": nlpkit_cmd("tag", "--engine", "nltk", "--input-format", "conllu", str(gold), "--format", "conllu"),
    }
    for name, command in runs.items():
        pred = work / f"{name}.conllu"
        started = time.perf_counter()
        sh(f"{command} > {pred}")
        seconds = time.perf_counter() - started
        scores = json.loads(
            sh(nlpkit_cmd("evaluate-conllu", "--gold", str(gold), "--pred", str(pred), "--json"), capture_output=True, text=True).stdout
        )
        # tag leaves the gold lemmas and tree of its input in place: only its tags are predictions
        metrics = ("UPOS", "XPOS", "Lemmas", "UAS", "LAS") if name == "spacy-parse" else ("UPOS", "XPOS")
        out[name] = {m: round(100 * scores[m]["accuracy"], 2) for m in metrics}
        out[name]["words"] = scores["words"]
        out[name]["seconds"] = round(seconds, 2)
    return out


def reviews(path: Path, n: int = 2000) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for split in ("train", "test"):
            with gzip.open(SAMPLE / f"{split}.jsonl.gz", "rt", encoding="utf-8") as g:
                for line in g:
                    if count == n:
                        break
                    r = json.loads(line)
                    f.write(json.dumps({"id": r["id"], "text": r["text"]}) + "\n")
                    count += 1
    return count


def timed(command: str, **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    done = sh(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, done.stdout


def speed(work: Path) -> dict:
    data = work / "reviews.jsonl"
    n = reviews(data)
    script = work / "direct.py"
    script.write_text(DIRECT)
    python = sys.executable
    runs = {
        "direct-1": f"{python} {script} {data} 1 {PIPE_BATCH}",
        "annotate-1": nlpkit_cmd("annotate", "--layers", "pos,lemma,ner,deps", str(data), "-o", str(work / "a1.jsonl")),
        "annotate-2": nlpkit_cmd("annotate", "--layers", "pos,lemma,ner,deps", "-j", "2", str(data), "-o", str(work / "a2.jsonl")),
        "direct-2": f"{python} {script} {data} 2 {PIPE_BATCH}",
    }
    # warm the page cache and spaCy's files once, untimed
    sh(f"{python} {script} {work / 'warm.jsonl'} 1 {PIPE_BATCH}", capture_output=True) if _head(data, work / "warm.jsonl", 50) else None
    seconds: dict[str, float] = {}
    inner: dict[str, dict] = {}
    for name, command in runs.items():
        seconds[name], stdout = timed(command)
        if name.startswith("direct"):
            inner[name] = json.loads(stdout.strip().splitlines()[-1])
    same = (work / "a1.jsonl").read_bytes() == (work / "a2.jsonl").read_bytes()
    words = inner["direct-1"]["words"]
    return {
        "reviews": n,
        "spacy_words": words,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "words_per_s": {k: round(words / v) for k, v in seconds.items()},
        "direct_load_s": {k: round(v["load_s"], 2) for k, v in inner.items()},
        "annotate_1_over_direct_1": round(seconds["annotate-1"] / seconds["direct-1"], 3),
        "annotate_jobs2_speedup": round(seconds["annotate-1"] / seconds["annotate-2"], 3),
        "direct_n_process2_speedup": round(seconds["direct-1"] / seconds["direct-2"], 3),
        "jobs2_output_equals_jobs1": same,
        "targets": {"annotate_1_over_direct_1": "<= 1.10", "annotate_jobs2_speedup": ">= 1.6"},
    }


def _head(src: Path, dst: Path, n: int) -> bool:
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for _, line in zip(range(n), f):
            g.write(line)
    return True


def main() -> None:
    golds = [GOLD]
    if os.environ.get("NLPKIT_UD_TREEBANK"):
        golds.append(Path(os.environ["NLPKIT_UD_TREEBANK"]).resolve())
    with open(LOCK, "a") as lock, tempfile.TemporaryDirectory(prefix="bench-linguistic-") as tmp:
        fcntl.flock(lock, fcntl.LOCK_EX)  # heavy runs on this shared machine take turns
        work = Path(tmp)
        results = {
            "accuracy": [accuracy(g, work) for g in golds],
            "accuracy_note": "hand-made 62-word gold: a smoke test; set NLPKIT_UD_TREEBANK to a UD English CoNLL-U for real figures",
            "speed": speed(work),
            "load_average_at_end": os.getloadavg(),
        }
    write_results("linguistic", results)


if __name__ == "__main__":
    main()

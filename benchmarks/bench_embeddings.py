"""Embedding rungs: Word2Vec speed against gensim, nlpkit's GloVe against a compiled GloVe,
`embed evaluate` against gensim's own evaluation, and IMDb accuracy of w2v-lr.

    python benchmarks/bench_embeddings.py     # writes benchmarks/results/embeddings.json
    python benchmarks/bench_embeddings.py glove evaluate   # only those parts; the others' figures are kept
    NLPKIT_BENCH_DATA=corpora/imdb-sample python benchmarks/bench_embeddings.py   # a quick check

Settings, chosen so that the whole run finishes on two shared cores:

* Corpus: IMDb train + unsup (75,000 reviews), tokenized once by nlpkit's simple tokenizer
  (lowercase words and punctuation, <br /> removed) into {"tokens": [...]} records.
* Word2Vec: CBOW, dim 100, window 5, min-count 5, negative 5, 2 epochs, 2 workers, seed 0.
  `nlpkit embed train` (a subprocess, from the tokens JSONL: its time includes streaming the
  records into its LineSentence file and saving) against gensim's Word2Vec called directly with
  the same parameters on a LineSentence file written beforehand (corpus_file mode, its time is
  training only). words/s = corpus tokens x epochs / wall time.
* GloVe: train + unsup (all 75,000 reviews), dim 50, window 10, min-count 5, 15 epochs, one
  thread each. nlpkit's trainer (`nlpkit embed train --algo glove`, torch, CPU) against `glove`
  from bicleaner-ai-glove (compiled, Hogwild SGD), given the same tokens with words under
  min-count removed (which is what nlpkit's counter does before windowing). Quality:
  WordSim-353 Spearman and Google analogy accuracy. The two differ in model and counting
  conventions, measured here rather than assumed:
  - nlpkit follows glove.c: separate word and context vectors (saved as W + W~), trained on
    the full symmetric matrix (both X_ij and X_ji, self-pairs included);
  - `glove` ties word and context vectors (one matrix), so it stores one triangle of X
    without the diagonal; and its `Corpus.matrix` holds some pairs twice (two partial
    counts that scipy would sum), so it is trained twice: on `Corpus.matrix` as its users
    call it, and on the same matrix with duplicates summed (`.tocsr().tocoo()`).
* Evaluation: `nlpkit embed evaluate --json` on GloVe 6B 50d against gensim's
  evaluate_word_analogies(questions-words.txt) and evaluate_word_pairs(wordsim353, simlex999).
* w2v-lr: `nlpkit train --model w2v-lr` on the 25,000 training reviews (no validation slice),
  `nlpkit evaluate` on the 25,000 test reviews; mean and TF-IDF pooling; the Word2Vec vectors
  trained above and GloVe 6B 50d.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IMDB, NLPKIT, REPO, RESULTS, write_results

sys.path.insert(0, str(REPO))

DATA = Path(os.environ.get("NLPKIT_BENCH_DATA") or IMDB)
if not DATA.is_absolute():
    DATA = REPO / DATA
W2V = {"sg": False, "dim": 100, "window": 5, "min_count": 5, "negative": 5, "epochs": 2, "workers": 2, "seed": 0}
GLOVE = {"dim": 50, "window": 10, "min_count": 5, "epochs": 15}
PARTS = ("word2vec", "w2v-lr", "glove", "evaluate")
SIDE_BY_SIDE_LIMIT = 1.10

GENSIM_DIRECT = r"""
import json, sys, time
from gensim.models import Word2Vec
kwargs = json.loads(sys.argv[2])
started = time.perf_counter()
model = Word2Vec(corpus_file=sys.argv[1], **kwargs)
print(json.dumps({"seconds": time.perf_counter() - started, "vocab": len(model.wv)}))
"""

BICLEANER_GLOVE = r"""
import json, sys, time
from collections import Counter
import glove
from gensim.models import KeyedVectors
corpus_file, out, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.perf_counter()
counts = Counter(w for line in open(corpus_file, encoding="utf-8") for w in line.split())
keep = {w for w, c in counts.items() if c >= settings["min_count"]}
docs = [[w for w in line.split() if w in keep] for line in open(corpus_file, encoding="utf-8")]
corpus = glove.Corpus()
corpus.fit(docs, window=settings["window"])
counted = time.perf_counter()
summed = corpus.matrix.tocsr().tocoo()  # duplicate (i, j) entries summed into one count
words = sorted(corpus.dictionary, key=corpus.dictionary.get)
report = {"seconds_counting": counted - started, "vocab": len(words), "entries": int(corpus.matrix.nnz),
          "distinct_pairs": int(summed.nnz), "lower_triangle_entries": int((summed.row > summed.col).sum())}
for name, matrix in (("as_called", corpus.matrix), ("duplicates_summed", summed)):
    model = glove.Glove(no_components=settings["dim"], learning_rate=0.05, random_state=0)
    started = time.perf_counter()
    model.fit(matrix, epochs=settings["epochs"], no_threads=1)
    report[name] = {"seconds_training": time.perf_counter() - started, "entries": int(matrix.nnz)}
    kv = KeyedVectors(settings["dim"])
    kv.add_vectors(words, model.word_vectors)
    kv.save_word2vec_format(f"{out}-{name}.txt")
print(json.dumps(report))
"""

GENSIM_EVALUATE = r"""
import json, sys, time
from gensim.test.utils import datapath
from nlpkit.embeddings.vectors import load_vectors
kv = load_vectors("glove-6b-50d")
started = time.perf_counter()
score, sections = kv.evaluate_word_analogies(datapath("questions-words.txt"))
analogy_seconds = time.perf_counter() - started
pairs = {}
for name in ("wordsim353.tsv", "simlex999.txt"):
    pearson, spearman, oov = kv.evaluate_word_pairs(datapath(name))
    pairs[name] = {"spearman": float(spearman[0]), "pearson": float(pearson[0]), "oov_ratio_percent": float(oov)}
print(json.dumps({"accuracy": score, "analogy_seconds": analogy_seconds,
                  "sections": [[s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])] for s in sections],
                  "pairs": pairs}))
"""


def run(command: list[str], **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, check=True, cwd=REPO, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, done.stdout


def prepare_corpus(work: Path) -> tuple[Path, Path, int, int]:
    """Tokens JSONL (for nlpkit) and the same tokens as LineSentence (for gensim), from train + unsup."""
    from nlpkit.embeddings.docvec import simple_tokens
    from nlpkit.io import dumps, read_records

    sources = [DATA / "train.jsonl.gz"] + ([DATA / "unsup.jsonl.gz"] if (DATA / "unsup.jsonl.gz").exists() else [])
    records_path, lines_path = work / "tokens.jsonl", work / "tokens.txt"
    docs = tokens = 0
    with open(records_path, "wb") as records, open(lines_path, "w", encoding="utf-8") as lines:
        for source in sources:
            for record in read_records([str(source)]):
                words = simple_tokens(record["text"])
                records.write(dumps({"id": record["id"], "tokens": words}) + b"\n")
                lines.write(" ".join(words) + "\n")
                docs += 1
                tokens += len(words)
    return records_path, lines_path, docs, tokens


def word2vec_side_by_side(records: Path, lines: Path, tokens: int, work: Path) -> dict:
    from nlpkit.embeddings.word2vec import Word2VecParams

    params = Word2VecParams(**W2V)
    gensim_seconds, out = run([sys.executable, "-c", GENSIM_DIRECT, str(lines), json.dumps(params.gensim_kwargs())])
    gensim_train = json.loads(out)["seconds"]
    flags = ["--cbow" if not W2V["sg"] else "--sg", "--dim", W2V["dim"], "--window", W2V["window"],
             "--min-count", W2V["min_count"], "--negative", W2V["negative"], "--epochs", W2V["epochs"],
             "--workers", W2V["workers"], "--seed", W2V["seed"]]
    nlpkit_seconds, _ = run([*NLPKIT, "embed", "train", "--algo", "word2vec", *map(str, flags), str(records),
                             "-o", str(work / "w2v")])
    words = tokens * W2V["epochs"]
    return {
        "settings": W2V,
        "corpus_tokens": tokens,
        "gensim_seconds_wall": round(gensim_seconds, 2),
        "gensim_seconds_training": round(gensim_train, 2),
        "gensim_words_per_second": round(words / gensim_seconds),
        "nlpkit_seconds_wall": round(nlpkit_seconds, 2),
        "nlpkit_words_per_second": round(words / nlpkit_seconds),
        "time_ratio_nlpkit_over_gensim": round(nlpkit_seconds / gensim_seconds, 3),
        "limit": SIDE_BY_SIDE_LIMIT,
        "within_limit": nlpkit_seconds / gensim_seconds <= SIDE_BY_SIDE_LIMIT,
    }


def intrinsic(spec: str) -> dict:
    from nlpkit.embeddings.evaluate import evaluate_analogies, evaluate_similarity
    from nlpkit.embeddings.vectors import load_vectors

    kv = load_vectors(spec)
    analogies = evaluate_analogies(kv)
    wordsim = evaluate_similarity(kv)
    return {"wordsim353_spearman": round(wordsim.spearman, 4), "wordsim353_oov_rate": round(wordsim.oov_rate, 4),
            "analogy_accuracy": round(analogies.overall.accuracy, 4), "analogy_oov_rate": round(analogies.oov_rate, 4),
            "vocab": len(kv)}


def glove_comparison(lines: Path, work: Path) -> dict:
    flags = ["--dim", GLOVE["dim"], "--window", GLOVE["window"], "--min-count", GLOVE["min_count"],
             "--epochs", GLOVE["epochs"], "--workers", 1, "--device", "cpu", "--input-format", "text", "--lines"]
    nlpkit_seconds, _ = run([*NLPKIT, "embed", "train", "--algo", "glove", *map(str, flags), str(lines),
                             "-o", str(work / "glove-nlpkit")])
    metrics = json.loads((work / "glove-nlpkit" / "nlpkit.json").read_text())["metrics"]
    entries = metrics["cooccurrence_nonzeros"]
    reference_seconds, out = run([sys.executable, "-c", BICLEANER_GLOVE, str(lines), str(work / "glove-ref"),
                                  json.dumps(GLOVE)])
    reference = json.loads(out)
    ours = {"seconds_wall": round(nlpkit_seconds, 2), "entries": entries,
            "seconds_counting": metrics["seconds_counting"], "seconds_training": metrics["seconds_training"],
            "ns_per_entry_update": _ns_per_update(metrics["seconds_training"], entries),
            "loss_per_epoch": metrics["loss_per_epoch"], **intrinsic(str(work / "glove-nlpkit"))}
    theirs = {"seconds_wall": round(reference_seconds, 2),
              **{k: round(v, 2) if isinstance(v, float) else v for k, v in reference.items() if not isinstance(v, dict)}}
    for name in ("as_called", "duplicates_summed"):
        fit = reference[name]
        theirs[name] = {"seconds_training": round(fit["seconds_training"], 2), "entries": fit["entries"],
                        "ns_per_entry_update": _ns_per_update(fit["seconds_training"], fit["entries"]),
                        **intrinsic(str(work / f"glove-ref-{name}.txt"))}
    return {"settings": {**GLOVE, "documents": "the whole corpus above", "threads": 1}, "nlpkit": ours,
            "bicleaner_ai_glove": theirs}


def _ns_per_update(seconds: float, entries: int) -> int:
    """Training time per co-occurrence entry per epoch: the trainers' cost per pair update."""
    return round(seconds / (entries * GLOVE["epochs"]) * 1e9)


def evaluate_equality() -> dict:
    nlpkit_seconds, out = run([*NLPKIT, "embed", "evaluate", "--vectors", "glove-6b-50d", "--json"])
    ours = json.loads(out)
    gensim_seconds, out = run([sys.executable, "-c", GENSIM_EVALUATE], env={**os.environ, "PYTHONPATH": str(REPO)})
    theirs = json.loads(out)
    our_sections = [[s["section"], s["correct"], s["total"]] for s in ours["analogies"]["sections"]]
    their_sections = [s for s in theirs["sections"] if s[0] != "Total accuracy"]
    pairs = {}
    for entry in ours["similarity"]:
        ref = theirs["pairs"][entry["name"]]
        pairs[entry["name"]] = {
            "nlpkit_spearman": entry["spearman"], "gensim_spearman": round(ref["spearman"], 6),
            "nlpkit_oov_rate": entry["oov_rate"], "gensim_oov_rate": round(ref["oov_ratio_percent"] / 100, 6),
            "equal": entry["spearman"] == round(ref["spearman"], 6)
            and entry["oov_rate"] == round(ref["oov_ratio_percent"] / 100, 6),
        }
    return {
        "vectors": "glove-6b-50d",
        "nlpkit_accuracy": ours["analogies"]["accuracy"],
        "gensim_accuracy": round(theirs["accuracy"], 6),
        "analogy_oov_rate": ours["analogies"]["oov_rate"],
        "sections_equal": our_sections == their_sections,
        "accuracy_equal": ours["analogies"]["accuracy"] == round(theirs["accuracy"], 6),
        "similarity": pairs,
        "nlpkit_seconds_wall": round(nlpkit_seconds, 2),
        "gensim_analogy_seconds": round(theirs["analogy_seconds"], 2),
        "gensim_seconds_wall": round(gensim_seconds, 2),
    }


def w2v_lr_accuracy(work: Path) -> dict:
    train, test = DATA / "train.jsonl.gz", DATA / "test.jsonl.gz"
    results = {}
    for vectors_name, spec in (("imdb-word2vec", str(work / "w2v")), ("glove-6b-50d", "glove-6b-50d")):
        for pool in ("mean", "tfidf"):
            model_dir = work / f"w2v-lr-{vectors_name}-{pool}"
            train_seconds, _ = run([*NLPKIT, "train", "--model", "w2v-lr", "--vectors", spec, "--pool", pool,
                                    "--valid-fraction", "0", "--train", str(train), "-o", str(model_dir)])
            _, out = run([*NLPKIT, "evaluate", "--model", str(model_dir), "--test", str(test), "--json"])
            metrics = json.loads(out)
            results[f"{vectors_name}/{pool}"] = {"accuracy": round(metrics["accuracy"], 4),
                                                 "train_seconds": round(train_seconds, 1)}
    return results


def main() -> None:
    parts = sys.argv[1:] or list(PARTS)
    unknown = set(parts) - set(PARTS)
    if unknown:
        sys.exit(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    previous = RESULTS / "embeddings.json"
    results: dict = {}
    if parts != list(PARTS) and previous.exists():  # a partial run keeps the other parts' figures
        results = {k: v for k, v in json.loads(previous.read_text()).items() if k not in ("benchmark", "machine", "date")}
    results["data"] = str(DATA)
    work = Path(tempfile.mkdtemp(prefix="nlpkit-bench-embeddings-"))
    try:
        if {"word2vec", "w2v-lr", "glove"} & set(parts):
            records, lines, docs, tokens = prepare_corpus(work)
            results["corpus"] = {"documents": docs, "tokens": tokens, "tokenizer": "nlpkit.embeddings.docvec.simple_tokens"}
        if "word2vec" in parts or "w2v-lr" in parts:
            results["word2vec"] = word2vec_side_by_side(records, lines, tokens, work)
            results["word2vec"].update(intrinsic(str(work / "w2v")))
            write_results("embeddings", results)
        if "w2v-lr" in parts:
            results["w2v_lr_imdb_test_accuracy"] = w2v_lr_accuracy(work)
            write_results("embeddings", results)
        if "glove" in parts:
            results["glove"] = glove_comparison(lines, work)
            write_results("embeddings", results)
        if "evaluate" in parts:
            results["evaluate_glove_6b_50d"] = evaluate_equality()
            write_results("embeddings", results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Language models on IMDb, on this machine's CPU.

    python benchmarks/bench_lm.py [speed] [lm] [transfer]     (default: speed and lm)

- speed: the same LSTM LM with a full softmax and with the adaptive softmax, one epoch
  each on the same 150 reviews with the vocabulary of 10,000 reviews (as large as the lm
  part's), alternated for two rounds in this process (each variant's best round): tokens/s
  of training and of scoring.
- lm: an LSTM LM (adaptive softmax) trained for one epoch on as many seeded train+unsup
  reviews as fit the time budget BENCH_LM_BUDGET_S (default 480 s of training, chosen from
  the speed part's figure), validated on 500 other train+unsup reviews; test perplexity on
  a seeded 1,000-review test subset beside a unigram (add-one) and an interpolated
  Kneser-Ney trigram (nlpkit.lm.ngram, which computes nltk.lm.KneserNeyInterpolated's
  probabilities; nltk's own scoring runs ~0.03 s a token, too slow here) fitted on the
  same training reviews and scored on the same tokens (the LM's vocabulary, <unk> for the
  rest, the end of each review predicted too). Samples at several temperatures.
- transfer: lm-lstm fine-tuned from that LM (all four ULMFiT steps, then each switched off in
  turn) versus a bilstm from scratch, all on the same seeded 2,000 train reviews (10% held
  out for model-best), tested on the same 2,000 test reviews. BENCH_LM_ROWS=name,name reruns
  only those rows and keeps the others (each row is repeatable: CPU, seeded).

Results merge into benchmarks/results/lm.json. Torch uses BENCH_THREADS threads (default 1:
on a shared 2-core machine idle OpenMP threads spin). Run it nice'd.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

import nlpkit  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import IMDB, REPO, RESULTS, write_results  # noqa: E402

WORK = Path(os.environ.get("BENCH_WORK", "/tmp/nlpkit-bench-lm"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
BUDGET_S = float(os.environ.get("BENCH_LM_BUDGET_S", "480"))
SEED = 0
LSTM = dict(arch="lstm", tokenizer="word", vocab_size=20000, min_count=3, dim=128, hidden=256, layers=2, context=64,
            dropout=0.1, emb_dropout=0.05, batch_size=32, lr=3e-3, warmup=0.05, schedule="cosine", epochs=1,
            device="cpu", threads=THREADS, seed=SEED)
SPEED_REVIEWS, VOCAB_REVIEWS, VALID_REVIEWS, TEST_REVIEWS = 150, 10000, 500, 1000
SPEED_ROUNDS = 2
PROMPTS = ["this movie was", "the acting is", "i would not recommend"]
TEMPERATURES = [0.0, 0.7, 1.0, 1.3]


def where(path: Path) -> str:
    """A path as results record it: repo-relative, else under $BENCH_WORK (never a machine's /tmp)."""
    path = path.resolve()
    if path.is_relative_to(REPO):
        return str(path.relative_to(REPO))
    return f"$BENCH_WORK/{path.relative_to(WORK.resolve())}" if path.is_relative_to(WORK.resolve()) else path.name


def reviews(split: str) -> list[dict]:
    with gzip.open(IMDB / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def pretraining_pool() -> list[dict]:
    """train + unsup, shuffled (seeded): the LM never sees a test review."""
    pool = [{"text": r["text"]} for r in reviews("train") + reviews("unsup")]
    random.Random(SEED).shuffle(pool)
    return pool


def test_subset(n: int) -> list[dict]:
    test = reviews("test")
    random.Random(SEED).shuffle(test)
    return test[:n]


def part_speed(pool: list[dict]) -> dict:
    """Full and adaptive softmax alternated for SPEED_ROUNDS rounds (others share the machine: each
    variant's best round is the least disturbed one, and their ratio is the figure reported)."""
    from nlpkit.lm.model import LanguageModel

    out = {"reviews": SPEED_REVIEWS, "vocabulary_reviews": VOCAB_REVIEWS, "rounds": SPEED_ROUNDS}
    records = pool[:SPEED_REVIEWS]
    vocabulary = pool[:VOCAB_REVIEWS]  # the vocabulary size decides the softmax's cost: as large as the main run's
    variants = {"full_softmax": {"adaptive_softmax": False}, "adaptive_softmax": {"adaptive_softmax": True}}
    rounds: dict[str, list] = {name: [] for name in variants}
    for _ in range(SPEED_ROUNDS):
        for name, extra in variants.items():
            model = LanguageModel(**LSTM, **extra).fit(records, vocabulary_records=vocabulary)
            started = time.perf_counter()
            scores = model.score(records[:100])
            seconds = time.perf_counter() - started
            rounds[name].append({"train_tokens_per_s": model.history_[-1]["tokens_per_s"],
                                 "score_tokens_per_s": round(sum(n for _, n in scores) / seconds, 1)})
            print(name, rounds[name][-1], flush=True)
            out[name] = {"parameters": sum(p.numel() for p in model.module_.parameters()), "vocab_size": model.vocab_size_}
    for name in variants:
        out[name]["rounds"] = rounds[name]
        for key in ("train_tokens_per_s", "score_tokens_per_s"):
            out[name][key] = max(r[key] for r in rounds[name])
    out["train_speedup"] = round(out["adaptive_softmax"]["train_tokens_per_s"] / out["full_softmax"]["train_tokens_per_s"], 2)
    out["score_speedup"] = round(out["adaptive_softmax"]["score_tokens_per_s"] / out["full_softmax"]["score_tokens_per_s"], 2)
    return out


def part_lm(pool: list[dict], tokens_per_s: float) -> dict:
    import math

    from nlpkit.lm.decoding import Decoding, generate
    from nlpkit.lm.model import LanguageModel
    from nlpkit.lm.ngram import KneserNeyTrigram, UnigramLM

    valid, rest = pool[:VALID_REVIEWS], pool[VALID_REVIEWS:]
    tokens_per_review = 270  # IMDb's mean in this tokenization (nlpkit.training.vocab.record_tokens), + <eos>
    n_train = min(len(rest), int(BUDGET_S * tokens_per_s / tokens_per_review))
    train = rest[:n_train]
    print(f"lm: training on {n_train:,} reviews ({tokens_per_s:,.0f} tokens/s measured)", flush=True)
    model_dir = WORK / "lm"
    # the machine is shared: the size comes from the measured speed, and a cap ends training if others slow it
    cap = BUDGET_S * 1.25
    model = LanguageModel(**{**LSTM, "adaptive_softmax": True}, run_dir=str(model_dir), time_budget=cap)
    model.show_progress = True
    model.fit(train, valid)
    model.save(model_dir)
    test = test_subset(TEST_REVIEWS)
    started = time.perf_counter()
    scores = model.score(test)
    score_seconds = time.perf_counter() - started
    nll, tokens = sum(s for s, _ in scores), sum(n for _, n in scores)

    # the baselines on the same tokens: the LM's words, <unk> for the rest
    itos, stoi = model.tokenizer_.vocab.itos, model.tokenizer_.vocab.stoi
    words = lambda r: [t if t in stoi else itos[1] for t in model.tokenizer_.tokens(r)]  # noqa: E731
    started = time.perf_counter()
    train_words = [words(r) for r in train]
    unigram = UnigramLM().fit(train_words, vocabulary=itos[1:])
    kneser_ney = KneserNeyTrigram().fit(train_words)
    baseline_fit_seconds = time.perf_counter() - started
    test_words = [words(r) for r in test]
    baselines = {}
    for name, baseline in (("unigram", unigram), ("kneser_ney_3gram", kneser_ney)):
        pairs = [baseline.nll(w) for w in test_words]
        b_nll, b_tokens = sum(p for p, _ in pairs), sum(n for _, n in pairs)
        assert b_tokens == tokens, (name, b_tokens, tokens)  # the same predictions as the LSTM's
        baselines[name] = round(math.exp(b_nll / b_tokens), 2)

    samples = {}
    for temperature in TEMPERATURES:
        strategy = "greedy" if temperature == 0 else "sample"
        decoding = Decoding(strategy, temperature=temperature, top_k=40, max_new_tokens=25, seed=SEED)
        ids = generate(model, [model.encode_prompt({"text": p}) for p in PROMPTS], decoding)
        samples[f"T={temperature:g}"] = {p: model.tokenizer_.decode(x) for p, x in zip(PROMPTS, ids)}
    history = model.history_
    return {
        "settings": {**{k: v for k, v in LSTM.items() if k != "threads"}, "adaptive_softmax": True, "threads": THREADS,
                     "budget_s": BUDGET_S, "train_reviews": n_train, "valid_reviews": VALID_REVIEWS,
                     "test_reviews": TEST_REVIEWS, "model_dir": where(model_dir)},
        "train_tokens": sum(len(w) + 1 for w in train_words),
        "time_cap_s": cap,
        "steps": history[-1]["step"],
        "planned_steps": math.ceil(len(model._windows(train, "text", keep_tail=False)) / LSTM["batch_size"]),
        "train_seconds": round(sum(r["seconds"] for r in history), 1),
        "train_tokens_per_s": history[-1]["tokens_per_s"],
        "valid_perplexity": [round(r["valid_perplexity"], 2) for r in history],
        "test_tokens": tokens,
        "test_perplexity": {"lstm": round(math.exp(nll / tokens), 2), **baselines},
        "score_tokens_per_s": round(tokens / score_seconds, 1),
        "baseline_fit_seconds": round(baseline_fit_seconds, 1),
        "vocab_size": model.vocab_size_,
        "samples_top_k_40": samples,
    }


def part_transfer() -> dict:
    from nlpkit.models.evaluation import classification_metrics
    from nlpkit.models.training import train_model

    train = reviews("train")
    random.Random(SEED).shuffle(train)
    train = train[:2000]
    test = test_subset(2000)
    rows = {}
    lm_dir = WORK / "lm"
    lm_lstm = dict(lm=str(lm_dir), epochs=4, max_len=256, truncate="head+tail", batch_size=32, threads=THREADS, device="cpu")
    settings = {
        "lm-lstm": ("lm-lstm", lm_lstm),
        # one ULMFiT step switched off at a time: what each gave
        **{f"lm-lstm --no-{switch.replace('_', '-')}": ("lm-lstm", {**lm_lstm, switch: False})
           for switch in ("concat_pooling", "discriminative_lr", "gradual_unfreezing", "slanted_triangular")},
        "bilstm": ("bilstm", dict(epochs=4, batch_size=32, hidden=128, dim=128, pooling="max", padding="packed",
                                  max_len=256, truncate="head+tail", threads=THREADS, device="cpu")),
    }
    only = [x for x in os.environ.get("BENCH_LM_ROWS", "").split(",") if x]  # rerun some rows, keep the others
    for name, (kind, params) in settings.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        result = train_model(kind, params, _dataset(train), valid_fraction=0.1, seed=SEED, progress=True)
        seconds = time.perf_counter() - started
        predicted = result.model.predict([{"text": r["text"]} for r in test])
        metrics = classification_metrics([r["label"] for r in test], predicted, result.model.labels_)
        rows[name] = {"kind": kind, "accuracy": round(metrics["accuracy"], 4), "train_seconds": round(seconds, 1),
                      "params": {k: v for k, v in params.items() if k not in ("threads", "lm")}}
        print(name, rows[name], flush=True)
    return {"train_reviews": len(train), "test_reviews": len(test), "rows": rows}


def _dataset(records):
    from nlpkit.models.training import Dataset

    return Dataset("imdb train (seeded 2,000)", [{"text": r["text"]} for r in records], [r["label"] for r in records])


def main(parts: list[str]) -> None:
    import torch

    torch.set_num_threads(THREADS)
    WORK.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "lm.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.pop("benchmark", None), results.pop("machine", None), results.pop("date", None)
    pool = pretraining_pool() if {"speed", "lm"} & set(parts) else []
    if "speed" in parts:
        results["speed"] = part_speed(pool)
    if "lm" in parts:
        results["lm"] = part_lm(pool, results["speed"]["adaptive_softmax"]["train_tokens_per_s"])
        results["lm"]["settings"]["speed_measured"] = results["speed"]["adaptive_softmax"]["train_tokens_per_s"]
    if "transfer" in parts:
        transfer = part_transfer()
        transfer["rows"] = {**results.get("transfer", {}).get("rows", {}), **transfer["rows"]}
        results["transfer"] = transfer
    write_results("lm", results)


if __name__ == "__main__":
    main(sys.argv[1:] or ["speed", "lm"])

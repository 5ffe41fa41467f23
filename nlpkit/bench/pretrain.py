"""The language model a benchmark's ``lm-lstm`` row fine-tunes, pretrained in the run.

A method whose ``lm`` parameter is :data:`RUN_LM` gets an LSTM LM that the run
trains itself, once per settings, in a worker process, as it trains its Word2Vec
vectors (:func:`nlpkit.bench.runner.prepare_vectors`). It is cached under
``OUT/lm/KEY/`` and reused by any later run with the same key: the run's vectors'
key (the prepared data, the unlabelled split, the seed) and the LM's settings.

What it reads: the prepared training split (train + the validation slice) and the
unlabelled split, never test. Its budget scales with the data as the other rows'
settings do (:data:`PRETRAIN`, small below :data:`~nlpkit.bench.methods.SMALL_TRAIN`
training records): ``reviews``, how many records it trains on (all the training
records, however many, then a seeded sample of the unlabelled ones up to it), and
``epochs``. ``valid`` unlabelled records (never trained on) give its validation
perplexity. Its embedding starts from the run's Word2Vec vectors (``init_vectors``),
which learnt from the same text.

``--set lm-lstm.lm_PARAM=VALUE`` sets one of them: ``lm_reviews``, ``lm_valid``,
``lm_init_vectors``, or any ``nlpkit lm train`` option (``lm_epochs``,
``lm_hidden``, ``lm_context``, ...), checked as that option; each is part of
the LM's key, and so of the row's resume key.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from pathlib import Path

RUN_LM = "run-lm"  # the value of a method's `lm` parameter that means "the LM this run pretrains"
PREFIX = "lm_"  # --set lm-lstm.lm_epochs=2: a setting of the pretraining, not of the classifier
BUDGET = ("reviews", "valid", "init_vectors")  # the pretraining's own settings (the rest are LMParams)

# The LM's settings and budget: an AWD-LSTM-style LM (2 layers, 256 hidden) with an adaptive softmax (3.8x
# the tokens/s of a full softmax here: docs/language-models.md), one epoch, batches of 16 windows of 64
# tokens (4x the optimizer steps of 32 x 128 for the same tokens: on the sample, validation perplexity
# 780 against 842). Small data (the embedded sample: 1,000 + 10,000 unlabelled reviews): 3,000 records,
# 0.73 million tokens, 90 s here (8,400 tokens/s). Full IMDb (25,000 + 50,000): 45,000 records, the 25,000
# training ones and 20,000 unlabelled, so that the LM reads the unlabelled reviews too (as ULMFiT's
# fine-tuned LM does): 10.55 million tokens, 1,490 s, perplexity 182, and lm-lstm 90.07 against bilstm
# 89.41 (p = 0.0002). A 20,000 budget was
# filled by the training records alone: perplexity 207 and a tie with bilstm (docs/language-models.md).
_LM = {"arch": "lstm", "tokenizer": "word", "vocab_size": 20000, "min_count": 2, "hidden": 256, "layers": 2,
       "context": 64, "adaptive_softmax": True, "lr": 3e-3, "batch_size": 16, "epochs": 1}
PRETRAIN = {
    "small": {**_LM, "reviews": 3_000, "valid": 200, "init_vectors": True},
    "full": {**_LM, "reviews": 45_000, "valid": 500, "init_vectors": True},
}


def wants_lm(settings) -> bool:
    """Whether a method's settings ask for the run's LM."""
    return settings.params.get("lm") == RUN_LM


def pretrain_settings(settings, n_train: int) -> dict:
    """The LM's settings for this data size, with the method's ``lm_*`` values (its --set) on top."""
    from nlpkit.bench.methods import SMALL_TRAIN

    chosen = dict(PRETRAIN["small" if n_train < SMALL_TRAIN else "full"])
    chosen.update({k[len(PREFIX):]: v for k, v in settings.params.items() if k.startswith(PREFIX)})
    return chosen


def classifier_settings(settings, lm: dict):
    """The method's settings as its model kind takes them: ``lm`` the pretrained directory, no ``lm_*``."""
    params = {k: v for k, v in settings.params.items() if not k.startswith(PREFIX)}
    return replace(settings, params={**params, "lm": lm["directory"]})


def prepare_lm(method, settings, options, data_info: dict, vectors: dict, device: str, out: Path, listener) -> dict:
    """The method's LM: kept from an earlier run with the same key, else pretrained now in a worker."""
    from nlpkit.bench.data import settings_key
    from nlpkit.bench.process import last_error, run_worker
    from nlpkit.errors import NlpkitError
    from nlpkit.files import read_cached_json, write_json

    n_train = data_info["counts"]["train"] + data_info["counts"]["valid"]
    chosen = pretrain_settings(settings, n_train)
    key = settings_key("lm", vectors["key"], chosen, options.seed)
    directory = out / "lm" / key
    info_path = directory / "bench-lm.json"
    kept = read_cached_json(info_path) if not options.force else None
    if kept is not None and kept.get("key") == key:
        return kept
    unsup = out / "data" / "unsup.jsonl.gz"
    if "unsup" in vectors["records"] and not unsup.is_file():
        raise NlpkitError(f"{unsup} is gone (the run's vectors were kept from an earlier run); run again with --force")
    name = f"{method.name}-lm"
    spec_path = out / "logs" / f"{name}.spec.json"
    write_json(spec_path, {"task": "lm", "settings": chosen, "seed": options.seed, "device": device,
                           "data_dir": str(out / "data"),
                           "unsup": str(unsup) if "unsup" in vectors["records"] else None,
                           "vectors": vectors, "directory": str(directory), "result": str(info_path), "key": key})
    listener.method_phase(name, "pretrain")
    rc, wall, log_path = run_worker(name, spec_path, out, options.seed, listener)
    if rc != 0 or not info_path.is_file():
        raise NlpkitError(f"pretraining {method.name}'s language model failed: "
                          f"{last_error(log_path) or f'exit code {rc}'} (see {log_path})")
    return json.loads(info_path.read_text())


# --------------------------------------------------------------------------- in the worker


def pretraining_records(data_dir: Path, unsup: Path | None, reviews: int, n_valid: int, seed: int
                        ) -> tuple[list[dict], list[dict], dict]:
    """(train, valid, counts): every training record (train + the validation slice), then a seeded sample
    of the unlabelled ones up to `reviews` in all; `n_valid` other unlabelled records to validate on.
    The test split is not opened."""
    from nlpkit.io import read_records
    from nlpkit.records import model_input

    labelled = {split: [model_input(r) for r in read_records(str(data_dir / f"{split}.jsonl.gz"))]
                for split in ("train", "valid")}
    unlabelled = [model_input(r) for r in read_records(str(unsup))] if unsup else []
    random.Random(seed).shuffle(unlabelled)
    held, rest = unlabelled[:n_valid], unlabelled[n_valid:]
    room = max(0, reviews - len(labelled["train"]) - len(labelled["valid"]))
    counts = {"train": len(labelled["train"]), "valid": len(labelled["valid"]), "unsup": min(room, len(rest))}
    train = labelled["train"] + labelled["valid"] + rest[:room]
    if not held:  # no unlabelled split: validate on a seeded slice of the training text instead
        from nlpkit.lm.corpus import split_corpus

        train, held = split_corpus(train, 0.05, seed)
    return train, held, counts


def train_lm(spec: dict, emit) -> dict:
    """Pretrain the LM a spec describes (``task: lm``) and save it; what it saw and how long it took."""
    from nlpkit.bench.worker import peak_rss_mb, vectors_sources
    from nlpkit.lm.model import LanguageModel

    chosen = dict(spec["settings"])
    budget = {name: chosen.pop(name) for name in BUDGET}
    emit("load")
    train, valid, counts = pretraining_records(Path(spec["data_dir"]), Path(spec["unsup"]) if spec["unsup"] else None,
                                               budget["reviews"], budget["valid"], spec["seed"])
    vectors = spec["vectors"]
    if budget["init_vectors"]:
        chosen["vectors"] = vectors["directory"]
    directory = Path(spec["directory"])
    model = LanguageModel(**{**chosen, "seed": spec["seed"], "device": spec["device"]})
    model.show_progress = True  # into logs/NAME.log: a line a minute (tail -f it) and one per epoch
    emit("pretrain")
    started = time.perf_counter()
    model.fit(train, valid)
    seconds = time.perf_counter() - started
    model.save(directory)
    history = model.history_
    return {
        "key": spec["key"], "directory": str(directory), "settings": spec["settings"], "params": model.get_params(),
        "budget": budget, "records": counts, "valid_records": len(valid), "tokens": model.train_tokens_,
        "epochs": len(history), "steps": history[-1]["step"] if history else 0,
        "valid_perplexity": round(min(r["valid_perplexity"] for r in history), 2) if valid else None,
        "tokens_per_s": history[-1]["tokens_per_s"] if history else None,
        "vocab_size": model.vocab_size_, "dim": model.shape_["dim"],
        "vectors": ({"directory": vectors["directory"], "found": getattr(model, "vectors_found_", 0),
                     "sources": vectors_sources(vectors), "dim": vectors["params"]["dim"]}
                    if budget["init_vectors"] else None),
        "seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def describe_lm(lm: dict) -> str:
    """What the row's note says of its LM: what it saw, its time, its validation perplexity."""
    seen = " + ".join(f"{lm['records'][split]:,} {split}" for split in ("train", "valid", "unsup") if lm["records"][split])
    line = (f"LM pretrained in the run on {seen} records ({lm['tokens']:,} tokens, never test), {lm['epochs']} "
            f"epoch(s) in {lm['seconds']:,.0f} s")
    if lm.get("valid_perplexity") is not None:
        line += f", validation perplexity {lm['valid_perplexity']:,.1f} on {lm['valid_records']:,} held-out records"
    if lm.get("vectors"):
        line += f"; its embedding started from the run's Word2Vec vectors ({lm['vectors']['found']:,} words)"
    return line


def run_method(spec: dict, emit) -> dict:
    """A method fine-tuned from the run's LM (``task: lm-method``): the usual row, with the LM in its note."""
    from nlpkit.bench.worker import run

    result = run(spec, emit)
    lm = spec["lm"]
    result["note"] += f"; {describe_lm(lm)}"
    result["lm"] = {k: lm[k] for k in ("key", "directory", "budget", "records", "tokens", "epochs", "seconds",
                                       "valid_perplexity", "vocab_size")}
    result["lm_seconds"] = lm["seconds"]  # pretrained once, before the row's own fit
    return result

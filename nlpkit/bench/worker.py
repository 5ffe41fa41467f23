"""One benchmark method in its own process: ``python -m nlpkit.bench.worker SPEC.json``.

A fresh process per method keeps the figures honest: its peak memory is its
own, one method's threads or leaks do not slow the next, and a crash costs one
row of the table. The worker trains through the model registry (the code path
of ``nlpkit train``), touches the test split once, saves the model directory and
writes its result file. Progress goes to the parent as JSON lines on the
original stdout; everything else the libraries print goes to stderr (a log file).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * scale / 1e6


def count_weights(model, directory: Path) -> int | None:
    """How many numbers the trained model holds: its own count if it has one, else its weight files'."""
    counter = getattr(model, "n_parameters", None)
    if callable(counter):
        return int(counter())
    total, found = 0, False
    for path in directory.rglob("*"):
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                total += sum(arrays[name].size for name in arrays.files)
            found = True
        elif path.suffix == ".safetensors":
            total += _safetensors_numel(path)
            found = True
    return total if found else None


def _safetensors_numel(path: Path) -> int:
    # the header is 8 bytes of little-endian length, then JSON with each tensor's shape
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
    return sum(int(np.prod(t["shape"])) for name, t in header.items() if name != "__metadata__")


def learning_curve(model, directory: Path) -> list[dict] | None:
    """Per-epoch metrics of a neural model: its ``history_``, else the model directory's metrics.jsonl."""
    history = getattr(model, "history_", None)
    if history:
        return [dict(row) for row in history]
    log = directory / "metrics.jsonl"
    if log.is_file():
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return None


def import_libraries(kind: str) -> None:
    """Import the kind's libraries (its ``libraries`` distributions) before the clock starts:
    train time should measure training, not the first import of scikit-learn or torch."""
    import importlib
    from importlib.metadata import packages_distributions

    from nlpkit.models.base import model_class

    wanted = set(getattr(model_class(kind), "libraries", ()))
    for module, distributions in packages_distributions().items():
        if wanted & set(distributions) and not module.startswith("_"):
            try:
                importlib.import_module(module)
            except Exception:  # a library that fails to import fails in fit, where it is reported
                pass


def train_vectors(spec: dict, emit) -> dict:
    """The run's Word2Vec vectors (nlpkit's own trainer) on train + validation text and the unlabelled split."""
    from nlpkit.embeddings.corpus import temporary_corpus
    from nlpkit.embeddings.vectors import save_vectors
    from nlpkit.embeddings.word2vec import Word2VecParams, train_word2vec
    from nlpkit.io import read_records

    data_dir = Path(spec["data_dir"])
    emit("load")
    sources = [data_dir / "train.jsonl.gz", data_dir / "valid.jsonl.gz"] + ([Path(spec["unsup"])] if spec["unsup"] else [])
    counts = {path.name.split(".")[0]: 0 for path in sources}

    def texts():
        for path in sources:
            for record in read_records(str(path)):
                counts[path.name.split(".")[0]] += 1
                yield "train", record

    params = Word2VecParams(**{"seed": spec["seed"], **spec["params"]})
    directory = Path(spec["directory"])
    emit("word2vec")
    started = time.perf_counter()
    with temporary_corpus(texts(), directory=str(directory.parent.parent)) as (corpus, _):
        model = train_word2vec(corpus, params)
    seconds = time.perf_counter() - started
    save_vectors(model.wv, directory, format="word2vec-binary", params=params.as_dict())
    return {"key": spec["key"], "directory": str(directory), "params": params.as_dict(), "records": counts,
            "unlabelled_source": spec.get("unlabelled_source"), "words": len(model.wv),
            "seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def vectors_sources(vectors: dict) -> str:
    """ "360 train + 40 valid + 300 unsup": what the run's vectors learnt from, in that order."""
    return " + ".join(f"{vectors['records'][split]:,} {split}" for split in ("train", "valid", "unsup")
                      if split in vectors["records"])


def describe_training(settings: dict, sizes: dict, n_fit: int, n_test: int, validated: bool, refit: bool) -> str:
    """What the row really trained and tested on, from the counts it used (never from the settings' intent)."""
    available = sizes["train"] + sizes["valid"]
    if refit:
        trained = f"trained on {n_fit:,} of the {available:,} training records"
        how = ("; settings scored on the validation slice first, then refit on train + validation" if validated
               else "; one fit on train + validation (no validation score)")
    else:
        trained, how = f"trained on {n_fit:,} records, validated on {sizes['valid']:,}", ""
    subset = " (a balanced seeded subset)" if n_fit < available and refit else ""
    tested = f"tested on {n_test:,} of the {sizes['test']:,} test records"
    tested += " (a balanced seeded subset)" if n_test < sizes["test"] else ""
    return f"{trained}{subset}{how}; {tested}"


def run(spec: dict, emit) -> dict:
    from nlpkit.bench.data import balanced_subset
    from nlpkit.io import read_records
    from nlpkit.models.evaluation import classification_metrics
    from nlpkit.models.training import Dataset, kind_parameters, save_trained, train_model
    from nlpkit.records import model_input

    seed = spec["seed"]
    settings = spec["settings"]
    data_dir = Path(spec["data_dir"])
    emit("load")
    records = {name: list(read_records(str(data_dir / f"{name}.jsonl.gz"))) for name in ("train", "valid", "test")}
    sizes = {name: len(rs) for name, rs in records.items()}

    def dataset(name: str, rows: list[dict], limit: int | None) -> Dataset:
        rows = balanced_subset(rows, limit, seed)
        return Dataset(name, [model_input(r) for r in rows], [r["label"] for r in rows])

    params = dict(spec["params"])
    if spec.get("device") and "device" in kind_parameters(spec["kind"]):
        params.setdefault("device", spec["device"])
    import_libraries(spec["kind"])
    memory_before = peak_rss_mb()
    on_phase = (lambda message: emit(message.split(" on ")[0]))
    # progress=True: a neural kind's training loop writes a line a minute and one per epoch to stderr,
    # which is this step's logs/NAME.log
    validated = None
    if settings.get("validate", True):
        emit("train")
        # the code path of `nlpkit train`: build the kind from the registry, fit, score on validation
        validated = train_model(spec["kind"], params, dataset("train", records["train"], settings.get("train_limit")),
                                dataset("valid", records["valid"], settings.get("valid_limit")), seed=seed,
                                on_phase=on_phase, progress=True)
    trained = validated
    if settings.get("refit", True) or validated is None:
        # the published protocol: the chosen settings fit again on the whole training split
        emit("refit" if validated is not None else "train")
        everything = dataset("train+valid", records["train"] + records["valid"], settings.get("train_limit"))
        trained = train_model(spec["kind"], params, everything, None, seed=seed, valid_fraction=0, on_phase=on_phase,
                              progress=True)
    model = trained.model
    if trained is not validated and validated is not None:
        # the calibrator fitted on the validation split's predictions of the validated fit serves the refit
        # (scikit-learn's CalibratedClassifierCV with ensemble=False does the same over k folds)
        model.calibration_ = validated.model.calibration_
    test = dataset("test", records["test"], settings.get("test_limit"))

    emit("predict")  # the one time this method touches the test split
    started = time.perf_counter()
    raw = np.asarray(model.predict_proba(test.records, calibrated=False), dtype=np.float64)
    probs = model.calibration_.apply(raw) if model.calibration_ is not None else raw
    predict_seconds = time.perf_counter() - started
    predictions = [model.labels_[i] for i in probs.argmax(axis=1)]
    metrics = classification_metrics(test.labels, predictions, model.labels_)
    calibration = calibration_report(model, raw, probs, test.labels)

    emit("save")
    model_dir = Path(spec["model_dir"])
    save_trained(trained, model_dir, seed=seed)
    vectors = spec.get("vectors")
    note = describe_training(settings, sizes, trained.n_train, len(test), validated is not None,
                             trained is not validated)
    note += "; " + differs_from_defaults(spec["kind"], spec["params"])
    if vectors:
        note += (f"; embeddings from the run's Word2Vec vectors ({vectors['params']['dim']}d, trained once in "
                 f"{vectors['seconds']:,.0f} s on {vectors_sources(vectors)} records)")
    return {
        "method": spec["method"],
        "kind": spec["kind"],
        "status": "done",
        "run_key": spec["run_key"],
        "params": model.get_params(),
        "device": str(getattr(model, "device_", None) or params.get("device") or "cpu"),
        "n_train": trained.n_train,
        "n_valid": validated.n_valid if validated is not None else 0,
        "n_test": len(test),
        "refit": trained is not validated,
        "note": note,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "valid_accuracy": validated.metrics.get("accuracy") if validated is not None else None,
        "test": metrics,
        **calibration,
        "train_seconds": round(trained.fit_seconds, 3),  # the fit of the model that was tested
        "valid_fit_seconds": round(validated.fit_seconds, 3) if validated is not None and trained is not validated else None,
        "vectors_seconds": vectors["seconds"] if vectors else None,  # trained once, shared by the rows using them
        "predict_seconds": round(predict_seconds, 3),
        "docs_per_second": round(len(test) / predict_seconds, 1) if predict_seconds > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_fit_mb": round(memory_before, 1),
        "n_weights": count_weights(model, model_dir),
        "history": learning_curve(model, model_dir),
        "model_dir": str(model_dir),
        "data_fingerprint": trained.fingerprint,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def differs_from_defaults(kind: str, params: dict) -> str:
    """What the row sets beyond the kind's own defaults (the validated settings), for its note."""
    from nlpkit.models.training import kind_parameters

    defaults = {name: p.default for name, p in kind_parameters(kind).items()}
    changed = {name: value for name, value in params.items()
               if json.dumps(defaults.get(name, ...), default=str) != json.dumps(value, default=str)}
    if not changed:
        return "the kind's default settings"
    return "beyond the kind's defaults: " + ", ".join(f"{name}={value}" for name, value in changed.items())


def calibration_report(model, raw, probs, labels) -> dict:
    """The row's ECE, Brier score and log-loss on test, before and after its calibrator, and the
    reliability bins of both (the report's reliability diagram)."""
    from nlpkit.models.evaluation import classification_metrics, probability_metrics, reliability_bins

    index = {label: i for i, label in enumerate(model.labels_)}
    y = [index[label] for label in labels]
    after, before = probability_metrics(probs, y), probability_metrics(raw, y)
    raw_accuracy = classification_metrics(labels, [model.labels_[i] for i in raw.argmax(axis=1)], model.labels_)["accuracy"]
    calibrator = model.calibration_
    return {
        "calibration": calibrator.method if calibrator is not None else "none",
        "ece": after["ece"], "brier": after["brier"], "log_loss": after["log_loss"],
        "uncalibrated": {**before, "accuracy": raw_accuracy},
        "reliability": reliability_bins(probs, y),
        "reliability_uncalibrated": reliability_bins(raw, y),
    }


# what a spec's ``task`` runs, besides a method's row (run): the run's LM and a row fine-tuned from it
# live in nlpkit.bench.pretrain, named as "module:attribute" because that module uses this one's helpers
TASKS = {"lm": "nlpkit.bench.pretrain:train_lm", "lm-method": "nlpkit.bench.pretrain:run_method"}


def task_function(task: str | None):
    """What a spec's ``task`` runs: a method's row (``method``), the run's vectors, or one of :data:`TASKS`."""
    import importlib

    if task == "vectors":
        return train_vectors
    if task in TASKS:
        module, _, attribute = TASKS[task].partition(":")
        return getattr(importlib.import_module(module), attribute)
    return run


def main(argv: list[str]) -> int:
    import signal

    from nlpkit.files import write_json

    # the parent's terminate() (Ctrl-C, SIGTERM) unwinds like an exception, so temporary files go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    spec = json.loads(Path(argv[0]).read_text())
    # Progress lines go to the parent on the original stdout; anything a library prints
    # (to Python's stdout or straight to file descriptor 1) lands in the log with stderr.
    events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(phase: str) -> None:
        events.write(json.dumps({"phase": phase, "time": time.time()}) + "\n")

    result = task_function(spec.get("task"))(spec, emit)
    write_json(Path(spec["result"]), result)
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

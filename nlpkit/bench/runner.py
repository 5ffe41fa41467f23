"""`nlpkit bench imdb|corpus`: prepare the data once, run each method in its own process, keep what finished.

Layout of ``--out``::

    data/               the prepared splits (train, valid, test; unsup when vectors are trained) and data.json
    vectors/KEY/        the run's Word2Vec vectors (train + unlabelled text), trained once for every method using them
    lm/KEY/             the language model lm-lstm fine-tunes, pretrained once per settings (nlpkit.bench.pretrain)
    methods/NAME.json   one finished method's figures (kept between runs)
    models/NAME/        its saved model directory (usable with `nlpkit predict`)
    logs/NAME.log       what its process printed
    results.json, report.md, report.html

A finished method is skipped on the next run when its settings (data, seed,
parameters with the user's ``--set`` values, vectors, device, subset sizes) are
the same, unless ``force``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from nlpkit.bench import data as bench_data
from nlpkit.bench import pretrain
from nlpkit.bench import references as bench_references
from nlpkit.bench.methods import Method, registered, select, vectors_settings
from nlpkit.bench.process import last_error, run_worker, step_row
from nlpkit.errors import NlpkitError
from nlpkit.files import read_cached_json


@dataclass
class BenchOptions:
    out: Path
    data: str | None = None  # a corpus directory
    methods: str | None = None
    limit: int | None = None
    device: str = "auto"
    seed: int = 0
    force: bool = False
    # `bench corpus`: the corpus's name (its references, its full sizes), or explicit split files
    corpus: str | None = "imdb"
    train: str | None = None
    test: str | None = None
    unlabelled: str | None = None
    # --set METHOD.PARAM=VALUE, already checked: method -> {param: value}
    overrides: dict[str, dict] = field(default_factory=dict)


class Listener:
    """What the runner tells its user interface; the default says nothing."""

    def notice(self, message: str) -> None: ...
    def start(self, methods: list[Method]) -> None: ...
    def method_phase(self, name: str, phase: str) -> None: ...
    def method_done(self, name: str, result: dict) -> None: ...


def run_imdb(options: BenchOptions, listener: Listener | None = None) -> dict:
    """The IMDb preset: the corpus found by :func:`nlpkit.corpora.resolve` (or ``--data``)."""
    from nlpkit.corpora import resolve

    return run_bench(replace(options, corpus="imdb"), resolve("imdb", options.data), listener)


def run_bench(options: BenchOptions, source, listener: Listener | None = None) -> dict:
    """Every selected method on the corpus at `source` (a :class:`nlpkit.corpora.DataSource`)."""
    from nlpkit.files import write_json

    listener = listener or Listener()
    started = time.perf_counter()
    try:
        methods = select(options.methods)
    except ValueError as e:
        raise NlpkitError(str(e)) from None
    out = Path(options.out)
    for sub in ("data", "methods", "models", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    if source.notice:
        listener.notice(source.notice)
    device = resolve_device(options.device)
    device_type = device.split(":")[0]
    data_info = prepare_data(source, options, listener)
    n_train = data_info["counts"]["train"] + data_info["counts"]["valid"]
    wanted = {m.name: m.settings(device_type, n_train, options.overrides.get(m.name)) for m in methods}

    vectors = None
    if any(wanted[m.name].uses_vectors or pretrain.wants_lm(wanted[m.name]) for m in methods if registered(m)):
        listener.method_phase("vectors", "word2vec")
        vectors = prepare_vectors(source, options, data_info, out, listener)
    lms = {m.name: pretrain.prepare_lm(m, wanted[m.name], options, data_info, vectors, device, out, listener)
           for m in methods if registered(m) and pretrain.wants_lm(wanted[m.name])}

    listener.start(methods)
    rows = []
    for method in methods:
        rows.append(run_method(method, wanted[method.name], options, data_info, vectors, device, out, listener,
                               lms.get(method.name)))
        listener.method_done(method.name, rows[-1])

    corpus_refs = bench_references.for_corpus(options.corpus)
    ceiling = bench_references.ceiling(options.corpus)
    results = {
        "benchmark": options.corpus or "corpus",
        "corpus": options.corpus,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["nlpkit", *sys.argv[1:]]) if sys.argv and "nlpkit" in sys.argv[0] else None,
        "seed": options.seed,
        "device": {"requested": options.device, "used": device},
        "data": data_info,
        "preprocessing": {"steps": bench_data.PREPROCESSING, "description": bench_data.describe_preprocessing()},
        "references": {key: ref.as_dict() for key, ref in corpus_refs.items()},
        "ceiling": ceiling.key if ceiling else None,
        "overrides": options.overrides,
        "vectors": vectors,
        "lm": lms or None,
        "hardware": hardware(device),
        "versions": versions(),
        "methods": rows,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "method_seconds": round(sum(r.get("wall_seconds") or 0 for r in rows if r.get("status") == "done"), 1),
    }
    write_json(out / "results.json", results)
    from nlpkit.bench.report import write_reports

    write_reports(results, out)
    return results


# --------------------------------------------------------------------------- data


def raw_splits(source, options: BenchOptions) -> dict[str, list[dict]]:
    """The labelled train and test records: explicit files (`bench corpus --train/--test`) or the corpus directory's."""
    if options.train:
        return {split: bench_data.load_file(path) for split, path in (("train", options.train), ("test", options.test))}
    return {split: bench_data.load_split(source.path, split) for split in ("train", "test")}


def unlabelled_path(source, options: BenchOptions) -> Path | None:
    """Unlabelled text for the run's vectors: --unlabelled, else the corpus directory's unsup split."""
    from nlpkit.corpora import split_path

    if options.unlabelled:
        return Path(options.unlabelled)
    return split_path(source.path, "unsup") if not options.train else None


def prepare_data(source, options: BenchOptions, listener: Listener) -> dict:
    """Load, subset, slice validation and preprocess once; reuse the prepared files when settings match."""
    from nlpkit.corpora import KNOWN
    from nlpkit.files import write_json
    from nlpkit.io import write_records
    from nlpkit.modeldir import fingerprint

    out = Path(options.out) / "data"
    raw = raw_splits(source, options)
    prints = {split: fingerprint(records, [r["label"] for r in records]) for split, records in raw.items()}
    key = bench_data.settings_key(prints, options.limit, options.seed, bench_data.VALID_FRACTION,
                                  bench_data.PREPROCESSING)
    info_path = out / "data.json"
    info = read_cached_json(info_path)  # a damaged data.json is prepared again
    if info is not None:
        if info.get("key") == key and all((out / f"{s}.jsonl.gz").is_file() for s in ("train", "valid", "test")):
            return info
    where = f"{options.train} and {options.test}" if options.train else source.path
    listener.notice(f"preparing data from {where} ({bench_data.describe_preprocessing()})")
    train = bench_data.balanced_subset(raw["train"], options.limit, options.seed)
    test = bench_data.balanced_subset(raw["test"], options.limit, options.seed)
    train, valid = bench_data.split_validation(train, bench_data.VALID_FRACTION, options.seed)
    counts = {}
    for split, records in (("train", train), ("valid", valid), ("test", test)):
        write_records(bench_data.preprocess(records), str(out / f"{split}.jsonl.gz"))
        counts[split] = len(records)
    full = KNOWN[options.corpus].counts if options.corpus in KNOWN else {}
    comparable = (bool(full) and not source.is_sample and options.limit is None
                  and all(len(raw[split]) == full.get(split) for split in ("train", "test")))
    info = {
        "key": key,
        "corpus": options.corpus,
        "name": options.corpus or (Path(options.train).parent if options.train else Path(source.path)).resolve().name,
        "path": str(where),
        "origin": source.origin,
        "notice": source.notice,
        "comparable": comparable,
        "limit": options.limit,
        "valid_fraction": bench_data.VALID_FRACTION,
        "fingerprints": prints,
        "source_sizes": {split: len(records) for split, records in raw.items()},
        "counts": counts,
        "labels": sorted({r["label"] for r in raw["train"]}),
    }
    write_json(info_path, info)
    return info


def prepare_vectors(source, options: BenchOptions, data_info: dict, out: Path, listener: Listener) -> dict:
    """Word2Vec on the training text (train + validation slice) plus the unlabelled split, once per settings.

    The test split is never read. Runs in a worker process like a method; its
    directory is handed to every method whose ``vectors`` is RUN_VECTORS.
    """
    from nlpkit.files import write_json
    from nlpkit.io import write_records

    unlabelled = unlabelled_path(source, options)
    n_train = data_info["counts"]["train"] + data_info["counts"]["valid"]
    params = vectors_settings(n_train)
    unsup_print = None
    if unlabelled is not None:
        from nlpkit.modeldir import fingerprint

        unsup_records = list(bench_data.load_unlabelled(unlabelled))
        unsup_print = fingerprint(unsup_records)
    key = bench_data.settings_key(data_info["key"], unsup_print, params, options.seed)
    directory = out / "vectors" / key
    info_path = directory / "bench-vectors.json"
    kept = read_cached_json(info_path) if not options.force else None
    if kept is not None:
        return kept
    unsup_file = out / "data" / "unsup.jsonl.gz"
    if unlabelled is not None:
        listener.notice(f"preparing {len(unsup_records):,} unlabelled records from {unlabelled} for the run's vectors")
        write_records(bench_data.preprocess(unsup_records), str(unsup_file))
    spec_path = out / "logs" / "vectors.spec.json"
    write_json(spec_path, {"task": "vectors", "params": params, "seed": options.seed, "data_dir": str(out / "data"),
                           "unsup": str(unsup_file) if unlabelled is not None else None,
                           "directory": str(directory), "result": str(info_path), "key": key,
                           "unlabelled_source": str(unlabelled) if unlabelled is not None else None})
    rc, wall, log_path = run_worker("vectors", spec_path, out, options.seed, listener)
    if rc != 0 or not info_path.is_file():
        raise NlpkitError(f"training the run's word vectors failed: {last_error(log_path) or f'exit code {rc}'} "
                          f"(see {log_path})")
    return json.loads(info_path.read_text())


# --------------------------------------------------------------------------- methods


def run_method(method: Method, settings, options: BenchOptions, data_info: dict, vectors: dict | None, device: str,
               out: Path, listener: Listener, lm: dict | None = None) -> dict:
    from nlpkit.files import write_json

    refs = bench_references.for_row(options.corpus, method.anchor)
    base = {"method": method.name, "kind": method.kind, "family": method.family, "anchor": method.anchor,
            "description": method.description, "references": [r.key for r in refs],
            "overrides": options.overrides.get(method.name, {})}
    if not registered(method):
        return {**base, "status": "unavailable", "error": f"model kind {method.kind!r} is not in this nlpkit yet"}
    run_key = bench_data.settings_key(data_info["key"], method.name, method.kind, settings.__dict__,
                                      vectors["key"] if settings.uses_vectors else None,
                                      device if method.neural else "cpu", options.seed, *([lm["key"]] if lm else []))
    if lm is not None:  # the LM this run pretrained (its settings are in lm["key"])
        settings = pretrain.classifier_settings(settings, lm)
    params = dict(settings.params)
    if settings.uses_vectors:
        params["vectors"] = vectors["directory"]
    result_path = out / "methods" / f"{method.name}.json"
    kept = read_cached_json(result_path) if not options.force else None
    if kept is not None:
        if kept.get("run_key") == run_key and kept.get("status") == "done":
            return {**kept, **base, "kept": True}
    spec_path = out / "logs" / f"{method.name}.spec.json"
    write_json(spec_path, {
        "task": "lm-method" if lm else "method", "lm": lm, "method": method.name, "kind": method.kind, "params": params,
        "settings": {k: v for k, v in settings.__dict__.items() if k != "params"},
        "vectors": vectors if settings.uses_vectors else None,
        "seed": options.seed, "device": device if method.neural else None,
        "data_dir": str(out / "data"), "model_dir": str(out / "models" / method.name),
        "result": str(result_path), "run_key": run_key,
    })
    result_path.unlink(missing_ok=True)
    rc, wall, log_path = run_worker(method.name, spec_path, out, options.seed, listener)
    return step_row(base, rc, wall, log_path, result_path)


# --------------------------------------------------------------------------- environment


def resolve_device(spec: str) -> str:
    from nlpkit.device import resolve_device as resolve

    return str(resolve(spec))


def hardware(device: str) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def versions() -> dict:
    from nlpkit.files import library_versions

    return library_versions("scikit-learn", "scipy", "torch", "transformers", "gensim", "fasttext-modern",
                            "nltk", "matplotlib")

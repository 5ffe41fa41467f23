"""The linguistic benchmarks' common part: engines, data, one process per engine, resuming.

`nlpkit bench ud` and `nlpkit bench ner` (:mod:`nlpkit.bench.ud`,
:mod:`nlpkit.bench.ner`) each name a gold file and a function that runs one
engine over it. This module finds the data (``--data``, else the cache, else
``../shared/corpora`` beside the checkout, else a download from the
treebank's release), runs every engine in a fresh process
(``python -m nlpkit.bench.engines SPEC.json``: its speed and memory are its
own, a crash costs one row), keeps finished engines between runs, and writes
``results.json``, ``report.md`` and ``report.html``. Layout of ``--out``::

    engines/NAME.json   one finished engine's figures (kept between runs)
    predictions/        what each engine predicted (CoNLL-U, JSONL), for evaluate-conllu/-ner
    logs/NAME.log       what its process printed
    results.json, report.md, report.html
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nlpkit.errors import InputError, ResourceMissing, UsageError
from nlpkit.files import read_cached_json


# --------------------------------------------------------------------------- engines


@dataclass(frozen=True)
class Engine:
    name: str
    library: str  # "spacy" or "nltk"
    description: str
    model: Callable[[], str | None] = field(default=lambda: None, compare=False)  # raises ResourceMissing


def _spacy_sm() -> str:
    from nlpkit.resources import spacy_model_name

    return spacy_model_name()


def _spacy_md() -> str:
    from nlpkit.resources import spacy_english_md

    return spacy_english_md()


ENGINES = {e.name: e for e in [
    Engine("spacy-sm", "spacy", "spaCy en_core_web_sm 3.8 (CNN, OntoNotes 5 + ClearNLP dependencies)", _spacy_sm),
    Engine("spacy-md", "spacy", "spaCy en_core_web_md 3.8 (CNN + 300d vectors, same training data)", _spacy_md),
    Engine("nltk", "nltk", "NLTK: punkt sentences, Treebank words, averaged perceptron tags, WordNet lemmas"),
]}


def select_engines(names: str | None) -> list[Engine]:
    if not names:
        return list(ENGINES.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in ENGINES]
    if unknown:
        raise UsageError(f"--engines: unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    return [e for e in ENGINES.values() if e.name in wanted]


def spacy_meta(model: str) -> dict:
    """name, version and spaCy's own published accuracies (meta.json "performance") of a pipeline."""
    import spacy

    meta = spacy.util.get_model_meta(spacy.util.get_package_path(model) if not Path(model).exists() else Path(model))
    return {"name": f"{meta.get('lang')}_{meta.get('name')}", "version": meta.get("version"),
            "performance": meta.get("performance") or {}, "sources": meta.get("sources") or []}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Dataset:
    """A gold file nlpkit knows: where it lives beside the checkout and where its release is."""

    name: str  # folder under corpora/ (shared and cache)
    shared: dict[str, str]  # split -> file name in ../shared/corpora/NAME
    released: dict[str, str]  # split -> file name in the release (and in the cache)
    url: str  # a template with {file}
    md5: dict[str, str]  # split -> md5 of the released file, where the shared copy is verbatim
    description: str


@dataclass
class DataSource:
    path: Path
    origin: str  # "--data", "cache", "shared", "download"
    split: str | None
    notice: str | None = None


def resolve_data(dataset: Dataset, data: str | None, split: str, progress=None) -> DataSource:
    """`data`, else the cache, else ../shared/corpora/NAME, else a download of the release file to the cache."""
    from nlpkit.download import download
    from nlpkit.resources import cache_corpus_dir, shared_corpus_dir

    if data is not None:
        path = Path(data)
        if not path.is_file():
            raise InputError(str(path), "no such file")
        return DataSource(path, "--data", None)
    if split not in dataset.released:
        raise UsageError(f"--split must be one of {', '.join(dataset.released)}")
    cached = cache_corpus_dir(dataset.name) / dataset.released[split]
    if cached.is_file():
        return DataSource(cached, "cache", split)
    shared = shared_corpus_dir(dataset.name) / dataset.shared[split] if split in dataset.shared else None
    if shared is not None and shared.is_file():
        return DataSource(shared, "shared", split)
    url = dataset.url.format(file=dataset.released[split])
    dest = cached
    download(url, dest, md5=dataset.md5.get(split), progress=progress)
    return DataSource(dest, "download", split, f"downloaded {url} to {dest}")


def file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- running


@dataclass
class EngineOptions:
    out: Path
    data: str | None = None
    split: str = "dev"
    engines: str | None = None
    limit: int | None = None  # the first N sentences only
    force: bool = False


class Listener:
    """What the runner tells its user interface; the default says nothing."""

    def notice(self, message: str) -> None: ...
    def start(self, engines: list[Engine]) -> None: ...
    def engine_phase(self, name: str, phase: str) -> None: ...
    def engine_done(self, name: str, result: dict) -> None: ...


@dataclass(frozen=True)
class Benchmark:
    name: str  # "ud", "ner"
    dataset: Dataset
    entry: str  # "module:function" run in the engine's process: f(spec, emit) -> result dict
    describe_data: Callable[[Path, int | None], dict]  # sentences, words... of the gold file
    references: dict = field(default_factory=dict)
    # sections the report prints after the tables: [(heading, paragraph), ...]
    explanations: list = field(default_factory=list)
    # why an engine cannot run this benchmark here (missing data), or None
    unavailable: Callable[[Engine], str | None] = lambda engine: None


def run_benchmark(bench: Benchmark, options: EngineOptions, listener: Listener | None = None) -> dict:
    from nlpkit.bench.runner import hardware
    from nlpkit.files import library_versions, write_json

    listener = listener or Listener()
    started = time.perf_counter()
    engines = select_engines(options.engines)
    out = Path(options.out)
    for sub in ("engines", "logs", "predictions"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    source = resolve_data(bench.dataset, options.data, options.split)
    if source.notice:
        listener.notice(source.notice)
    data_info = {"path": str(source.path), "origin": source.origin, "split": source.split,
                 "sha256": file_sha256(source.path), "limit": options.limit,
                 **bench.describe_data(source.path, options.limit)}
    listener.start(engines)
    rows = []
    for engine in engines:
        rows.append(run_engine(bench, engine, data_info, out, options.force, listener))
        listener.engine_done(engine.name, rows[-1])
    results = {
        "benchmark": bench.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["nlpkit", *sys.argv[1:]]) if sys.argv and "nlpkit" in sys.argv[0] else None,
        "data": data_info,
        "dataset": bench.dataset.description,
        "references": bench.references,
        "explanations": [list(section) for section in bench.explanations],
        "hardware": hardware("cpu"),
        "versions": library_versions("spacy", "nltk", "matplotlib"),
        "engines": rows,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    write_json(out / "results.json", results)
    from nlpkit.bench.linguistic_report import write_reports

    write_reports(results, out)
    return results


def run_engine(bench: Benchmark, engine: Engine, data_info: dict, out: Path, force: bool, listener: Listener) -> dict:
    from nlpkit.bench.data import settings_key
    from nlpkit.files import write_json

    base = {"engine": engine.name, "library": engine.library, "description": engine.description}
    try:
        model = engine.model()
    except ResourceMissing as e:
        return {**base, "status": "unavailable", "error": str(e)}
    missing = bench.unavailable(engine)
    if missing:
        return {**base, "status": "unavailable", "error": missing}
    from nlpkit import __version__

    run_key = settings_key(bench.name, data_info["sha256"], data_info["limit"], engine.name, model, __version__)
    result_path = out / "engines" / f"{engine.name}.json"
    kept = read_cached_json(result_path) if not force else None  # a damaged result is run again
    if kept is not None:
        if kept.get("run_key") == run_key and kept.get("status") == "done":
            return {**kept, **base, "kept": True}
    result_path.unlink(missing_ok=True)
    spec_path = out / "logs" / f"{engine.name}.spec.json"
    write_json(spec_path, {"entry": bench.entry, "engine": engine.name, "library": engine.library, "model": model,
                           "data": data_info["path"], "limit": data_info["limit"], "result": str(result_path),
                           "predictions": str(out / "predictions"), "run_key": run_key})
    log_path = out / "logs" / f"{engine.name}.log"
    started = time.perf_counter()
    rc = run_worker(spec_path, log_path, lambda phase: listener.engine_phase(engine.name, phase))
    wall = round(time.perf_counter() - started, 1)
    from nlpkit.bench.process import step_row

    return step_row(base, rc, wall, log_path, result_path)


def run_worker(spec_path: Path, log_path: Path, on_phase: Callable[[str], None]) -> int:
    """`python -m nlpkit.bench.engines SPEC`, one thread for the libraries that would take every core."""
    from nlpkit.bench.process import run_module

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return run_module("nlpkit.bench.engines", spec_path, log_path, env, on_phase)


def timed(function, *args):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main(argv: list[str]) -> int:
    from nlpkit.bench.worker import peak_rss_mb
    from nlpkit.files import write_json

    spec = json.loads(Path(argv[0]).read_text())
    events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what libraries print goes to the log, not into the phase stream
    sys.stdout = sys.stderr

    def emit(phase: str) -> None:
        events.write(json.dumps({"phase": phase, "time": time.time()}) + "\n")

    module, function = spec["entry"].split(":")
    load_before = os.getloadavg()[0]
    result = getattr(importlib.import_module(module), function)(spec, emit)
    # the machine's 1-minute load average before and after: words/s on a shared machine needs it beside them
    result.update(status="done", run_key=spec["run_key"], model=spec["model"], peak_rss_mb=round(peak_rss_mb(), 1),
                  load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
                  finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    write_json(Path(spec["result"]), result)
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``nlpkit bench speed``: words per second of each stage and engine, as ``spacy benchmark speed`` measures.

For each case (a stage from :mod:`nlpkit.stages` with one engine), in this process:
build it and load its models (timed apart, as ``setup_seconds``), one warm-up pass
over the data (first-call allocations, lazy loads), then ``runs`` timed passes in the
stage's own batch size. Every stage reads the same raw records, and the words are the
same for all: the whitespace-separated words of each text, so the figures compare.
A run is at least ``MIN_RUN_SECONDS`` long (a fast stage makes several passes in
it). A run's words/s is words / seconds; the table gives their mean and a 95% confidence
interval of the mean (Student's t over the runs).

Writes OUT/results.json, OUT/report.md and OUT/report.html (the report family of
the other benchmarks: :mod:`nlpkit.bench.linguistic_report`'s tables).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from nlpkit.errors import NlpkitError


MIN_RUN_SECONDS = 0.5


@dataclass(frozen=True)
class SpeedCase:
    stage: str
    engine: str | None = None  # the value of `option`, None: the stage's only way
    option: str | None = None  # the stage's option that picks the engine (engine, algorithm)

    @property
    def label(self) -> str:
        return self.stage if self.engine is None else f"{self.stage} --{self.option} {self.engine}"


DEFAULT_STAGES = "clean,tokenize,stopwords,stem,lemmatize,tag"
# the parameter of a stage that picks its library or algorithm
ENGINE_PARAMS = ("engine", "algorithm")


def parse_stages(text: str) -> list[SpeedCase]:
    """``"clean,tokenize:regex,stem"`` -> one SpeedCase per stage and engine, each engine of a stage given alone.

    A stage's engines are the choices its declaration gives its engine parameter.
    """
    from nlpkit.errors import UsageError

    cases = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        stage, _, engine = item.partition(":")
        option, choices = engine_choices(stage)
        if engine and option is None:
            raise UsageError(f"{stage} has no engines to choose from; write it as {stage}")
        if engine and engine not in choices:
            raise UsageError(f"{stage} has no engine {engine!r} (choose from {', '.join(choices)})")
        cases += [SpeedCase(stage, e, option) for e in ([engine] if engine else choices)] if option else [SpeedCase(stage)]
    if not cases:
        raise UsageError("name at least one stage")
    return cases


def engine_choices(stage: str) -> tuple[str | None, list[str]]:
    """The parameter of the stage that picks its engine, and the engines it offers."""
    from nlpkit.errors import UsageError
    from nlpkit.params import declared
    from nlpkit.stages import STAGES, stage_options

    if stage not in STAGES or " " in stage:
        raise UsageError(f"no record stage {stage!r} (known: {', '.join(sorted(s for s in STAGES if ' ' not in s))})")
    for declaration in declared(stage_options(stage)):
        if declaration.name in ENGINE_PARAMS and declaration.choices:
            return declaration.name, [str(c) for c in declaration.choices]
    return None, []


@dataclass
class SpeedOptions:
    cases: list[SpeedCase]
    records: list[dict]
    data: str
    runs: int = 5
    out: Path = Path("bench-out/speed")
    field_name: str = "text"
    notes: list[str] = field(default_factory=list)


def count_words(records: list[dict], field_name: str = "text") -> int:
    return sum(len(r.get(field_name, "").split()) for r in records)


def mean_ci95(values: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval of the mean (one value: no interval)."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, mean, mean
    from scipy import stats

    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def measure_case(case: SpeedCase, records: list[dict], runs: int, field_name: str = "text", on_run=None,
                 min_run_seconds: float = MIN_RUN_SECONDS) -> dict:
    from nlpkit.stages import build_stage

    options = {case.option: case.engine} if case.engine is not None else {}
    words = count_words(records, field_name)
    started = time.perf_counter()
    stage = build_stage(case.stage, field=field_name, **options)
    stage.ensure_setup()
    setup_seconds = time.perf_counter() - started
    batches = [records[i : i + stage.batch_size] for i in range(0, len(records), stage.batch_size)]

    def one_pass():
        for batch in batches:
            stage.process(batch)

    started = time.perf_counter()
    one_pass()  # warm-up
    warmup_seconds = time.perf_counter() - started
    # a fast stage makes several passes per run: runs of milliseconds would time the clock's noise
    passes = max(1, math.ceil(min_run_seconds / max(warmup_seconds, 1e-6)))
    seconds = []
    for run in range(runs):
        started = time.perf_counter()
        for _ in range(passes):
            one_pass()
        seconds.append(time.perf_counter() - started)
        if on_run is not None:
            on_run(case, run + 1, seconds[-1])
    rates = [passes * words / s for s in seconds]
    mean, low, high = mean_ci95(rates)
    return {"stage": case.stage, "engine": case.engine, "option": case.option, "label": case.label, "status": "done",
            "words_per_s": round(mean, 1), "ci95": [round(low, 1), round(high, 1)],
            "docs_per_s": round(mean * len(records) / max(words, 1), 2), "passes_per_run": passes,
            "run_words_per_s": [round(r, 1) for r in rates], "setup_seconds": round(setup_seconds, 3),
            "warmup_seconds": round(warmup_seconds, 3)}


def run_speed(options: SpeedOptions, on_run=None, on_case=None) -> dict:
    """Every case in turn; a case that cannot run (a missing model) is a row saying why, not the end."""
    from nlpkit.bench.runner import hardware
    from nlpkit.files import library_versions, write_json

    started = time.perf_counter()
    rows = []
    for case in options.cases:
        if on_case is not None:
            on_case(case)
        try:
            rows.append(measure_case(case, options.records, options.runs, options.field_name, on_run))
        except NlpkitError as e:
            rows.append({"stage": case.stage, "engine": case.engine, "option": case.option, "label": case.label,
                         "status": "failed", "error": str(e)})
    results = {
        "benchmark": "speed", "data": options.data, "docs": len(options.records),
        "words": count_words(options.records, options.field_name), "runs": options.runs, "warmup_runs": 1,
        "rows": rows, "notes": options.notes, "hardware": hardware("cpu"),
        "versions": library_versions("nltk", "spacy", "torch", "transformers", "tokenizers"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    options.out.mkdir(parents=True, exist_ok=True)
    write_json(options.out / "results.json", results)
    write_speed_reports(results, options.out)
    return results


# --------------------------------------------------------------------------- reports


def speed_table(results: dict):
    from nlpkit.bench.toolkit import Table

    table = Table(f"Words per second after one warm-up pass, mean of {results['runs']} timed runs "
                  f"with its 95% confidence interval ({results['docs']:,} documents, {results['words']:,} words)",
                  ["stage and engine", "words/s", "95% CI", "docs/s", "set-up s"])
    for row in results["rows"]:
        if row["status"] != "done":
            table.rows.append([row["label"], "", "", "", ""])
            table.notes.append(f"{row['label']}: {row['status']} ({row['error']})")
            continue
        low, high = row["ci95"]
        table.rows.append([row["label"], f"{row['words_per_s']:,.0f}", f"{low:,.0f} – {high:,.0f}",
                           f"{row['docs_per_s']:,.1f}", f"{row['setup_seconds']:.2f}"])
    table.notes += results.get("notes", [])
    return table


def render_speed_markdown(results: dict) -> str:
    from nlpkit.bench.toolkit import hardware_line, md_table

    lines = ["# Speed of the stages", "", f"- **Data**: {results['data']}.",
             f"- **Machine**: {hardware_line(results)}; one process, the stages one after another.", ""]
    return "\n".join(lines + md_table(speed_table(results)) + ["Every run's figure: `results.json`.", ""])


def plot_speed(results: dict) -> str | None:
    done = [r for r in results["rows"] if r["status"] == "done"]
    if not done:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlpkit.bench.toolkit import svg

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(done) + 1.2))
    means = [r["words_per_s"] for r in done]
    errors = [[r["words_per_s"] - r["ci95"][0] for r in done], [r["ci95"][1] - r["words_per_s"] for r in done]]
    ax.barh([r["label"] for r in done], means, xerr=errors, color="#4a7fd4", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("words per second (log scale; bars: 95% CI)")
    ax.invert_yaxis()
    svg = svg(fig)
    plt.close(fig)
    return svg


def render_speed_html(results: dict) -> str:
    import base64
    import html

    from nlpkit.bench.toolkit import CSS, hardware_line, html_table

    e = html.escape
    parts = ["<!doctype html><html><head><meta charset=utf-8><title>nlpkit bench speed</title>",
             f"<style>{CSS}</style></head><body><h1>Speed of the stages</h1>",
             f"<p><b>Data</b>: {e(results['data'])}.<br><b>Machine</b>: {e(hardware_line(results))}.</p>",
             html_table(speed_table(results))]
    svg = plot_speed(results)
    if svg is not None:
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        parts.append(f'<figure id="plot-speed"><img alt="words per second" src="data:image/svg+xml;base64,{data}"></figure>')
    parts.append("<p class=muted>Every run's figure is in <code>results.json</code> beside this file.</p></body></html>")
    return "\n".join(parts)


def write_speed_reports(results: dict, out: str | Path) -> dict[str, Path]:
    import matplotlib

    from nlpkit.bench.report import write_rendered

    matplotlib.rcParams["svg.hashsalt"] = "nlpkit"  # the same results give the same SVG
    return write_rendered(out, render_speed_markdown(results), render_speed_html(results))

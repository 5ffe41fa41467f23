"""Options every record stage shares, and the thin layer from flags to nlpkit.runner.

A stage command declares its own options and ``@stage_options``; its callback gets
``stream`` (a :class:`~nlpkit.runner.RunOptions`) and calls :func:`run_registered`,
which builds the stage from the registry (:mod:`nlpkit.stages`) and runs it. The same
registry builds the segments of ``nlpkit run --pipeline`` (nlpkit/cli/_pipeline.py).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from nlpkit import io
from nlpkit.runner import EXECUTORS, RunOptions, RunReport, option_names, run_stage as run_with_options, summary_line
from nlpkit.stage import Stage

# the removed spelling of --executor, accepted for one release (0.2) with a warning; gone in 0.3
DEPRECATED_ENGINE = "--engine {value} is deprecated: use --executor {value} (--engine local|ray is removed in nlpkit 0.3)"


def stage_options(f):
    """Add the shared stream options to a command; it receives them as `stream: RunOptions`."""
    decorators = [
        click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True)),
        click.option("--field", default="text", show_default=True, help="Record field that holds the text."),
        click.option("--lines", is_flag=True, help="Read plain-text files as one document per line (default: one per file)."),
        click.option(
            "--input-format",
            type=click.Choice(["auto", *io.INPUT_FORMATS]),
            default="auto",
            show_default=True,
            help="Input format; auto: *.jsonl(.gz) are records, stdin is sniffed, other files are text.",
        ),
        click.option("-o", "--output", default="-", show_default=True, type=click.Path(allow_dash=True),
                     help="Output file (.gz compresses); with --executor ray, a directory of JSONL shards."),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(list(io.OUTPUT_FORMATS)),
            default="jsonl",
            show_default=True,
            help="jsonl records, or text: the main field per line (tokens space-joined).",
        ),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (input order is kept)."),
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True, help="Stop at a bad record, or skip and count it."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Records per batch (default: the stage's own)."),
        # named --executor, not --engine: tokenize, lemmatize and tag use --engine for their NLP library
        click.option("--executor", type=click.Choice(list(EXECUTORS)), default="local", show_default=True,
                     help="local: this machine (with --jobs); ray: a Ray cluster (see docs/scale.md)."),
        click.option("--address", default=None, metavar="ADDR",
                     help="Ray cluster to use with --executor ray (default: $RAY_ADDRESS, else a local Ray started for the run)."),
        click.option("--ordered", is_flag=True, help="With --executor ray and no -o: stream records back to stdout in input order."),
        click.option("--max-chars", type=click.IntRange(min=0), default=None, metavar="N",
                     help="Longest text a record may hold for the spaCy and NLTK stages; a longer one is a bad record "
                          "(--on-error skip skips it). 0: no limit.  [default: 1,000,000, spaCy's limit]"),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    names = option_names()

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        run_options = {name: kwargs.pop(name) for name in names}
        kwargs, executor = split_engine(click.get_current_context().command, kwargs)
        if executor is not None:
            click.echo(f"Warning: {DEPRECATED_ENGINE.format(value=executor)}", err=True)
            run_options["executor"] = executor
        return f(*args, stream=RunOptions(**run_options), **kwargs)

    # the old spelling of --executor on commands that have no NLP library engine (hidden;
    # engine_option() replaces it where --engine names the library)
    return click.option("--engine", type=click.Choice(list(EXECUTORS)), default=None, hidden=True)(wrapper)


def engine_option(choices: list[str], default: str, help: str):
    """--engine for a command whose engine is its NLP library; local|ray stay accepted, deprecated.

    Apply it above @stage_options: it takes the place of the hidden --engine that
    stage_options added.
    """

    def decorate(f):
        f.__click_params__ = [p for p in getattr(f, "__click_params__", []) if p.name != "engine"]
        return click.option(
            "--engine", type=click.Choice([*choices, *EXECUTORS]), default=default, show_default=True,
            help=help + " (local|ray: deprecated spellings of --executor.)",
        )(f)

    return decorate


def split_engine(command: click.Command, params: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(the stage's own options, the executor a deprecated ``--engine local|ray`` names, or None).

    A library engine given as local|ray falls back to the library's default.
    """
    options = dict(params)
    param = next((p for p in command.params if p.name == "engine"), None)
    if param is None:
        return options, None
    value = options.get("engine")
    if param.hidden:
        options.pop("engine", None)  # not an option of the stage
    if value not in EXECUTORS:
        return options, None
    if not param.hidden:
        options["engine"] = param.default
    return options, value


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


def verbose() -> bool:
    """-v was given, or stderr is a terminal: show progress and summaries."""
    ctx = click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx else None) or {}
    return bool(obj.get("verbose")) or is_terminal(sys.stderr)


def debug() -> bool:
    ctx = click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx else None) or {}
    return bool(obj.get("debug"))


def run_registered(name: str, options: dict[str, Any], stream: RunOptions) -> RunReport:
    """Build the registered stage `name` from the command's options and run it."""
    from nlpkit.stages import build_stage

    return run_stage(build_stage(name, field=stream.field, jobs=stream.jobs, **options), stream, name=name)


def run_stage(stage: Stage, stream: RunOptions, name: str | None = None,
              writer_factory: Callable[..., io.Writer] | None = None) -> RunReport:
    """Run a built stage with a progress bar and the summary on stderr (see nlpkit.runner.run_stage)."""
    name = name or click.get_current_context().info_name or type(stage).__name__
    show = verbose()
    with progress_bar(name, show) as progress:
        report = run_with_options(stage, stream, name=name, progress=progress, debug=debug(),
                                  writer_factory=writer_factory)
    if show:
        click.echo(f"{name}: {summary_line(report)}", err=True)
        # fused pipelines time each stage (locally only in one process; on Ray summed over workers)
        seconds = getattr(report, "stage_seconds", None) or getattr(stage, "stage_seconds", None)
        if seconds and len(seconds) > 1:
            click.echo(f"{name}: time per stage: " + ", ".join(f"{n} {s:.2f} s" for n, s in seconds.items()), err=True)
        for note in getattr(report, "notes", lambda: [])():
            click.echo(f"{name}: {note}", err=True)
    # always said, even off a terminal: a user who asked to skip must learn how much was lost
    report_skipped(report.skipped.summary(name))
    return report


def run_counting(stage: Stage, stream: RunOptions, name: str, counts: Callable[[dict], bool]) -> int:
    """Run a built stage (as run_stage) and return how many output records `counts` is true of."""
    writers: list[io.CountingWriter] = []

    def counting_writer(out, **options):
        writers.append(io.CountingWriter(io.make_writer(stream.output_format, out, **options), counts))
        return writers[-1]

    run_stage(stage, stream, name=name, writer_factory=counting_writer)
    return sum(w.count for w in writers)


def report_skipped(line: str | None) -> None:
    if line:
        click.echo(line, err=True)


@contextlib.contextmanager
def progress_bar(name: str, show: bool):
    """A records counter on stderr (rich) when `show`; yields the update callback, or None."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{name}[/]"),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(name, total=None)
        yield lambda n: bar.update(task, completed=n)

"""Options and plumbing every record stage shares: inputs, output, format, jobs, errors, executor."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import click

from nlpkit import io
from nlpkit.stage import RunReport, Stage, is_terminal, run, summary_line


@dataclass
class StreamOptions:
    """How a stage reads and writes its record stream (the shared options, parsed)."""

    inputs: tuple[str, ...] = ()
    field: str = "text"
    lines: bool = False
    input_format: str = "auto"
    output: str = "-"
    output_format: str = "jsonl"
    jobs: int = 1
    on_error: str = "fail"
    batch_size: int | None = None
    executor: str = "local"
    address: str | None = None
    ordered: bool = False

    OPTION_NAMES = (
        "inputs", "field", "lines", "input_format", "output", "output_format", "jobs", "on_error", "batch_size",
        "executor", "address", "ordered",
    )


def stage_options(f):
    """Add the shared stream options to a command; it receives them as `stream: StreamOptions`."""
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
        # named --executor, not --engine: tokenize, lemmatize and tag already use --engine for their NLP library
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this machine (with --jobs); ray: a Ray cluster (see docs/scale.md)."),
        click.option("--address", default=None, metavar="ADDR",
                     help="Ray cluster to use with --executor ray (default: $RAY_ADDRESS, else a local Ray started for the run)."),
        click.option("--ordered", is_flag=True, help="With --executor ray and no -o: stream records back to stdout in input order."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        stream = StreamOptions(**{name: kwargs.pop(name) for name in StreamOptions.OPTION_NAMES})
        return f(*args, stream=stream, **kwargs)

    return wrapper


def verbose() -> bool:
    ctx = click.get_current_context(silent=True)
    obj = (ctx.find_root().obj if ctx else None) or {}
    return bool(obj.get("verbose")) or is_terminal(sys.stderr)


# Set by nlpkit.pipeline while it builds stages from command lines: run_stage then hands
# (name, stage, stream) to it instead of running, so each command parses its own options.
STAGE_COLLECTOR: contextvars.ContextVar[Callable[[str, Stage, StreamOptions], None] | None] = contextvars.ContextVar(
    "nlpkit_stage_collector", default=None
)


def run_stage(stage: Stage, stream: StreamOptions, name: str | None = None) -> RunReport | None:
    """Read the inputs, run the stage (here, or on Ray), write the output, report on stderr."""
    name = name or click.get_current_context().info_name or type(stage).__name__
    collect = STAGE_COLLECTOR.get()
    if collect is not None:
        collect(name, stage, stream)
        return None
    show = verbose()
    if stream.executor == "ray":
        from nlpkit.distributed import run_on_ray

        with progress_bar(name, show) as progress:
            report = run_on_ray(stage, stream, name=name, progress=progress)
    else:
        report = _run_local(stage, stream, name, show)
    if show:
        click.echo(f"{name}: {summary_line(report)}", err=True)
        # fused pipelines time each stage (locally only in one process; on Ray summed over workers)
        seconds = getattr(report, "stage_seconds", None) or getattr(stage, "stage_seconds", None)
        if seconds and len(seconds) > 1:
            click.echo(f"{name}: time per stage: " + ", ".join(f"{n} {s:.2f} s" for n, s in seconds.items()), err=True)
        for note in getattr(report, "notes", lambda: [])():
            click.echo(f"{name}: {note}", err=True)
    if report.skipped:
        # always said, even off a terminal: a user who asked to skip must learn how much was lost
        click.echo(f"{name}: skipped {report.skipped:,} bad record(s); first: {report.skipped_examples[0]}", err=True)
    return report


def _run_local(stage: Stage, stream: StreamOptions, name: str, show: bool) -> RunReport:
    if stream.address:
        raise click.UsageError("--address names a Ray cluster: add --executor ray")
    if stream.output != "-" and os.path.isdir(stream.output):
        raise click.UsageError(f"-o {stream.output} is a directory (a directory of shards is for --executor ray)")
    items = io.read_items(stream.inputs, field=stream.field, lines=stream.lines, input_format=stream.input_format)
    out = io.open_output(stream.output)
    writer = io.make_writer(stream.output_format, out, field=stream.field, main_field=stage.main_field)
    try:
        with progress_bar(name, show) as progress:
            return run(
                stage, items, writer, jobs=stream.jobs, on_error=stream.on_error, batch_size=stream.batch_size, progress=progress
            )
    finally:
        if stream.output != "-":
            out.close()


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

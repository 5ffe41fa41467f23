"""Options and plumbing every record stage shares: inputs, output, format, jobs, errors."""

from __future__ import annotations

import functools
import sys
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

    OPTION_NAMES = ("inputs", "field", "lines", "input_format", "output", "output_format", "jobs", "on_error", "batch_size")


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
        click.option("-o", "--output", default="-", show_default=True, type=click.Path(allow_dash=True, dir_okay=False), help="Output file (.gz compresses)."),
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


def run_stage(stage: Stage, stream: StreamOptions, name: str | None = None) -> RunReport:
    """Read the inputs, run the stage, write the output, report on stderr."""
    name = name or click.get_current_context().info_name or type(stage).__name__
    items = io.read_items(stream.inputs, field=stream.field, lines=stream.lines, input_format=stream.input_format)
    out = io.open_output(stream.output)
    writer = io.make_writer(stream.output_format, out, field=stream.field, main_field=stage.main_field)
    show = verbose()
    try:
        if show:
            report = _run_with_progress(stage, items, writer, stream, name)
        else:
            report = run(stage, items, writer, jobs=stream.jobs, on_error=stream.on_error, batch_size=stream.batch_size)
    finally:
        if stream.output != "-":
            out.close()
    if show:
        click.echo(f"{name}: {summary_line(report)}", err=True)
    if report.skipped:
        # always said, even off a terminal: a user who asked to skip must learn how much was lost
        click.echo(f"{name}: skipped {report.skipped:,} bad record(s); first: {report.skipped_examples[0]}", err=True)
    return report


def _run_with_progress(stage, items, writer, stream, name) -> RunReport:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{name}[/]"),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(name, total=None)
        return run(
            stage,
            items,
            writer,
            jobs=stream.jobs,
            on_error=stream.on_error,
            batch_size=stream.batch_size,
            progress=lambda n: bar.update(task, completed=n),
        )

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
from collections.abc import Callable, Iterable
from typing import Any

import click

from nlpkit import io
from nlpkit.cli._params import declared_options
from nlpkit.runner import RunOptions, RunReport, option_names, run_stage as run_with_options, summary_line
from nlpkit.stage import Stage

def stage_options(f):
    """Add the shared stream options (declared by RunOptions); the command receives them as `stream: RunOptions`."""
    f = declared_options(RunOptions)(f)
    f = click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))(f)
    names = option_names()

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        run_options = {name: kwargs.pop(name) for name in names}
        return f(*args, stream=RunOptions(**run_options), **kwargs)

    return wrapper


def stage_command(name: str) -> click.Command:
    """The command of a registered stage that has no command file: its options and help from its declaration.

    The help is the options dataclass's docstring (what the stage does, then an example).
    """
    from nlpkit.stages import stage_options as declaration_of

    options_class = declaration_of(name)

    @click.command(name=name, help=options_class.__doc__)
    @declared_options(options_class)
    @stage_options
    def command(stream, **options):
        run_registered(name, options, stream)

    return command


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

    return run_stage(build_stage(name, field=stream.field, **options), stream, name=name)


def run_stage(stage: Stage, stream: RunOptions, name: str | None = None,
              writer_factory: Callable[..., io.Writer] | None = None, items: Iterable[io.Item] | None = None) -> RunReport:
    """Run a built stage with a progress bar and the summary on stderr (see nlpkit.runner.run_stage)."""
    name = name or click.get_current_context().info_name or type(stage).__name__
    show = verbose()
    with progress_bar(name, show) as progress:
        report = run_with_options(stage, stream, name=name, progress=progress, debug=debug(),
                                  writer_factory=writer_factory, items=items)
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

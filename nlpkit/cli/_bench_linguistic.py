"""What `bench ud` and `bench ner` share: their options, progress on stderr, the tables at the end."""

from __future__ import annotations

import click

from nlpkit.cli._common import verbose


def engine_options(default_out: str):
    """--data, --split, --engines, --limit, --out, --force."""

    def decorate(f):
        for option in reversed([
            click.option("--data", type=click.Path(exists=True, dir_okay=False),
                         help="The gold file (default: the cache, else ../shared/corpora, else downloaded)."),
            click.option("--split", type=click.Choice(["dev", "test", "train"]), default="dev", show_default=True,
                         help="Which split to find or download when --data is not given."),
            click.option("--engines", help="Comma-separated engines (default: all; spacy-md and nltk where installed)."),
            click.option("--limit", type=click.IntRange(min=1), help="Only the first N sentences."),
            click.option("--out", type=click.Path(file_okay=False), default=default_out, show_default=True,
                         help="results.json, report.md, report.html, per-engine results and logs; "
                              "finished engines here are kept."),
            click.option("--force", is_flag=True, help="Re-run engines that already finished in --out."),
        ]):
            f = option(f)
        return f

    return decorate


def run(benchmark, data, split, engines, limit, out, force) -> None:
    import signal
    import sys
    from pathlib import Path

    from rich.console import Console

    from nlpkit.bench.engines import EngineOptions, run_benchmark, select_engines
    from nlpkit.bench.linguistic_report import rich_tables

    select_engines(engines)  # a usage error before any work
    options = EngineOptions(out=Path(out), data=data, split=split, engines=engines, limit=limit, force=force)
    errors = Console(stderr=True)
    listener = _Progress(errors, verbose())
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the engine's process stops too
    try:
        results = run_benchmark(benchmark, options, listener)
    finally:
        signal.signal(signal.SIGTERM, previous)
    from nlpkit.cli._console import stdout_console

    console = stdout_console(min_width=120)
    for table in rich_tables(results):
        console.print(table)
    click.echo(f"results: {Path(out) / 'results.json'}, {Path(out) / 'report.md'}, {Path(out) / 'report.html'}",
               err=True)
    failed = [r["engine"] for r in results["engines"] if r["status"] == "failed"]
    if failed:
        click.echo(f"bench: {len(failed)} engine(s) failed: {', '.join(failed)} (see {Path(out) / 'logs'})", err=True)
        raise SystemExit(1)


class _Progress:
    """One line per engine on stderr (and its phases with -v); failures always."""

    def __init__(self, console, chatty: bool):
        self.console = console
        self.chatty = chatty

    def notice(self, message):
        self.console.print(f"[yellow]notice:[/] {message}")

    def start(self, engines):
        if self.chatty:
            self.console.print(f"engines: {', '.join(e.name for e in engines)}")

    def engine_phase(self, name, phase):
        if self.chatty and phase != "done":  # engine_done says it
            self.console.print(f"[dim]{name}: {phase}[/]")

    def engine_done(self, name, result):
        status = result["status"]
        if status == "failed":
            self.console.print(f"[red]{name} failed:[/] {result.get('error')}")
        elif self.chatty or status == "unavailable":
            what = "kept from an earlier run" if result.get("kept") else f"{result.get('wall_seconds', 0):.0f} s"
            self.console.print(f"{name}: {status}" + (f" ({what})" if status == "done" else f" ({result.get('error')})"))

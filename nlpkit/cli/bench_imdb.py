import click

from nlpkit.cli._common import verbose


@click.command()
@click.option("--data", type=click.Path(exists=True, file_okay=False),
              help="A corpus directory (train.jsonl[.gz], test.jsonl[.gz]). Default: the cache, else "
                   "../shared/corpora/imdb, else the embedded sample.")
@click.option("--methods", help="Comma-separated methods, or 'all' (default: one of each rung, below).")
@click.option("--limit", type=click.IntRange(min=4), help="A balanced seeded subset of N reviews of train and of test.")
@click.option("--device", default="auto", show_default=True, help="auto|cpu|cuda|cuda:N|mps for the neural methods.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for subsets, the validation slice and training.")
@click.option("--out", type=click.Path(file_okay=False), default="bench-out/imdb", show_default=True,
              help="Results, reports, models and logs; finished methods here are kept.")
@click.option("--force", is_flag=True, help="Re-run methods that already finished in --out.")
def imdb(data, methods, limit, device, seed, out, force):
    """Run every rung on IMDb: accuracy, macro-F1, train time, docs/s, memory, beside published figures.

    Writes OUT/results.json, OUT/report.md and a self-contained OUT/report.html
    (plots). A method finished in OUT is skipped on the next run unless --force.

    \b
    Methods: bow-nb, tfidf-lr, tfidf-svm, nbsvm, fasttext, w2v-lr, glove-lr,
             bilstm, bert; lstm and gru by name or with --methods all
      nlpkit bench imdb --methods tfidf-lr,nbsvm --limit 2000
    """
    import signal
    import sys
    from pathlib import Path

    from rich.console import Console

    from nlpkit.bench.methods import select
    from nlpkit.bench.report import rich_table
    from nlpkit.bench.runner import BenchOptions, run_imdb

    try:
        select(methods)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--methods") from None
    options = BenchOptions(out=Path(out), data=data, methods=methods, limit=limit, device=device, seed=seed,
                           force=force)
    errors = Console(stderr=True)
    listener = _ProgressListener(errors) if verbose() else _QuietListener(errors)
    # SIGTERM unwinds like Ctrl-C, so that the running method's process is stopped too
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with listener.progress:
            results = run_imdb(options, listener)
    finally:
        signal.signal(signal.SIGTERM, previous)
    Console(width=max(120, Console().width)).print(rich_table(results))
    click.echo(f"results: {Path(out) / 'results.json'}, {Path(out) / 'report.md'}, {Path(out) / 'report.html'}",
               err=True)
    failed = [r["method"] for r in results["methods"] if r["status"] == "failed"]
    if failed:
        click.echo(f"bench: {len(failed)} method(s) failed: {', '.join(failed)} (see {Path(out) / 'logs'})", err=True)
        raise SystemExit(1)


class _QuietListener:
    """Off a terminal: only what the user must know (the data notice, failures)."""

    def __init__(self, console):
        import contextlib

        self.console = console
        self.progress = contextlib.nullcontext()

    def notice(self, message):
        if "NOT comparable" in message:
            self.console.print(f"[yellow]notice:[/] {message}")

    def start(self, methods):
        pass

    def method_phase(self, name, phase):
        pass

    def method_done(self, name, result):
        if result["status"] == "failed":
            self.console.print(f"[red]{name} failed:[/] {result.get('error')}")


class _ProgressListener(_QuietListener):
    """Progress bars on stderr: the methods done, and the running method's phase and time."""

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        super().__init__(console)
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[phase]}"), TimeElapsedColumn(),
                                 console=console)
        self.overall = None
        self.current = None

    def notice(self, message):
        self.progress.console.print(f"[yellow]notice:[/] {message}")

    def start(self, methods):
        self.overall = self.progress.add_task("methods", total=len(methods), phase="")

    def method_phase(self, name, phase):
        if self.current is None:
            self.current = self.progress.add_task(name, total=None, phase=phase)
        self.progress.update(self.current, description=name, phase=phase)

    def method_done(self, name, result):
        if self.current is not None:
            self.progress.remove_task(self.current)
            self.current = None
        status = result["status"]
        if status == "done":
            what = "kept from an earlier run" if result.get("kept") else f"{result['wall_seconds']:.0f} s"
            line = f"[green]{name}[/]: accuracy {100 * result['accuracy']:.2f}% ({what})"
        elif status == "failed":
            line = f"[red]{name} failed:[/] {result.get('error')}"
        else:
            line = f"[dim]{name}: {status} ({result.get('error')})[/]"
        self.progress.console.print(line)
        self.progress.advance(self.overall)

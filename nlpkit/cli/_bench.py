"""What `bench imdb` and `bench corpus` share: the ladder's options, --set, the progress display, the run.

``--set METHOD.PARAM=VALUE`` takes exactly the model parameters `nlpkit train`
exposes, converted and checked by their core declaration (nlpkit.models.options), and only
those the method's kind takes; ``METHOD.lm.PARAM`` sets the LM the run pretrains for it.
"""

from __future__ import annotations

import time

import click

from nlpkit.cli._common import verbose


def ladder_options(default_out: str):
    """--methods, --limit, --device, --seed, --out, --force and --set, in that order."""

    def decorate(f):
        for option in reversed([
            click.option("--methods", help="Comma-separated methods, or 'all' (default: one of each rung, below)."),
            click.option("--limit", type=click.IntRange(min=4),
                         help="A balanced seeded subset of N records of train and of test."),
            click.option("--device", default="auto", show_default=True,
                         help="auto|cpu|cuda|cuda:N|mps for the neural methods."),
            click.option("--seed", type=int, default=0, show_default=True,
                         help="Seed for subsets, the validation slice, the vectors and training."),
            click.option("--out", type=click.Path(file_okay=False), default=default_out, show_default=True,
                         help="Results, reports, models and logs; finished methods here are kept."),
            click.option("--force", is_flag=True, help="Re-run methods that already finished in --out."),
            click.option("--set", "sets", multiple=True, metavar="METHOD.PARAM=VALUE",
                         help="Set a method's model parameter (repeatable), checked as `nlpkit train`'s option "
                              "of that name: --set bert.max_len=512 --set bilstm.epochs=4; METHOD.lm.PARAM sets the "
                              "language model the run pretrains for it: --set lm-lstm.lm.epochs=2."),
        ]):
            f = option(f)
        return f

    return decorate


def _pretrain_options() -> dict[str, click.Option]:
    """``lm_NAME``: `nlpkit lm train`'s model and loop options (the same objects, so the same checks), and the
    pretraining budget of :mod:`nlpkit.bench.pretrain` (reviews, valid, init_vectors)."""
    from nlpkit.bench.pretrain import PREFIX
    from nlpkit.cli.lm import train

    run_only = {"inputs", "output", "valid_path", "valid_fraction", "seed", "field", "lines", "resume", "save_every",
                "device", "workers", "vectors", "cutoffs"}  # the run decides these (vectors: lm_init_vectors)
    found = {f"{PREFIX}{p.name}": p for p in train.params if isinstance(p, click.Option) and p.name not in run_only}
    for name, kind, help in (("reviews", click.IntRange(min=1),
                              "records the LM trains on: every training one, then unlabelled ones up to it"),
                             ("valid", click.IntRange(min=1), "unlabelled records held out for its perplexity"),
                             ("init_vectors", click.BOOL, "start its embedding from the run's vectors")):
        found[f"{PREFIX}{name}"] = click.Option([f"--{PREFIX}{name}"], type=kind, help=help)
    return found


def parse_sets(sets: tuple[str, ...], ctx: click.Context | None = None) -> dict[str, dict]:
    """``("bert.max_len=512", ...)`` -> ``{"bert": {"max_len": 512}}``; a usage error (exit 2) names the known keys.

    A model parameter is converted and checked by its core declaration (nlpkit.models.options,
    as `nlpkit train` does); ``METHOD.lm.PARAM`` sets the language model the run pretrains for
    the method (``lm_PARAM`` inside; the old spelling ``METHOD.lm_PARAM`` still works in 0.3,
    with a deprecation line).
    """
    from nlpkit.bench.methods import METHODS
    from nlpkit.bench.pretrain import PREFIX, RUN_LM
    from nlpkit.errors import UsageError
    from nlpkit.models.options import ModelOptions
    from nlpkit.models.training import kind_parameters
    from nlpkit.params import convert, declared

    model_params = {p.name for p in declared(ModelOptions)}
    overrides: dict[str, dict] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        method_name, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise click.BadParameter(f"{item!r} is not METHOD.PARAM=VALUE", param_hint="'--set'")
        method = METHODS.get(method_name)
        if method is None:
            raise click.BadParameter(f"unknown method {method_name!r} in {item!r}; known: {', '.join(METHODS)}",
                                     param_hint="'--set'")
        pretrain = _pretrain_options() if method.params.get("lm") == RUN_LM else {}
        if name.startswith("lm.") and pretrain:
            name = PREFIX + name[len("lm."):]
        elif name.startswith(PREFIX) and f"{PREFIX}{name[len(PREFIX):]}" in pretrain:
            click.echo(f"Warning: --set {method_name}.{name} is deprecated: use --set {method_name}.lm."
                       f"{name[len(PREFIX):]} (the {PREFIX}PARAM spelling is removed in nlpkit 0.4)", err=True)
        known = sorted([p for p in kind_parameters(method.kind) if p in model_params] + list(pretrain))
        if name not in known:
            shown = [f"lm.{k[len(PREFIX):]}" if k in pretrain else k for k in known]
            raise click.BadParameter(f"{method_name} (kind {method.kind}) has no parameter {name!r}; known: "
                                     f"{', '.join(shown)}", param_hint="'--set'")
        if name in pretrain:
            option = pretrain[name]
            try:
                value = option.type.convert(raw.strip(), option, ctx)
            except click.BadParameter as e:
                raise click.BadParameter(f"{item}: {e.message}", param_hint="'--set'") from None
        else:
            try:
                value = convert(ModelOptions, name, raw.strip())
            except UsageError as e:
                raise click.BadParameter(f"{item}: {str(e).split(': ', 1)[1]}", param_hint="'--set'") from None
        overrides.setdefault(method_name, {})[name] = list(value) if isinstance(value, tuple) else value
    for method_name, values in overrides.items():
        pretraining = sorted(k for k in values if k.startswith(PREFIX))
        if pretraining and values.get("lm", RUN_LM) != RUN_LM:  # a given LM is not pretrained by the run
            raise click.BadParameter(f"{method_name}.lm={values['lm']} fine-tunes that LM, so the run pretrains none: "
                                     f"drop {', '.join(f'{method_name}.{k}' for k in pretraining)}", param_hint="'--set'")
    return overrides


def run_and_show(options, source, run) -> None:
    """Run the ladder with progress on stderr, print the table; exit 1 when a method failed."""
    import signal
    import sys
    from pathlib import Path

    from rich.console import Console

    from nlpkit.bench.report import rich_table

    errors = Console(stderr=True)
    listener = ProgressListener(errors) if verbose() else QuietListener(errors)
    # SIGTERM unwinds like Ctrl-C, so that the running method's process is stopped too
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with listener.progress:
            results = run(options, source, listener)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out = Path(options.out)
    Console(width=max(120, Console().width)).print(rich_table(results))
    click.echo(f"results: {out / 'results.json'}, {out / 'report.md'}, {out / 'report.html'}", err=True)
    failed = [r["method"] for r in results["methods"] if r["status"] == "failed"]
    if failed:
        click.echo(f"bench: {len(failed)} method(s) failed: {', '.join(failed)} (see {out / 'logs'})", err=True)
        raise SystemExit(1)


def check_methods(methods: str | None) -> None:
    from nlpkit.bench.methods import select

    try:
        select(methods)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--methods") from None


class QuietListener:
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


class ProgressListener(QuietListener):
    """Progress bars on stderr: the methods done, and the running method's phase and time.

    Off a terminal (-v into a log) the bars do not draw: each phase is a line with the clock
    time, and each method's own training progress is in OUT/logs/NAME.log."""

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
        if self.current is not None:  # the run's vectors were trained before the methods
            self.progress.remove_task(self.current)
            self.current = None
        self.overall = self.progress.add_task("methods", total=len(methods), phase="")

    def method_phase(self, name, phase):
        if not self.progress.console.is_terminal:  # -v into a log: the bar does not draw there, so a line a phase
            self.progress.console.print(f"{time.strftime('%H:%M:%S')} {name}: {phase}", highlight=False)
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

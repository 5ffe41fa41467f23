import click

DEFAULT_STAGES = "clean,tokenize,stopwords,stem,lemmatize,tag"
# the option of a stage's command that picks its library or algorithm (local/ray pick the executor instead)
ENGINE_OPTIONS = ("engine", "algorithm")
EXECUTORS = ("local", "ray")


@click.command()
@click.option("--stages", default=DEFAULT_STAGES, show_default=True, metavar="STAGE[:ENGINE],...",
              help="Stages to time; a stage alone is timed with each of its engines, STAGE:ENGINE with that one.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False),
              help="JSONL or text records to time on (default: the embedded IMDb sample's test reviews).")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="Records to use.")
@click.option("--runs", type=click.IntRange(min=2), default=5, show_default=True, help="Timed runs after the warm-up.")
@click.option("--field", "field_name", default="text", show_default=True, help="The record field holding the text.")
@click.option("--out", type=click.Path(file_okay=False), default="bench-out/speed", show_default=True,
              help="Where results.json, report.md and report.html go.")
def speed(stages, data, limit, runs, field_name, out):
    """Words per second of each stage and engine, after a warm-up, with a 95% confidence interval.

    Every stage reads the same records; words are their whitespace-separated words.
    Models load before the clock starts (their load time is reported apart).

    \b
      nlpkit bench speed --stages clean,tokenize,lemmatize:wordnet --limit 500
      nlpkit bench speed --stages tokenize:regex,tag:spacy --data reviews.jsonl
    """
    from pathlib import Path

    from rich.console import Console

    from nlpkit.bench.speed import SpeedOptions, run_speed, speed_table

    cases = parse_stages(stages)
    records, where = _read_records(data, limit, field_name)
    console = Console(stderr=True)

    def on_run(case, run, seconds):
        console.print(f"speed: {case.label}: run {run}/{runs} {seconds:.2f} s", markup=False, highlight=False)

    results = run_speed(SpeedOptions(cases=cases, records=records, data=where, runs=runs, out=Path(out),
                                     field_name=field_name), on_run=on_run if _verbose() else None)
    table = speed_table(results)
    from nlpkit.cli._console import print_table

    print_table(table)
    for note in table.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"results: {Path(out) / 'results.json'}, {Path(out) / 'report.md'}, {Path(out) / 'report.html'}", err=True)


def parse_stages(text: str):
    """``"clean,tokenize:regex,stem"`` -> one SpeedCase per stage and engine, each engine of a stage given alone."""
    from nlpkit.bench.speed import SpeedCase

    cases = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        stage, _, engine = item.partition(":")
        option, choices = _engine_option(stage)
        if engine and option is None:
            raise click.BadParameter(f"{stage} has no engines to choose from; write it as {stage}", param_hint="--stages")
        if engine and engine not in choices:
            raise click.BadParameter(f"{stage} has no engine {engine!r} (choose from {', '.join(choices)})",
                                     param_hint="--stages")
        cases += [SpeedCase(stage, e, option) for e in ([engine] if engine else choices)] if option else [SpeedCase(stage)]
    if not cases:
        raise click.BadParameter("name at least one stage", param_hint="--stages")
    return cases


def _engine_option(stage: str) -> tuple[str | None, list[str]]:
    """The option of the stage's command that picks its engine, and the engines it offers."""
    from nlpkit.cli import cli
    from nlpkit.stages import STAGES

    command = cli.get_command(click.Context(cli), stage) if " " not in stage else None
    if stage not in STAGES or command is None:
        raise click.BadParameter(f"no record stage {stage!r} (known: {', '.join(sorted(s for s in STAGES if ' ' not in s))})",
                                 param_hint="--stages")
    for param in command.params:
        if param.name in ENGINE_OPTIONS and isinstance(param.type, click.Choice):
            choices = [c for c in param.type.choices if c not in EXECUTORS]
            if choices:
                return param.name, choices
    return None, []


def _read_records(data, limit, field_name):
    from nlpkit.errors import InputError
    from nlpkit.io import BadInput, read_items

    if data is None:
        from nlpkit.resources import sample_dir

        data, where = str(sample_dir() / "test.jsonl.gz"), f"the embedded IMDb sample's test reviews (first {limit})"
    else:
        where = f"{data} (first {limit} records)"
    records = []
    for location, record in read_items([data]):
        if isinstance(record, BadInput):
            raise InputError(location, record.problem)
        if not isinstance(record.get(field_name), str):
            raise InputError(location, f"record has no {field_name!r} text (use --field to choose another)")
        records.append({field_name: record[field_name]})
        if len(records) >= limit:
            break
    if not records:
        raise InputError(data, "no records")
    return records, where


def _verbose() -> bool:
    from nlpkit.cli._common import verbose

    return verbose()

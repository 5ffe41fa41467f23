import click

from nlpkit.bench.speed import DEFAULT_STAGES


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

    from nlpkit.bench.speed import SpeedOptions, parse_stages, run_speed, speed_table
    from nlpkit.errors import UsageError

    try:
        cases = parse_stages(stages)
    except UsageError as e:
        raise click.BadParameter(str(e), param_hint="--stages") from None
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


def _read_records(data, limit, field_name):
    from nlpkit.errors import InputError
    from nlpkit.io import iter_records, read_items

    if data is None:
        from nlpkit.resources import sample_dir

        data, where = str(sample_dir() / "test.jsonl.gz"), f"the embedded IMDb sample's test reviews (first {limit})"
    else:
        where = f"{data} (first {limit} records)"
    records = []
    for location, record in iter_records(read_items([data])):
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

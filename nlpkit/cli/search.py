import click

from nlpkit.cli._common import run_stage, stage_options
from nlpkit.cli._params import declared_options
from nlpkit.retrieval.search import SearchOptions


@click.command(help=SearchOptions.__doc__)
@declared_options(SearchOptions)
@click.option("--query", "-q", multiple=True, metavar="TEXT",
              help="A query (repeatable), in place of reading query records; one output record per query.")
@stage_options
def search(stream, query, **options):
    from nlpkit.retrieval.search import HitsTableWriter, query_items
    from nlpkit.stages import build_stage

    if query and stream.inputs:
        raise click.UsageError("give --query TEXT or INPUTS (query records), not both")
    stage = build_stage("search", field=stream.field, **options)
    factory = HitsTableWriter if stream.output_format == "text" else None
    run_stage(stage, stream, name="search", writer_factory=factory,
              items=query_items(list(query), stream.field) if query else None)

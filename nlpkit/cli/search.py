import click

from nlpkit.cli._common import run_stage, stage_options
from nlpkit.cli._retrieval import DEVICE_METAVAR
from nlpkit.retrieval.fusion import DEFAULT_FUSION, DEFAULT_WEIGHT, FUSIONS
from nlpkit.retrieval.search import DEFAULT_MODE, MODES, K


@click.command()
@click.option("--index", "index_dir", required=True, type=click.Path(file_okay=False), help="Index directory (from `nlpkit index build`).")
@click.option("--query", "-q", multiple=True, metavar="TEXT",
              help="A query (repeatable), in place of reading query records; one output record per query.")
@click.option("-k", type=click.IntRange(min=1), default=K, show_default=True, help="Hits per query.")
@click.option("--mode", type=click.Choice(list(MODES)), default=DEFAULT_MODE, show_default=True,
              help="bm25, dense (the index's encoder), or hybrid: the two lists fused (--fusion).")
@click.option("--fields", default=None, metavar="A,B",
              help="Document fields each hit carries besides id, score and rank ('' for none).  [default: all]")
@click.option("--fusion", type=click.Choice(list(FUSIONS)), default=DEFAULT_FUSION, show_default=True,
              help="hybrid: reciprocal rank fusion (k 60), or a weighted sum of min-max normalized scores.")
@click.option("--weight", type=click.FloatRange(0, 1), default=DEFAULT_WEIGHT, show_default=True,
              help="--fusion weighted: the dense list's weight (BM25's is 1 - weight).")
@click.option("--device", default="auto", show_default=True, metavar=DEVICE_METAVAR, help="Where the query encoder runs.")
@click.option("--ef-search", type=click.IntRange(min=1), default=None, help="hnsw: candidates kept while searching.  [default: the index's]")
@click.option("--nprobe", type=click.IntRange(min=1), default=None, help="ivfpq: lists searched per query.  [default: the index's]")
@stage_options
def search(stream, index_dir, query, k, mode, fields, fusion, weight, device, ef_search, nprobe):
    """Search an index: add `hits` ({id, score, rank} and the document's fields) to each query record.

    The query is each record's text (a BEIR queries.jsonl keeps its `_id` and other
    fields), or --query TEXT. --format text prints a table.

    \b
      nlpkit search --index index/ --query "who won the election" -k 5 --format text
      nlpkit search --index index/ --mode bm25 --fields title queries.jsonl > run.jsonl
    """
    from nlpkit.retrieval.search import HitsTableWriter, query_items
    from nlpkit.stages import build_stage

    if query and stream.inputs:
        raise click.UsageError("give --query TEXT or INPUTS (query records), not both")
    stage = build_stage("search", field=stream.field, jobs=stream.jobs, index_dir=index_dir, k=k, mode=mode, fields=fields,
                        fusion=fusion, weight=weight, device=device, ef_search=ef_search, nprobe=nprobe)
    factory = HitsTableWriter if stream.output_format == "text" else None
    run_stage(stage, stream, name="search", writer_factory=factory,
              items=query_items(list(query), stream.field) if query else None)

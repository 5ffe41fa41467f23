import click

from nlpkit.cli._params import declared_options
from nlpkit.retrieval.bench import RetrievalBenchOptions


@click.command()
@declared_options(RetrievalBenchOptions)
def retrieval(data, **values):
    """BM25, dense, hybrid and dense-int8 retrieval on any BEIR-layout directory: nDCG@10, Recall@10/100,
    MRR@10 and MAP@100 (trec_eval's semantics), build time, encoder docs/s, queries/s, latency, index size.

    Each row builds its own index of the corpus and searches every judged query. A known BEIR set
    (scifact, nfcorpus) gets the published figures beside its rows. Writes OUT/results.json,
    OUT/report.md and a self-contained OUT/report.html; progress goes to stderr.

    \b
      nlpkit corpora fetch scifact && nlpkit bench retrieval --data scifact
      nlpkit bench retrieval --data ../shared/corpora/ag_news_retrieval_dev --rows bm25,dense --limit 500
    """
    from pathlib import Path

    from rich.console import Console

    from nlpkit.cli._console import print_table
    from nlpkit.retrieval.bench import run_retrieval_bench
    from nlpkit.retrieval.bench_report import rows_table

    directory, name = _data_dir(data)
    console = Console(stderr=True)

    def log(message: str) -> None:
        console.print(f"bench retrieval: {message}", markup=False, highlight=False)

    results = run_retrieval_bench(RetrievalBenchOptions(data=str(directory), name=name, **values), log=log)
    table = rows_table(results)
    print_table(table, min_width=140)
    for note in table.notes:
        click.echo(f"note: {note}", err=True)
    out = Path(values["out"])
    click.echo(f"results: {out / 'results.json'}, {out / 'report.md'}, {out / 'report.html'}", err=True)


def _data_dir(data: str):
    """(directory, known set's name or None): a path as it is, else a known BEIR set's place (cache or ../shared)."""
    from pathlib import Path

    from nlpkit.corpora import KNOWN, resolve

    path = Path(data)
    if path.exists():
        return path, None
    spec = KNOWN.get(data)
    if spec is None or spec.layout != "beir":
        beir = ", ".join(sorted(n for n, s in KNOWN.items() if s.layout == "beir"))
        raise click.BadParameter(f"{data!r} is neither a directory nor a known BEIR set ({beir})", param_hint="'--data'")
    return resolve(data).path, data

import click

from nlpkit.retrieval.bench import LATENCY_QUERIES, ROWS, TUNE_SHARE


@click.command()
@click.option("--data", required=True, metavar="DIR",
              help="A BEIR-layout directory (corpus.jsonl, queries.jsonl, qrels/test.tsv), or the name of one fetched "
                   "with `nlpkit corpora fetch` (scifact, nfcorpus).")
@click.option("--rows", default=",".join(ROWS), show_default=True, help="Rows to run, comma-separated.")
@click.option("--split", default="test", show_default=True, help="The qrels file scored: qrels/SPLIT.tsv.")
@click.option("--tune-fusion", is_flag=True,
              help=f"Choose hybrid's fusion on a seeded {TUNE_SHARE:.0%} of the queries and score hybrid on the rest "
                   "only (default: the documented default fusion, and every query).")
@click.option("--model", help="The sentence encoder: a sentence-transformers directory or hub name "
              "(default: the bundled all-MiniLM-L6-v2).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Texts per forward pass of the encoder.")
@click.option("--limit", type=click.IntRange(min=1), help="Score only a seeded subset of this many judged queries.")
@click.option("--seed", type=int, default=0, show_default=True,
              help=f"Seed of the fusion split, the --limit subset and the {LATENCY_QUERIES} latency queries.")
@click.option("--out", type=click.Path(file_okay=False), default="bench-out/retrieval", show_default=True,
              help="Where results.json, report.md and report.html go.")
def retrieval(data, rows, split, tune_fusion, model, batch_size, limit, seed, out):
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

    from nlpkit.retrieval.bench import RetrievalBenchOptions, run_retrieval_bench
    from nlpkit.retrieval.bench_report import rows_table

    chosen = tuple(r.strip() for r in rows.split(",") if r.strip())
    unknown = [r for r in chosen if r not in ROWS]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown row {', '.join(unknown) or '(none)'}; rows: {', '.join(ROWS)}",
                                 param_hint="'--rows'")
    directory, name = _data_dir(data)
    console = Console(stderr=True)

    def log(message: str) -> None:
        console.print(f"bench retrieval: {message}", markup=False, highlight=False)

    results = run_retrieval_bench(RetrievalBenchOptions(
        data=directory, out=Path(out), rows=chosen, split=split, tune_fusion=tune_fusion, seed=seed, model=model,
        batch_size=batch_size, limit=limit, name=name), log=log)
    from nlpkit.cli._console import print_table

    table = rows_table(results)
    print_table(table, min_width=140)
    for note in table.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"results: {Path(out) / 'results.json'}, {Path(out) / 'report.md'}, {Path(out) / 'report.html'}", err=True)


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

import click

from nlpkit.cli._bench import check_methods, ladder_options, parse_sets, run_and_show


@click.command()
@click.option("--data", type=click.Path(exists=True, file_okay=False),
              help="A corpus directory (train.jsonl[.gz], test.jsonl[.gz], unsup.jsonl[.gz]). Default: the cache, "
                   "else ../shared/corpora/imdb, else the embedded sample.")
@ladder_options("bench-out/imdb")
@click.pass_context
def imdb(ctx, data, methods, limit, device, seed, out, force, sets):
    """Run every rung on IMDb: accuracy, macro-F1, train time, docs/s, memory, beside published figures.

    The IMDb preset of `nlpkit bench corpus`. Writes OUT/results.json,
    OUT/report.md and a self-contained OUT/report.html (plots). A method
    finished in OUT is skipped on the next run unless --force or its settings
    changed.

    \b
    Methods: bow-nb, tfidf-lr, tfidf-svm, nbsvm, fasttext, w2v-lr, glove-lr,
             bilstm, bert; lstm and gru by name or with --methods all
      nlpkit bench imdb --methods tfidf-lr,nbsvm --limit 2000
      nlpkit bench imdb --set bert.max_len=512 --set bilstm.epochs=4
    """
    from pathlib import Path

    from nlpkit.bench.runner import BenchOptions, run_bench
    from nlpkit.corpora import resolve

    check_methods(methods)
    options = BenchOptions(out=Path(out), data=data, methods=methods, limit=limit, device=device, seed=seed,
                           force=force, corpus="imdb", overrides=parse_sets(sets, ctx))
    run_and_show(options, resolve("imdb", data), run_bench)

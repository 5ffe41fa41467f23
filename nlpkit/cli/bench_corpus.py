import click

from nlpkit.cli._bench import check_methods, ladder_options, parse_sets, run_and_show


@click.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--train", "train", type=click.Path(exists=True, dir_okay=False), help="Labelled training records (JSONL).")
@click.option("--test", "test", type=click.Path(exists=True, dir_okay=False), help="Labelled test records (JSONL).")
@click.option("--unlabelled", type=click.Path(exists=True, dir_okay=False),
              help="Unlabelled records for the run's word vectors (a corpus directory's unsup split otherwise).")
@click.option("--corpus", "corpus_name", metavar="NAME",
              help="Which known corpus this is (imdb, sst2, ag_news): its published figures are shown, and compared "
                   "when the splits are the full ones. Default: the directory's corpus.json.")
@ladder_options("bench-out/corpus")
@click.pass_context
def corpus(ctx, directory, train, test, unlabelled, corpus_name, methods, limit, device, seed, out, force, sets):
    """Run the ladder on any labelled corpus: a corpus DIRECTORY, or --train FILE --test FILE.

    Labels come from the data (two or more); the report adds macro-F1, F1 per
    class and an N×N confusion matrix per method. Published figures appear only
    for a corpus nlpkit knows (`nlpkit corpora list`).

    \b
      nlpkit bench corpus ~/.cache/nlpkit/corpora/ag_news
      nlpkit bench corpus --train train.jsonl --test test.jsonl --unlabelled more.jsonl
    """
    import json
    from pathlib import Path

    from nlpkit.bench.runner import BenchOptions, run_bench
    from nlpkit.corpora import KNOWN, MANIFEST, DataSource, resolve

    if (directory is None) == (train is None):
        raise click.UsageError("give a corpus DIRECTORY, or --train FILE and --test FILE (not both)")
    if train is not None and test is None:
        raise click.UsageError("--train needs --test")
    if directory is not None and (test or unlabelled):
        raise click.UsageError("--test and --unlabelled go with --train; a DIRECTORY brings its own splits")
    labelled = sorted(name for name, spec in KNOWN.items() if spec.layout == "splits")  # not BEIR's retrieval sets
    if corpus_name is not None and corpus_name not in labelled:
        raise click.BadParameter(f"unknown corpus {corpus_name!r}; known: {', '.join(labelled)}",
                                 param_hint="'--corpus'")
    check_methods(methods)
    if directory is not None:
        manifest = Path(directory) / MANIFEST
        if corpus_name is None and manifest.is_file():
            corpus_name = json.loads(manifest.read_text()).get("name")
        source = resolve(corpus_name or "imdb", directory)
    else:
        source = DataSource(Path(train).parent, "files")
    options = BenchOptions(out=Path(out), methods=methods, limit=limit, device=device, seed=seed, force=force,
                           corpus=corpus_name if corpus_name in KNOWN else None, train=train, test=test,
                           unlabelled=unlabelled, overrides=parse_sets(sets, ctx))
    run_and_show(options, source, run_bench)

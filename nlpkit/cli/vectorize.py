"""`nlpkit vectorize bow|tfidf`: fit a vectorizer (-o DIR), apply one (--apply DIR), or add top terms (--top K)."""

from __future__ import annotations

from pathlib import Path

import click

from nlpkit.cli._common import report_skipped, run_stage, stage_options
from nlpkit.cli._params import declared_options
from nlpkit.features.vectorizer import TopTermsOptions, VectorizeOptions


@click.group()
def vectorize():
    """Bag-of-words and TF-IDF features over n-grams (scikit-learn).

    Records with `tokens` are counted on those tokens; others on their text
    with scikit-learn's word (or character) analyzer.

    \b
      nlpkit vectorize tfidf --ngrams 1,2 --min-df 2 train.jsonl -o feats/
      nlpkit vectorize tfidf --apply feats/ test.jsonl -o feats-test/
      nlpkit vectorize tfidf --apply feats/ --top 5 test.jsonl --format text
    """


def _vectorize_command(method: str, summary: str):
    @vectorize.command(name=method, help=summary + _MODES)
    @declared_options(VectorizeOptions)
    @declared_options(TopTermsOptions)
    @stage_options
    def command(stream, apply_dir, top, **fit_options):
        from nlpkit.errors import NlpkitError
        from nlpkit.features.vectorizer import (
            TextVectorizer,
            TopTermsStage,
            apply_to_directory,
            collect_records,
            fit_to_directory,
        )

        if apply_dir is not None:
            vectorizer = TextVectorizer.load(apply_dir)
            if vectorizer.method != method:
                raise NlpkitError(f"{apply_dir} holds a {vectorizer.method} vectorizer, not {method}")
        else:
            vectorizer = TextVectorizer(method, **fit_options)
        if top is not None:
            if apply_dir is not None:
                stage = TopTermsStage(top, vectorizer_dir=apply_dir, field=stream.field)
            else:
                if not stream.inputs or "-" in stream.inputs:
                    raise click.UsageError("--top without --apply reads its inputs twice (fit, then annotate): "
                                           "name input files, or fit first with -o DIR and use --apply DIR")
                vectorizer.fit(_collect(stream, collect_records)[1])
                stage = TopTermsStage(top, vectorizer=vectorizer, field=stream.field)
            run_stage(stage, stream)
            return
        if stream.output == "-":
            raise click.UsageError("give -o DIR for the vectorizer and matrix (or --top K to stream records)")
        ids, records = _collect(stream, collect_records)
        if apply_dir is None:
            _check_directory(stream.output)
            matrix = fit_to_directory(vectorizer, ids, records, stream.output)
        else:
            matrix = apply_to_directory(vectorizer, ids, records, stream.output)
        from nlpkit.cli._common import verbose

        if verbose():
            click.echo(f"vectorize {method}: {matrix.shape[0]:,} records x {matrix.shape[1]:,} features "
                       f"({matrix.nnz:,} non-zero) -> {stream.output}", err=True)

    # -o names a directory here (vectorizer + matrix) unless --top streams records
    for param in command.params:
        if param.name == "output":
            param.type = click.Path(allow_dash=True)
            param.help = "Directory for the vectorizer and matrix.npz; with --top, the output file of records."
    return command


def _collect(stream, collect_records):
    from nlpkit import io

    items = io.read_items(stream.inputs, field=stream.field, lines=stream.lines, input_format=stream.input_format)
    ids, records, skipped = collect_records(items, stream.field, stream.on_error)
    report_skipped(skipped.summary("vectorize"))
    return ids, records


def _check_directory(output: str) -> None:
    from nlpkit.features.vectorizer import VECTORIZER_FILE

    path = Path(output)
    if path.is_file() or (path.is_dir() and any(path.iterdir()) and not (path / VECTORIZER_FILE).exists()):
        raise click.BadParameter(f"{output} exists and is not a vectorizer directory; refusing to replace it", param_hint="'-o'")


_MODES = """

    \b
    Modes:
      -o DIR           fit on the inputs; write DIR/vectorizer.json (+ idf.npz) and DIR/matrix.npz (rows = records, with ids)
      --apply FIT -o DIR   transform the inputs with a fitted vectorizer; write DIR/matrix.npz
      --top K          add each record's K highest-weighted terms as `terms` and stream the records on
    """

bow = _vectorize_command("bow", "Term counts over n-grams (bag of words).")
tfidf = _vectorize_command("tfidf", "TF-IDF weights over n-grams.")

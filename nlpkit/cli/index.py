"""`nlpkit index`: build a retrieval index (BM25 + FAISS + the records), add to it, describe it."""

from __future__ import annotations

import click

from nlpkit.cli._common import progress_bar, report_skipped, verbose
from nlpkit.cli._params import click_option, declared_options
from nlpkit.params import build as build_options, declaration_of, declared
from nlpkit.retrieval.encoder import EncoderOptions
from nlpkit.retrieval.index import IndexBuildOptions
from nlpkit.runner import RunOptions

#: how an index command reads its INPUTS: these of every stage's shared options
READ_OPTIONS = ("field", "lines", "input_format", "on_error", "batch_size")


def read_options(names: tuple[str, ...] = READ_OPTIONS):
    """The shared stream options `names`, as every stage declares them (nlpkit.runner.RunOptions)."""

    def decorate(f):
        for declaration in reversed([p for p in declared(RunOptions) if p.name in names]):
            f = click_option(declaration)(f)
        return f

    return decorate


@click.group()
def index():
    """Retrieval indexes: BM25 and a dense FAISS index over records, with the records kept.

    \b
      nlpkit index build -o index/ corpus.jsonl
      nlpkit chunk docs/ | nlpkit encode | nlpkit index build -o index/
      nlpkit index add index/ more.jsonl
      nlpkit index info index/
    """


def _summary(name: str, manifest: dict, report) -> None:
    report_skipped(report.skipped.summary(f"index {name}"))
    if verbose():
        dense = manifest["dense"]
        parts = [f"{manifest['count']:,} records", "BM25" if manifest["bm25"] else None,
                 f"{dense['kind']} dense index ({dense['dim']}-d)" if dense else None]
        click.echo(f"index {name}: {', '.join(p for p in parts if p)} in {manifest['seconds']:.1f} s", err=True)


@index.command("build")
@click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))
@declared_options(IndexBuildOptions)
@read_options()
def build(inputs, field, lines, input_format, on_error, batch_size, **options):
    """Index records: BM25, a dense index and the records themselves, in one directory.

    A record's id is its `id`, else BEIR's `_id`; its text is `text` (--field), with
    BEIR's `title` in front when not empty, so a BEIR corpus.jsonl indexes as it is.
    A record that has an `embedding` (from `nlpkit encode`) keeps it; the others are
    embedded here. The directory is written beside its place and swapped in.

    \b
      nlpkit index build -o index/ corpus.jsonl
      nlpkit index build --dense-index hnsw -o index/ passages.jsonl.gz
      nlpkit chunk docs/ | nlpkit encode | nlpkit index build -o index/
    """
    from nlpkit.io import read_items
    from nlpkit.retrieval.index import build_index

    arguments = build_options(IndexBuildOptions, options).build_arguments()
    items = read_items(inputs, field=field, lines=lines, input_format=input_format)
    with progress_bar("index build", verbose()) as progress:
        manifest, report = build_index(items, field=field, on_error=on_error, batch_size=batch_size, progress=progress,
                                       **arguments)
    _summary("build", manifest, report)


@index.command("add")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))
@click_option(declaration_of(EncoderOptions, "device"))
@read_options(tuple(n for n in READ_OPTIONS if n != "field"))
def add(directory, inputs, device, lines, input_format, on_error, batch_size):
    """Add records to an index without rebuilding it.

    The new version is written beside the old one and swapped in: a failed or killed
    add leaves the old index whole. The dense index is added to; BM25 is re-scored from
    the stored token ids (a new document changes every idf), no text is re-read.
    The index's own encoder and text field (its --field at build) are used.

    \b
      nlpkit index add index/ more.jsonl
    """
    from nlpkit.io import read_items
    from nlpkit.retrieval.index import add_to_index, read_index_manifest

    manifest = read_index_manifest(directory)  # a missing or damaged index fails before any input is read
    items = read_items(inputs, field=manifest.get("field", "text"), lines=lines, input_format=input_format)
    with progress_bar("index add", verbose()) as progress:
        manifest, report = add_to_index(items, directory, device=device, on_error=on_error, batch_size=batch_size,
                                        progress=progress)
    _summary("add", manifest, report)


@index.command("info")
@click.argument("directory", type=click.Path(file_okay=False))
def info(directory):
    """Print what an index holds, as JSON: counts, the encoder, BM25's settings, the dense index, files and sizes.

    \b
      nlpkit index info index/
    """
    import json

    from nlpkit.retrieval.index import index_info

    click.echo(json.dumps(index_info(directory), indent=2, sort_keys=True))

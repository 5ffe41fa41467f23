"""`nlpkit index`: build a retrieval index (BM25 + FAISS + the records), add to it, describe it."""

from __future__ import annotations

import click

from nlpkit.cli._common import progress_bar, report_skipped, verbose
from nlpkit.cli._retrieval import encoder_options, read_options
from nlpkit.retrieval.dense import DEFAULT_KIND, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, IVF_NPROBE
from nlpkit.retrieval.index import DENSE_CHOICES


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
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Index directory to write (replaced whole).")
@click.option("--bm25/--no-bm25", default=True, show_default=True, help="Build the BM25 index (bm25s, Lucene, k1 1.5, b 0.75, English stop words).")
@click.option("--dense-index", type=click.Choice(list(DENSE_CHOICES)), default=DEFAULT_KIND, show_default=True,
              help="flat: exact inner product; hnsw: a graph, fast and near exact; ivfpq: compressed, for large corpora; none.")
@click.option("--hnsw-m", type=click.IntRange(min=2), default=HNSW_M, show_default=True, help="hnsw: links per node.")
@click.option("--ef-construction", type=click.IntRange(min=1), default=HNSW_EF_CONSTRUCTION, show_default=True,
              help="hnsw: candidates kept while building.")
@click.option("--ef-search", type=click.IntRange(min=1), default=HNSW_EF_SEARCH, show_default=True,
              help="hnsw: candidates kept while searching (stored; search --ef-search overrides).")
@click.option("--nlist", type=click.IntRange(min=1), default=None, help="ivfpq: inverted lists.  [default: 4 sqrt(n)]")
@click.option("--nprobe", type=click.IntRange(min=1), default=IVF_NPROBE, show_default=True,
              help="ivfpq: lists searched per query (stored; search --nprobe overrides).")
@encoder_options
@read_options
def build(inputs, output, bm25, dense_index, hnsw_m, ef_construction, ef_search, nlist, nprobe, model, max_tokens, device,
          quantize, runtime, field, lines, input_format, on_error, batch_size):
    """Index records: BM25, a dense index and the records themselves, in one directory.

    A record's id is its `id`, else BEIR's `_id`; its text is `text` (--field), with
    BEIR's `title` in front when not empty, so a BEIR corpus.jsonl indexes as it is.
    A record that has an `embedding` (from `nlpkit encode`) keeps it; the others are
    embedded here. The directory is written beside its place and renamed in.

    \b
      nlpkit index build -o index/ corpus.jsonl
      nlpkit index build --dense-index hnsw -o index/ passages.jsonl.gz
      nlpkit chunk docs/ | nlpkit encode | nlpkit index build -o index/
    """
    from nlpkit.io import read_items
    from nlpkit.retrieval.index import build_index

    params = {"hnsw": {"m": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search},
              "ivfpq": {"nprobe": nprobe, **({"nlist": nlist} if nlist else {})}}.get(dense_index, {})
    items = read_items(inputs, field=field, lines=lines, input_format=input_format)
    with progress_bar("index build", verbose()) as progress:
        manifest, report = build_index(items, output, field=field, model=model, max_tokens=max_tokens, device=device,
                                       quantize=quantize, runtime=runtime, bm25=bm25, dense_index=dense_index,
                                       dense_params=params, on_error=on_error, batch_size=batch_size, progress=progress)
    _summary("build", manifest, report)


@index.command("add")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N|mps", help="Where the encoder runs.")
@read_options(field=False)
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

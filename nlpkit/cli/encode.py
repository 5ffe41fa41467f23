import dataclasses

import click

from nlpkit import io
from nlpkit.cli._common import run_registered, run_stage, stage_options, verbose
from nlpkit.cli._retrieval import encoder_options

FORMATS = [*io.OUTPUT_FORMATS, "npy"]


def _format_with_npy(f):
    """stage_options' --format, with npy added (a .npy beside an ids file; not records)."""
    for param in getattr(f, "__click_params__", []):
        if param.name == "output_format":
            param.type = click.Choice(FORMATS)
            param.help = "jsonl records; text: the main field per line; npy: -o FILE.npy (float32) and FILE.ids.txt."
    return f


@click.command()
@encoder_options
@_format_with_npy
@stage_options
def encode(stream, model, max_tokens, device, quantize, runtime):
    """Add `embedding`, the record's sentence vector (unit length, 6 decimals), to each record.

    Mean pooling and L2 normalization, as sentence-transformers computes them; BEIR's
    `title` goes in front of the text. Records are length-sorted in batches and written
    in input order.

    \b
      nlpkit chunk docs/ | nlpkit encode | nlpkit index build -o index/
      nlpkit encode --quantize int8 corpus.jsonl > encoded.jsonl
      nlpkit encode --format npy -o corpus.npy corpus.jsonl      # corpus.npy + corpus.ids.txt
    """
    options = dict(model=model, max_tokens=max_tokens, device=device, quantize=quantize, runtime=runtime)
    if stream.output_format != "npy":
        run_registered("encode", options, stream)
        return
    if stream.output in (None, "-") or stream.executor != "local":
        raise click.UsageError("--format npy writes -o FILE.npy and FILE.ids.txt beside it: give -o (and no --executor ray)")
    from nlpkit.embeddings.docvec import NpyWriter
    from nlpkit.retrieval.encoder import EMBEDDING_FIELD
    from nlpkit.stages import build_stage

    writer = NpyWriter(stream.output, field=EMBEDDING_FIELD)
    stage = build_stage("encode", field=stream.field, jobs=stream.jobs, **options)
    run_stage(stage, dataclasses.replace(stream, output="-", output_format="jsonl"), name="encode",
              writer_factory=lambda stream, **_: writer)
    if verbose():
        click.echo(f"encode: {writer.rows:,} vectors x {writer.dim} written to {stream.output} (ids: {writer.ids_path})", err=True)

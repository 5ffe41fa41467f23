import click

from nlpkit.cli._common import run_registered, run_stage, stage_options, verbose
from nlpkit.cli._params import declared_options
from nlpkit.retrieval.encoder import EncodeOptions


@click.command(help=EncodeOptions.__doc__)
@declared_options(EncodeOptions)
@click.option("--npy", type=click.Path(dir_okay=False), default=None,
              help="Write the vectors to this .npy (float32, input order) and the ids to .ids.txt beside it, instead of records.")
@stage_options
def encode(stream, npy, **options):
    if npy is None:
        run_registered("encode", options, stream)
        return
    if stream.executor != "local":
        raise click.UsageError("--npy writes one array here: it cannot run on --executor ray")
    from nlpkit.embeddings.docvec import NpyWriter
    from nlpkit.retrieval.encoder import EMBEDDING_FIELD
    from nlpkit.stages import build_stage

    stage = build_stage("encode", field=stream.field, **options)
    with NpyWriter(npy, field=EMBEDDING_FIELD) as writer:
        run_stage(stage, stream, name="encode", writer_factory=lambda stream, **_: writer)
    if verbose():
        click.echo(f"encode: {writer.rows:,} vectors x {writer.dim} written to {npy} (ids: {writer.ids_path})", err=True)

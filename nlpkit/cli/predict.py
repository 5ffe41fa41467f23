"""`nlpkit predict`: the predict stage's command, which also says how many records it abstained on."""

import click

from nlpkit.cli._common import run_counting, stage_options
from nlpkit.cli._params import declared_options
from nlpkit.models.predict import PredictOptions


@click.command(help=PredictOptions.__doc__)
@declared_options(PredictOptions)
@stage_options
def predict(stream, **options):
    from nlpkit.stages import build_stage

    stage = build_stage("predict", field=stream.field, **options)
    abstained = run_counting(stage, stream, "predict", lambda r: "pred" in r and r["pred"] is None)
    if options["min_confidence"] is not None:
        click.echo(f"predict: abstained on {abstained:,} record(s) below confidence {options['min_confidence']:g}",
                   err=True)

import click

from nlpkit.cli._common import run_stage, stage_options


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model directory (from `nlpkit train`).")
@stage_options
def predict(stream, model_dir):
    """Add each record's predicted label (`pred`) and class probabilities (`probs`).

    Works with every model kind; records keep their order and other fields.

    \b
      nlpkit predict --model models/lr test.jsonl.gz --format text | sort | uniq -c
    """
    from nlpkit.models.base import read_manifest
    from nlpkit.models.predict import PredictStage

    read_manifest(model_dir)  # a missing or damaged model fails before any input is read
    run_stage(PredictStage(model_dir, field=stream.field), stream)

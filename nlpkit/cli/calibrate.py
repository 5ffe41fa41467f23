"""`nlpkit calibrate` and `nlpkit threshold`: fit a saved model's probabilities and decision rule on held-out records."""

from __future__ import annotations

import click

from nlpkit.cli._params import declared_options
from nlpkit.decisions import CalibrateOptions, ThresholdOptions


def _held_out(valid_file: str, field: str, label_field: str):
    from nlpkit.models.training import load_dataset

    return load_dataset(valid_file, field, label_field)  # both labels: one alone calibrates nothing


@click.command()
@declared_options(CalibrateOptions)
def calibrate(model_dir, valid_file, method, field, label_field):
    """Calibrate a saved model's probabilities on held-out records.

    Writes calibration.json into the model directory (sealed by its manifest);
    predict, serve, evaluate and bench then read calibrated probabilities. A saved
    threshold was chosen on the old probabilities and is removed.

    \b
      nlpkit calibrate --model models/svm --valid valid.jsonl.gz
      nlpkit calibrate --model models/svm --valid valid.jsonl.gz --method isotonic
    """
    from nlpkit.models.adjust import calibrate_directory

    data = _held_out(valid_file, field, label_field)
    calibrator, removed = calibrate_directory(model_dir, data.records, data.labels, method, source=valid_file)
    if calibrator is None:
        click.echo(f"calibrate: {model_dir} now gives its raw probabilities", err=True)
    else:
        before, after = calibrator.info["before"], calibrator.info["after"]
        click.echo(f"calibrate: {calibrator.method} on {len(data):,} records of {valid_file}: ECE {before['ece']:.4f} -> "
                   f"{after['ece']:.4f}, log-loss {before['log_loss']:.4f} -> {after['log_loss']:.4f} (there)", err=True)
    if removed:
        click.echo("calibrate: removed the saved threshold (chosen on the old probabilities); run `nlpkit threshold` "
                   "again", err=True)


@click.command()
@declared_options(ThresholdOptions)
def threshold(model_dir, valid_file, metric, label, save, as_json, field, label_field):
    """Sweep a two-label model's decision threshold on held-out records.

    Prints precision, recall and F1 of the label at thresholds 0.05 to 0.95 and at
    the one chosen for --metric (marked *), as spaCy's find-threshold does. With
    --save, predict and serve predict the label when its probability is at least
    the threshold.

    \b
      nlpkit threshold --model models/nbsvm --valid valid.jsonl.gz --metric precision@recall=0.9 --save
      nlpkit threshold --model models/nbsvm --valid valid.jsonl.gz --metric recall@precision=0.95
    """
    from nlpkit.io import dumps
    from nlpkit.models.base import load_model
    from nlpkit.models.adjust import save_threshold
    from nlpkit.models.threshold import find_threshold, parse_metric

    parse_metric(metric)  # a bad --metric fails before the model is read
    model = load_model(model_dir)
    data = _held_out(valid_file, field, label_field)
    rule, curve = find_threshold(model, data.records, data.labels, metric, label, source=valid_file)
    if as_json:
        click.echo(dumps({"model": str(model_dir), "chosen": rule, "curve": curve}).decode())
    else:
        click.echo(f"threshold on P({rule['label']}), {len(data):,} records of {valid_file}")
        click.echo(f"{'threshold':>10} {'precision':>10} {'recall':>10} {'F1':>10} {'predicted':>10}")
        for point in curve:
            mark = " *" if point.get("chosen") else ""
            click.echo(f"{point['threshold']:>10.4f} {point['precision']:>10.4f} {point['recall']:>10.4f} "
                       f"{point['f1']:>10.4f} {point['predicted']:>10,}{mark}")
    v = rule["valid"]
    click.echo(f"threshold: {metric}: {rule['threshold']:.4f} (precision {v['precision']:.4f}, recall {v['recall']:.4f}, "
               f"F1 {v['f1']:.4f} on --valid)" + ("; saved" if save else ""), err=True)
    if save:
        save_threshold(model_dir, rule)

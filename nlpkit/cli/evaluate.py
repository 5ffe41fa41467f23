import click


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model directory (from `nlpkit train`).")
@click.option("--test", "test_file", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True), help="Labelled test records (JSONL).")
@click.option("--field", default="text", show_default=True, help="Record field that holds the text.")
@click.option("--label-field", default="label", show_default=True, help="Record field that holds the label.")
@click.option("--json", "as_json", is_flag=True, help="Write the metrics as JSON on stdout, and nothing else there.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True, help="Records per prediction batch.")
def evaluate(model_dir, test_file, field, label_field, as_json, batch_size):
    """Score a model on labelled records: accuracy, macro-F1, per-class P/R/F1, confusion matrix,
    and how well its probabilities are calibrated: ECE (15 bins), Brier score, log-loss.

    The tables go to stderr; with --json, the metrics go to stdout as JSON and the tables
    only to a terminal's stderr.

    \b
      nlpkit evaluate --model models/lr --test test.jsonl.gz --json > metrics.json
    """
    from rich.console import Console

    from nlpkit.cli._common import is_terminal
    from nlpkit.io import dumps
    from nlpkit.models.base import load_model
    from nlpkit.models.evaluation import evaluate_model, metrics_table
    from nlpkit.models.training import read_labelled

    model = load_model(model_dir)
    metrics = evaluate_model(model, read_labelled(test_file, field, label_field), batch_size=batch_size, source=test_file)
    metrics = {"model": str(model_dir), "kind": model.kind, "test": test_file, **metrics}
    if not as_json or is_terminal():
        Console(stderr=True).print(metrics_table(metrics, title=f"{model.kind} ({model_dir}) on {test_file}"))
    if as_json:
        click.echo(dumps(metrics).decode())

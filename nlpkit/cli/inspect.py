import click


@click.command()
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model directory (a linear kind).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Features per label and direction.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout instead of tables.")
def inspect(model_dir, top, as_json):
    """Show the features with the largest positive and negative weights per label.

    For the linear kinds (bow-nb, tfidf-lr, tfidf-svm, nbsvm).

    \b
      nlpkit inspect --model models/lr --top 10
    """
    from nlpkit.errors import NlpkitError
    from nlpkit.io import dumps
    from nlpkit.models.base import load_model

    model = load_model(model_dir)
    if not hasattr(model, "top_features"):
        raise NlpkitError(f"{model_dir}: a {model.kind} model has no per-feature weights to inspect (linear kinds only)")
    features = model.top_features(top)
    if as_json:
        click.echo(dumps(features).decode())
        return
    from rich.table import Table

    from nlpkit.cli._console import stdout_console

    console = stdout_console()
    for label, sides in features.items():
        console.print(f"{label}: the features that weigh most towards it, and away from it", markup=False, highlight=False)
        table = Table()
        for column in ("towards", "weight", "away", "weight "):
            table.add_column(column, justify="right" if column.startswith("weight") else "left")
        for (up, up_w), (down, down_w) in zip(sides["positive"], sides["negative"]):
            table.add_row(up, f"{up_w:+.4f}", down, f"{down_w:+.4f}")
        console.print(table)

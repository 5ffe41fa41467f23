"""`nlpkit train`: fit any registered model kind on a labelled JSONL file and save it.

Generic over the kind registry. The options in the per-family blocks below are
passed to the chosen kind by name (``--max-features`` -> ``max_features``),
and only the ones the user gave: each kind keeps its own defaults. An option
the kind's ``__init__`` does not take is a usage error. To add a family's
options, add a block of ``click.option`` lines with ``default=None`` below.
"""

from __future__ import annotations


import click

from nlpkit.cli._params import declared_options
from nlpkit.models.options import ModelOptions

# Options that steer the run itself; every other option is a model parameter.
GENERAL = ("model", "train", "valid", "output", "seed", "field", "label_field", "valid_fraction")


def _kinds() -> list[str]:
    from nlpkit.models import MODEL_KINDS  # names only: nothing heavy

    return sorted(MODEL_KINDS)


class _TrainCommand(click.Command):
    """Lists the registered kinds at the end of --help (the registry is read only then)."""

    def format_epilog(self, ctx, formatter):
        formatter.write_paragraph()
        formatter.write_text("Kinds: " + ", ".join(_kinds()) + ".")


#: the model-parameter options (nlpkit.models.options): all default to None (= the kind's default)
model_options = declared_options(ModelOptions)


@click.command(cls=_TrainCommand)
@click.option("--model", "model", required=True, metavar="KIND", help="Model kind (see below).")
@click.option("--train", "train", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True), help="Labelled training records (JSONL).")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False), default=None, help="Validation records; default: a stratified slice of --train.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the validation slice and the model.")
@click.option("--field", default="text", show_default=True, help="Record field that holds the text.")
@click.option("--label-field", default="label", show_default=True, help="Record field that holds the label.")
@click.option("--valid-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True, help="Slice held out for validation when --valid is absent (0: none).")
@model_options
@click.pass_context
def train(ctx, model, train, valid, output, seed, field, label_field, valid_fraction, **options):
    """Train a classifier on labelled records and save it as a model directory.

    Model options apply only to the kinds that take them; an option a kind
    does not take is an error. Unset options keep the kind's defaults.

    \b
      nlpkit train --model tfidf-lr --train train.jsonl.gz -o models/lr
      nlpkit train --model nbsvm --ngrams 1,2 -C 1 --train train.jsonl.gz -o models/nbsvm
      nlpkit train --model fasttext --ngrams 2 --epochs 10 --train train.jsonl.gz -o models/ft
    """
    from nlpkit.cli._common import verbose
    from nlpkit.models.training import ParamError, save_trained, train_model

    kinds = _kinds()
    if model not in kinds:
        raise click.BadParameter(f"{model!r} is not a model kind; choose from {', '.join(kinds)}", param_hint="'--model'")
    from nlpkit.modeldir import check_output_dir

    check_output_dir(output)
    params = {name: value for name, value in options.items() if value is not None}
    if _takes(model, "run_dir"):  # neural kinds checkpoint into the output directory as they train
        params["run_dir"] = output
    show = verbose()
    console = _stderr_console() if show else None

    def on_phase(message: str) -> None:
        if console is not None:
            console.print(f"train {model}: {message}", markup=False, highlight=False)

    try:
        result = train_model(model, params, train, valid, field=field, label_field=label_field, seed=seed,
                             valid_fraction=valid_fraction, on_phase=on_phase, progress=show)
    except ParamError as e:
        raise click.UsageError(f"{_flag(ctx, e.name)} does not apply to --model {model}") from None
    save_trained(result, output, field=field, label_field=label_field, seed=seed)
    if show:
        click.echo(f"train: {summary(model, result)}; saved to {output}", err=True)


def summary(kind: str, result) -> str:
    line = f"{kind} on {result.n_train:,} records ({len(result.model.labels_)} labels) in {result.fit_seconds:.2f} s"
    if result.metrics:
        m = result.metrics
        line += f"; validation ({result.n_valid:,}): accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}"
    return line


def _takes(kind: str, name: str) -> bool:
    from nlpkit.models.training import kind_parameters

    return name in kind_parameters(kind)


def _flag(ctx: click.Context, name: str) -> str:
    for param in ctx.command.params:
        if param.name == name:
            return max(param.opts, key=len)
    return name


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


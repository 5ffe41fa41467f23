"""`nlpkit train`: fit any registered model kind on a labelled JSONL file and save it.

Generic over the kind registry. The options in the per-family blocks below are
passed to the chosen kind by name (``--max-features`` -> ``max_features``),
and only the ones the user gave: each kind keeps its own defaults. An option
the kind's ``__init__`` does not take is a usage error. To add a family's
options, add a block of ``click.option`` lines with ``default=None`` below.
"""

from __future__ import annotations

from pathlib import Path

import click

from nlpkit.cli._params import COUNT_OR_FRACTION, NGRAMS, declared_options
from nlpkit.decisions import TrainCalibration

# Options that steer the run itself; every other option is a model parameter.
GENERAL = ("model", "train", "valid", "output", "seed", "field", "label_field", "valid_fraction", "calibrate")


def _kinds() -> list[str]:
    from nlpkit.models import MODEL_KINDS  # names only: nothing heavy

    return sorted(MODEL_KINDS)


class _TrainCommand(click.Command):
    """Lists the registered kinds at the end of --help (the registry is read only then)."""

    def format_epilog(self, ctx, formatter):
        formatter.write_paragraph()
        formatter.write_text("Kinds: " + ", ".join(_kinds()) + ".")


def model_options(f):
    """The model-parameter options, one block per family; all default to None (= the kind's default)."""
    blocks = [
        # --- shared by several families ---
        click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (fasttext, neural)."),
        click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Learning rate (fasttext, neural)."),
        click.option("--dim", type=click.IntRange(min=1), default=None, help="Vector size (fasttext, embeddings)."),
        # --- classical: bow-nb, tfidf-lr, tfidf-svm, nbsvm, fasttext ---
        click.option("--ngrams", type=NGRAMS, default=None, help="Word n-gram range MIN,MAX (fasttext: 1,N)."),
        click.option("--max-features", type=click.IntRange(min=1), default=None, help="Keep the most frequent N features."),
        click.option("--min-df", type=COUNT_OR_FRACTION, default=None, help="Ignore terms in fewer documents (count or fraction)."),
        click.option("--max-df", type=COUNT_OR_FRACTION, default=None, help="Ignore terms in more documents (count or fraction)."),
        click.option("--sublinear-tf/--no-sublinear-tf", default=None, help="1 + log(tf) in place of tf (tfidf kinds)."),
        click.option("--binary/--no-binary", default=None, help="Presence counts (bow-nb)."),
        click.option("--analyzer", type=click.Choice(["word", "char", "char_wb"]), default=None, help="Features from words or character n-grams."),
        click.option("-C", "C", type=click.FloatRange(min=0, min_open=True), default=None, help="Inverse regularisation strength (lr, svm, nbsvm)."),
        click.option("--max-iter", type=click.IntRange(min=1), default=None, help="Solver iterations (tfidf-lr, tfidf-svm, nbsvm)."),
        click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=None, help="Smoothing (bow-nb, nbsvm)."),
        click.option("--beta", type=click.FloatRange(0, 1), default=None, help="NB-SVM interpolation weight."),
        click.option("--classifier", type=click.Choice(["svm", "lr"]), default=None, help="NB-SVM's linear model."),
        click.option("--bucket", type=click.IntRange(min=1), default=None, help="fastText hash buckets for n-grams."),
        click.option("--min-count", type=click.IntRange(min=1), default=None, help="Minimum word count (fasttext; lstm, bilstm, gru vocabulary)."),
        click.option("--threads", type=click.IntRange(min=1), default=None, help="fastText threads (1 is deterministic); torch CPU threads (neural)."),
        # --- neural: lstm, bilstm, gru, bert ---
        click.option("--vocab-size", type=click.IntRange(min=3), default=None, help="Vocabulary size, <pad> and <unk> included (lstm, bilstm, gru)."),
        click.option("--vectors", default=None, metavar="SPEC", help="Initialise embeddings from vectors: an nlpkit vectors dir, a word2vec/GloVe/fastText file, or glove-6b-50d; their size is the model's (fasttext, lstm, bilstm, gru)."),
        click.option("--freeze-embeddings/--train-embeddings", default=None, help="Keep the embeddings fixed: the --vectors ones (lstm, bilstm, gru), the LM's (lm-lstm, lm-transformer)."),
        click.option("--max-len", type=click.IntRange(min=1), default=None, help="Tokens kept per text (neural; bert counts [CLS]/[SEP])."),
        click.option("--truncate", type=click.Choice(["head", "tail", "head+tail"]), default=None, help="What a longer text keeps: its start, its end, or both (a quarter from the start; Sun et al. 2019) (neural)."),
        click.option("--padding", type=click.Choice(["pre", "post", "packed"]), default=None, help="Pad before or after the tokens, or pack the sequences (lstm, bilstm, gru)."),
        click.option("--hidden", type=click.IntRange(min=1), default=None, help="Recurrent state size (lstm, bilstm, gru)."),
        click.option("--layers", type=click.IntRange(min=1), default=None, help="Stacked recurrent layers (lstm, bilstm, gru)."),
        click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="Dropout on embeddings and the pooled state (lstm, bilstm, gru)."),
        click.option("--pooling", type=click.Choice(["last", "max", "mean"]), default=None, help="Text vector: the last state, or max/mean over time (lstm, bilstm, gru)."),
        click.option("--schedule", type=click.Choice(["constant", "linear", "cosine"]), default=None, help="Learning rate over the run: constant, or a linear/cosine decay to 0 (lstm, bilstm, gru; default constant)."),
        click.option("--clip", type=click.FloatRange(min=0), default=None, help="Clip the gradient norm to this (0: off) (neural)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Examples per batch (neural)."),
        click.option("--grad-accum", type=click.IntRange(min=1), default=None, help="Batches per optimizer step (neural)."),
        click.option("--patience", type=click.IntRange(min=0), default=None, help="Early stopping: epochs without a better --monitor value (0: off) (neural)."),
        click.option("--monitor", type=click.Choice(["loss", "accuracy"]), default=None, help="Validation metric for model-best/ and early stopping (neural)."),
        click.option("--checkpoint", default=None, metavar="NAME_OR_DIR", help="Pre-trained transformer: a local directory or a hub name (bert; default: the offline all-MiniLM-L6-v2)."),
        click.option("--warmup", type=click.FloatRange(0, 1, max_open=True), default=None, help="Share of steps with a linear learning-rate warm-up (bert)."),
        click.option("--weight-decay", type=click.FloatRange(min=0), default=None, help="AdamW weight decay (bert)."),
        click.option("--device", default=None, metavar="auto|cpu|cuda|cuda:N|mps", help="Where to train (neural; auto: cuda, then mps, then cpu)."),
        click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader worker processes (neural; default: 2 on CUDA, else 0)."),
        click.option("--save-every", type=click.IntRange(min=0), default=None, help="Also checkpoint model-last/ every N optimizer steps (neural)."),
        click.option("--resume", is_flag=False, flag_value="latest", default=None, metavar="[DIR]", help="Continue an interrupted run from -o's model-last/, or from DIR (neural)."),
        # --- from a pretrained language model: lm-lstm, lm-transformer ---
        click.option("--lm", default=None, metavar="DIR", help="Language model to start from: a directory of nlpkit lm train (lm-lstm, lm-transformer)."),
        click.option("--concat-pooling/--no-concat-pooling", default=None, help="Text vector [last, max, mean] over the states, else the last state (lm-lstm, lm-transformer; default on)."),
        click.option("--pool-embeddings/--no-pool-embeddings", default=None, help="Add the word embeddings' max and mean over time to the text vector, as ELMo reads its token layer (lm-lstm, lm-transformer; default on for lm-lstm, off for lm-transformer)."),
        click.option("--discriminative-lr/--no-discriminative-lr", default=None, help="Each lower layer group learns 2.6x slower (lm-lstm, lm-transformer; default on)."),
        click.option("--gradual-unfreezing/--no-gradual-unfreezing", default=None, help="Unfreeze one layer group per epoch from the top (lm-lstm, lm-transformer; default off for lm-lstm, on for lm-transformer)."),
        click.option("--slanted-triangular/--no-slanted-triangular", default=None, help="Slanted triangular learning rate, else constant (lm-lstm, lm-transformer; default on)."),
        # --- embeddings: w2v-lr ---
        click.option("--pool", type=click.Choice(["mean", "tfidf"]), default=None, help="Document vector from word vectors: their mean or TF-IDF-weighted mean (w2v-lr; --vectors chooses the vectors, default glove-6b-50d)."),
        click.option("--lower/--no-lower", default=None, help="Lowercase and split raw text into words and punctuation before the lookup (w2v-lr; default on, as GloVe 6B is lowercased)."),
    ]
    for decorator in reversed(blocks):
        f = decorator(f)
    return f


@click.command(cls=_TrainCommand)
@click.option("--model", "model", required=True, metavar="KIND", help="Model kind (see below).")
@click.option("--train", "train", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True), help="Labelled training records (JSONL).")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False), default=None, help="Validation records; default: a stratified slice of --train.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the validation slice and the model.")
@click.option("--field", default="text", show_default=True, help="Record field that holds the text.")
@click.option("--label-field", default="label", show_default=True, help="Record field that holds the label.")
@click.option("--valid-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True, help="Slice held out for validation when --valid is absent (0: none).")
@declared_options(TrainCalibration)
@model_options
@click.pass_context
def train(ctx, model, train, valid, output, seed, field, label_field, valid_fraction, calibrate, **options):
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
    _check_output(output)
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
                             valid_fraction=valid_fraction, on_phase=on_phase, progress=show, calibrate=calibrate)
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


def _check_output(output: str) -> None:
    """Refuse to replace a directory that is not a model directory (saving replaces it whole)."""
    from nlpkit.models.base import MANIFEST

    path = Path(output)
    interrupted_run = (path / "model-last").is_dir()  # a neural run to --resume
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).exists() and not interrupted_run:
        raise click.BadParameter(
            f"{output} exists and is not a model directory; refusing to replace it", param_hint="'-o'"
        )


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


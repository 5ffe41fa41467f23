"""`nlpkit lm train|perplexity|generate`: language models (see docs/language-models.md).

Thin commands over nlpkit.lm: options in, a LanguageModel or a record stage out.
"""

from __future__ import annotations

import click

from nlpkit.cli._common import run_stage, stage_options, verbose
from nlpkit.cli._params import declared_options
from nlpkit.device import DEVICE_HELP
from nlpkit.lm.stages import GenerateOptions, PerplexityOptions


@click.group()
def lm():
    """Language models: train one, measure perplexity, generate text.

    \b
      nlpkit lm train --arch lstm -o models/lm corpora/imdb-sample/train.jsonl.gz
      nlpkit lm perplexity --model models/lm corpora/imdb-sample/test.jsonl.gz --json
      nlpkit lm generate --model models/lm --prompt "this movie" --strategy sample --top-k 40
    """


def _cutoffs(ctx, param, value):
    if value is None:
        return None
    try:
        cuts = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of whole numbers") from None
    if not cuts or cuts != sorted(set(cuts)) or cuts[0] < 1:
        raise click.BadParameter(f"{value!r}: cut-offs must be increasing positive numbers")
    return cuts


@lm.command("train")
@click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--arch", type=click.Choice(["lstm", "transformer"]), default="lstm", show_default=True, help="AWD-LSTM-style LSTM, or a decoder-only transformer (GPT).")
@click.option("--tokenizer", type=click.Choice(["word", "wordpiece"]), default=None, help="Word vocabulary from the data, or the bundled WordPiece vocabulary (default: word).")
@click.option("--vocab-size", type=click.IntRange(min=4), default=None, help="Word vocabulary size, <pad> <unk> <eos> included (default 30000).")
@click.option("--min-count", type=click.IntRange(min=1), default=None, help="Words seen fewer times become <unk> (default 2).")
@click.option("--dim", type=click.IntRange(min=1), default=None, help="Embedding width; the transformer's width (default 128).")
@click.option("--vectors", default=None, metavar="VECTORS", help="Start the embedding from these word vectors (a directory or file `nlpkit embed` reads; --dim becomes theirs; word vocabulary only). Words they lack start at random with the vectors' scale.")
@click.option("--hidden", type=click.IntRange(min=1), default=None, help="LSTM state size (default 256; the last layer is --dim wide when weights are tied).")
@click.option("--layers", type=click.IntRange(min=1), default=None, help="LSTM layers or transformer blocks (default 2).")
@click.option("--heads", type=click.IntRange(min=1), default=None, help="Attention heads (transformer; default 4).")
@click.option("--context", type=click.IntRange(min=2), default=None, help="Tokens per training window; the transformer's longest input (default 64).")
@click.option("--positions", type=click.Choice(["learned", "sinusoidal"]), default=None, help="Position embeddings (transformer; default learned).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="LSTM: locked dropout between layers; transformer: all dropout (default 0.1).")
@click.option("--emb-dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="Share of words dropped from the embedding matrix per batch (LSTM; default 0.05).")
@click.option("--tie-weights/--no-tie-weights", default=None, help="Output layer shares the embedding's weights (default on; not with --adaptive-softmax).")
@click.option("--adaptive-softmax/--full-softmax", default=None, help="torch's AdaptiveLogSoftmaxWithLoss in place of a full softmax (default: full).")
@click.option("--cutoffs", callback=_cutoffs, default=None, metavar="N,N,...", help="Adaptive softmax cluster bounds (default 2000,10000,50000 below the vocabulary size).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs (default 3).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="AdamW peak learning rate (default 0.002).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Windows per batch (default 32).")
@click.option("--grad-accum", type=click.IntRange(min=1), default=None, help="Batches per optimizer step (default 1).")
@click.option("--clip", type=click.FloatRange(min=0), default=None, help="Clip the gradient norm to this, 0: off (default 1.0).")
@click.option("--warmup", type=click.FloatRange(0, 1, max_open=True), default=None, help="Share of steps with a linear warm-up (default 0.05).")
@click.option("--schedule", type=click.Choice(["cosine", "linear", "constant"]), default=None, help="Decay after the warm-up (default cosine).")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=None, help="AdamW weight decay (default 0.01).")
@click.option("--patience", type=click.IntRange(min=0), default=None, help="Early stopping: epochs without a lower validation loss, 0: off.")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS", help="Stop training after this many seconds (the epoch in progress is validated and kept).")
@click.option("--valid", "valid_path", type=click.Path(exists=True, dir_okay=False), default=None, help="Validation records; default: a seeded --valid-fraction of the inputs.")
@click.option("--valid-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.05, show_default=True, help="Records held out for validation perplexity when --valid is absent (0: none).")
@click.option("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader workers (default: 2 on CUDA, else 0).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the split, the initial weights and the batches.")
@click.option("--save-every", type=click.IntRange(min=0), default=None, help="Also checkpoint model-last/ every N optimizer steps.")
@click.option("--resume", is_flag=False, flag_value="latest", default=None, metavar="[DIR]", help="Continue an interrupted run from -o's model-last/, or from DIR.")
@click.option("--field", default="text", show_default=True, help="Record field that holds the text (records with tokens train on them).")
@click.option("--lines", is_flag=True, help="Read plain-text files as one document per line.")
def train(inputs, output, valid_path, valid_fraction, seed, field, lines, **options):
    """Train a language model on records or text (INPUTS, default stdin).

    \b
      nlpkit lm train --arch lstm --epochs 2 -o models/lm corpora/imdb-sample/train.jsonl.gz
      nlpkit lm train --arch transformer --layers 2 --heads 4 --dim 128 --context 64 -o models/gpt reviews.jsonl
    """
    from nlpkit.modeldir import check_output_dir
    from nlpkit.lm.model import LanguageModel
    from nlpkit.lm.corpus import read_corpus, split_corpus

    check_output_dir(output)
    params = {name: value for name, value in options.items() if value is not None}
    model = LanguageModel(**params, seed=seed, run_dir=output)
    model.check()  # before reading: options that do not fit fail fast
    model.show_progress = verbose()
    records = read_corpus(inputs, field=field, lines=lines)
    valid = read_corpus([valid_path], field=field) if valid_path else None
    if valid is None and valid_fraction > 0:
        records, valid = split_corpus(records, valid_fraction, seed)
    model.fit(records, valid, field=field)
    model.save(output)
    if verbose():
        click.echo(f"lm train: {summary(model, len(records), len(valid or []))}; saved to {output}", err=True)


def summary(model, n_train: int, n_valid: int) -> str:
    last = model.history_[-1] if model.history_ else {}
    line = (f"{model.arch} on {n_train:,} records, vocabulary {model.vocab_size_:,}, {len(model.history_)} epoch(s) "
            f"in {model.fit_seconds_:.1f} s ({last.get('tokens_per_s', 0):,.0f} tokens/s)")
    if "valid_perplexity" in last:
        best = min(row["valid_perplexity"] for row in model.history_)
        line += f"; validation ({n_valid:,} records) perplexity {best:.2f}"
    return line


@lm.command("perplexity")
@declared_options(PerplexityOptions)
@stage_options
def perplexity(stream, **options):
    """Perplexity of a language model on records: exp of the mean negative log-likelihood per token.

    Each record is scored on its own, its final <eos> included. Streams:
    records are read and scored a batch at a time.

    \b
      nlpkit lm perplexity --model models/lm test.jsonl.gz --json
      nlpkit lm perplexity --model models/lm --per-record reviews.jsonl | jq 'select(.perplexity < 200)'
    """
    from nlpkit.params import build

    # the stage scores each record; without --per-record the command adds the scores up
    settings = build(PerplexityOptions, options)
    stage = settings.scorer(stream.field)
    if settings.per_record:
        run_stage(stage, stream, name="lm perplexity")
        return
    from nlpkit.lm.stages import corpus_perplexity

    figures = corpus_perplexity(stage, stream.inputs, lines=stream.lines, input_format=stream.input_format,
                                batch_size=stream.batch_size)
    if settings.as_json:
        import json

        line = json.dumps(figures)
    else:
        line = (f"perplexity {figures['perplexity']:.2f} on {figures['tokens']:,} tokens "
                f"({figures['records']:,} records; vocabulary {figures['vocab_size']:,})")
    if stream.output in (None, "-"):
        click.echo(line)
    else:  # -o: the figures go to that file (atomically)
        from pathlib import Path

        from nlpkit.files import atomic_write_bytes

        atomic_write_bytes(Path(stream.output), (line + "\n").encode())


@lm.command("generate")
@declared_options(GenerateOptions)
@stage_options
def generate(stream, **options):
    """Continue each record's text (or --prompt) into a `generated` field; other fields pass through.

    A prompt longer than the model's context keeps its last tokens; such records get
    a `prompt_truncated` field (tokens dropped) and a line on stderr says how many.

    \b
      nlpkit lm generate --model models/lm --prompt "the acting was" --strategy beam --beam-width 5
      nlpkit lm generate --model models/lm --strategy sample --temperature 0.8 --top-k 40 prompts.jsonl
    """
    from nlpkit import io
    from nlpkit.lm.stages import CountingWriter, generate_one
    from nlpkit.stages import build_stage

    stage = build_stage("lm generate", field=stream.field, **options)
    if options["prompt"] is not None and not stream.inputs:
        truncated = generate_one(stage, stream.output, stream.output_format)
    else:
        writers = []

        def counting_writer(out, **options):
            writers.append(CountingWriter(io.make_writer(stream.output_format, out, **options)))
            return writers[-1]

        run_stage(stage, stream, name="lm generate", writer_factory=counting_writer)
        truncated = sum(w.truncated for w in writers)
    if truncated:
        click.echo(f"lm generate: {truncated:,} prompt(s) longer than the model's context kept their last tokens "
                   "(see the prompt_truncated field)", err=True)


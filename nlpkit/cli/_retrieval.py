"""Options the retrieval commands share (encode, index build, search): the encoder and how it runs."""

from __future__ import annotations

import click

from nlpkit.retrieval.encoder import QUANTIZE_CHOICES, RUNTIMES

DEVICE_METAVAR = "auto|cpu|cuda|cuda:N|mps"


def encoder_options(f):
    """--model, --max-tokens, --device, --quantize, --runtime."""
    decorators = [
        click.option("--model", default=None, metavar="DIR|NAME",
                     help="Sentence encoder: a sentence-transformers directory or hub name.  [default: the bundled all-MiniLM-L6-v2]"),
        click.option("--max-tokens", type=click.IntRange(min=2), default=None, metavar="N",
                     help="Word pieces a text is cut to, special tokens included.  [default: the model's max_seq_length; 256 for MiniLM]"),
        click.option("--device", default="auto", show_default=True, metavar=DEVICE_METAVAR, help="Where the encoder runs."),
        click.option("--quantize", type=click.Choice(list(QUANTIZE_CHOICES)), default=None,
                     help="int8 dynamic quantization of the encoder's Linear layers (faster on CPU), as predict has."),
        click.option("--runtime", type=click.Choice(list(RUNTIMES)), default="torch", show_default=True,
                     help="onnx: the encoder exported once to ONNX (cached under $NLPKIT_HOME) and run by onnxruntime."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def read_options(f=None, *, field: bool = True):
    """How an index command reads its INPUTS: --field (unless `field` is False), --lines, --input-format, --on-error, --batch-size."""
    if f is None:
        return lambda g: read_options(g, field=field)
    from nlpkit import io

    decorators = [
        click.option("--field", default="text", show_default=True, help="Record field that holds the text (BEIR's title goes in front)."),
    ][: 1 if field else 0] + [
        click.option("--lines", is_flag=True, help="Read plain-text files as one document per line (default: one per file)."),
        click.option("--input-format", type=click.Choice(["auto", *io.INPUT_FORMATS]), default="auto", show_default=True,
                     help="Input format; auto: *.jsonl(.gz) are records, stdin is sniffed, other files are text."),
        click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
                     help="Stop at a bad record, or skip and count it."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Records per batch.  [default: 256]"),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f

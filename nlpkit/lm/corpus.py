"""Reading a language model's training records, and the held-out slice for validation perplexity."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nlpkit.errors import InputError
from nlpkit.io import iter_records, read_items
from nlpkit.records import model_input


def read_corpus(inputs: Iterable[str], field: str = "text", lines: bool = False) -> list[dict]:
    """What a language model reads of every record (its text and/or tokens); a bad record stops with its location."""
    inputs = list(inputs) or ["-"]
    records = [r for _, r in iter_records(read_items(inputs, field=field, lines=lines), read=lambda r: model_input(r, field))]
    if not records:
        raise InputError(", ".join(inputs), "no records: a language model needs text to train on")
    return records


def split_corpus(records: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, valid): a seeded `fraction` of the records (at least one, never all) held out; order kept."""
    if len(records) < 2:
        return records, []
    n_valid = min(max(1, round(fraction * len(records))), len(records) - 1)
    held = set(np.random.default_rng(seed).permutation(len(records))[:n_valid].tolist())
    return [r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held]

"""Defaults that depend on the training-set size: the documented rule a kind's ``None`` default resolves by.

A kind's defaults are the settings its benchmark row was validated with (nlpkit/bench/methods.py).
Some of those were chosen on full IMDb's 2,500-review validation slice and do not suit a few
hundred reviews: word trigrams are too sparse, and fastText's 40 epochs at lr 0.1 barely move a
model of a few hundred lines (docs/benchmarks.md). For those parameters a kind's default is
``None``, and at ``fit`` it takes the value for the training-set size: the *small* one below
:data:`SMALL_TRAIN` records, else the *full* one. The chosen value replaces the ``None``, so the
manifest records what was trained.
"""

from __future__ import annotations

from typing import Any

# a training set smaller than this gets each kind's small-data settings
SMALL_TRAIN = 5_000


def by_size(n_train: int, small: Any, full: Any) -> Any:
    return small if n_train < SMALL_TRAIN else full


def resolve_sized(model, n_train: int) -> None:
    """Fill each of `model`'s ``size_rules`` parameters left at None with its value for `n_train` records."""
    for name, (small, full) in getattr(model, "size_rules", {}).items():
        if getattr(model, name) is None:
            setattr(model, name, by_size(n_train, small, full))

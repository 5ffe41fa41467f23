"""click parameter types shared by the feature and model commands (light: click only)."""

from __future__ import annotations

import click


class NgramRange(click.ParamType):
    """``MIN,MAX`` (e.g. ``1,2``), or ``N`` for 1..N."""

    name = "MIN,MAX"

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, list)):
            return tuple(value)
        try:
            parts = [int(p) for p in str(value).split(",")]
        except ValueError:
            self.fail(f"{value!r} is not MIN,MAX (two whole numbers, e.g. 1,2)", param, ctx)
        if len(parts) == 1:
            parts = [1, parts[0]]
        if len(parts) != 2 or parts[0] < 1 or parts[1] < parts[0]:
            self.fail(f"{value!r}: need 1 <= MIN <= MAX, e.g. 1,2", param, ctx)
        return tuple(parts)


class CountOrFraction(click.ParamType):
    """A document count (``2``) or a fraction of documents (``0.5``), as scikit-learn's min_df/max_df."""

    name = "N|FRACTION"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        text = str(value)
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            self.fail(f"{value!r} is neither a count nor a fraction", param, ctx)
        if isinstance(number, float) and not 0.0 <= number <= 1.0:
            self.fail(f"{value!r}: a fraction must be between 0 and 1", param, ctx)
        if isinstance(number, int) and number < 1:
            self.fail(f"{value!r}: a count must be at least 1", param, ctx)
        return number


NGRAMS = NgramRange()
COUNT_OR_FRACTION = CountOrFraction()

"""The record contract: which fields a stage or a model reads, the word fallback, bad-record skipping.

A record is one JSON object (``{"id": ..., "text": ..., "label": ...}``). Stages
read its text field (``--field``, default ``text``) or its ``tokens``; models
read both through :func:`model_input`, so that a label can never leak into a
model. Where a record has no ``tokens``, the text is split either on whitespace
(:func:`get_tokens`, what every token stage does) or into words and punctuation by
:data:`WORD_RE` (:func:`words`, the same pattern as ``nlpkit tokenize --engine
regex``): one pattern for every fallback in nlpkit.

A record that cannot be read or processed is a :class:`~nlpkit.errors.RecordError`;
with ``--on-error skip`` it is counted in a :class:`Skipped` tally, and the one
summary line the user sees is :meth:`Skipped.summary`.
"""

from __future__ import annotations

import re
from itertools import repeat
from dataclasses import dataclass, field
from typing import Any

from nlpkit.errors import RecordError

Record = dict[str, Any]

#: words (letters/digits, with inner apostrophes or hyphens) and single punctuation marks
WORD_RE = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")


def words(text: str) -> list[str]:
    """``"Don't stop-motion!"`` -> ``["Don't", "stop-motion", "!"]``."""
    return WORD_RE.findall(text)


def get_text(record: Record, field: str = "text") -> str:
    """The text in `field`, or a RecordError saying it is missing or not a string."""
    try:
        value = record[field]
    except KeyError:
        raise RecordError(f"record has no {field!r} field (use --field to choose another)") from None
    if not isinstance(value, str):
        raise RecordError(f"field {field!r} is {type(value).__name__}, not a string")
    return value


def get_tokens(record: Record, field: str = "text") -> list[str]:
    """The record's `tokens`, or its text split on whitespace when it has none."""
    tokens = record.get("tokens")
    if tokens is None:
        return get_text(record, field).split()
    if not is_token_list(tokens):
        raise RecordError("field 'tokens' must be a list of strings")
    return tokens


def is_token_list(tokens: Any) -> bool:
    """A list of strings (checked at C speed: it runs on every token of every record)."""
    return isinstance(tokens, list) and all(map(isinstance, tokens, repeat(str)))


def document_words(record: Record, field: str = "text", lower: bool = False) -> list[str]:
    """The words of one record as a whitespace-separated corpus line holds them.

    Its `tokens`, else its text split on whitespace. No word may hold whitespace: a
    token with inner spaces (possible in a `tokens` list) becomes several words, as
    any reader of a whitespace-separated file would see it.
    """
    tokens = record.get("tokens")
    if tokens is None:
        line = get_text(record, field)
    else:
        # one C-level join both checks the type and builds the line (get_tokens' per-token
        # check costs more than the whole conversion on a 20M-word corpus)
        try:
            joined = " ".join(tokens) if isinstance(tokens, list) else None
        except TypeError:
            joined = None
        if joined is None:
            raise RecordError("field 'tokens' must be a list of strings")
        line = joined
    return (line.lower() if lower else line).split()


def model_input(record: Record, field: str = "text") -> Record:
    """What a model reads from a record: its ``tokens`` when present, and its text as ``text``.

    Only those fields travel, so labels and other fields cannot leak into a model.
    """
    out: Record = {}
    tokens = record.get("tokens")
    if tokens is not None:
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise RecordError("field 'tokens' must be a list of strings")
        out["tokens"] = tokens
    text = record.get(field)
    if isinstance(text, str):
        out["text"] = text
    elif text is not None:
        raise RecordError(f"field {field!r} is {type(text).__name__}, not a string")
    elif tokens is None:
        raise RecordError(f"record has no {field!r} field and no 'tokens' (use --field to choose another)")
    return out


@dataclass
class Skipped:
    """Records left out with ``--on-error skip``: how many, and the first few as ``LOCATION: problem``."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    MAX_EXAMPLES = 20

    def add(self, location: str | None, problem: str) -> None:
        self.count += 1
        if len(self.examples) < self.MAX_EXAMPLES:
            self.examples.append(f"{location}: {problem}" if location else problem)

    def summary(self, name: str, what: str = "bad record(s)") -> str | None:
        """The one line a user who asked to skip sees (None when nothing was skipped)."""
        if not self.count:
            return None
        return f"{name}: skipped {self.count:,} {what}; first: {self.examples[0]}"

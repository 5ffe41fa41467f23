"""The longest text one record may hold for the NLP stages (`--max-chars`), and its check.

spaCy refuses texts over ``nlp.max_length`` (1,000,000 characters: error E088) and
NLTK's tokenizer slows down without bound on multi-megabyte texts, so the stages
that run them check the length first: a record over the limit is one RecordError
(``FILE:LINE: text of N characters is over --max-chars M``), which ``--on-error
skip`` skips and counts like any other bad record. Long documents are not cut or
chunked: the layers of a cut text would not line up with the record's text.
Split such documents before the stage (one paragraph a record), or raise the
limit on a machine with memory to spare; ``None`` means no limit.

A stage that checks has a ``max_chars`` attribute (the runner sets it from the
shared option); its default is :data:`DEFAULT_MAX_CHARS`.
"""

from __future__ import annotations

from nlpkit.errors import RecordError
from nlpkit.records import get_text

DEFAULT_MAX_CHARS = 1_000_000  # spaCy's own nlp.max_length


def limited_text(record: dict, field: str, max_chars: int | None) -> str:
    """The record's text, or a RecordError when it is longer than `max_chars`."""
    text = get_text(record, field)
    if max_chars is not None and len(text) > max_chars:
        raise RecordError(
            f"text of {len(text):,} characters is over --max-chars {max_chars:,} "
            "(split the document, or raise --max-chars)"
        )
    return text


def spacy_max_length(max_chars: int | None) -> int:
    """What nlp.max_length must be so that spaCy accepts every text the limit lets through."""
    return max(DEFAULT_MAX_CHARS, max_chars) if max_chars is not None else 10**12

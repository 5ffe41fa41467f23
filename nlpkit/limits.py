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
shared option); its default is :data:`DEFAULT_MAX_CHARS`. An explicit ``--max-chars N``
also applies to every other stage (clean, stem, predict, ...): the runner refuses a
longer record before any stage sees it (:func:`too_long`), so that one huge line is
one bad record, not gigabytes of memory.

NLTK (3.9 and later) gives up a regular expression after 5 seconds (``nltk.redos``);
on a text of several megabytes, let through by ``--max-chars 0``, its tokenizer can
hit that limit: :func:`nltk_time_limit` makes it a RecordError of that record.
"""

from __future__ import annotations

from contextlib import contextmanager

from nlpkit.errors import RecordError
from nlpkit.records import get_text

DEFAULT_MAX_CHARS = 1_000_000  # spaCy's own nlp.max_length


def limited_text(record: dict, field: str, max_chars: int | None) -> str:
    """The record's text, or a RecordError when it is longer than `max_chars`."""
    text = get_text(record, field)
    problem = too_long(record, field, max_chars)
    if problem is not None:
        raise RecordError(problem)
    return text


def too_long(record, field: str, max_chars: int | None) -> str | None:
    """The problem of a record whose `field` is a text longer than `max_chars`, else None."""
    text = record.get(field) if isinstance(record, dict) else None
    if max_chars is None or not isinstance(text, str) or len(text) <= max_chars:
        return None
    return f"text of {len(text):,} characters is over --max-chars {max_chars:,} (split the document, or raise --max-chars)"


@contextmanager
def nltk_time_limit(text: str):
    """Run NLTK on `text`; its regular-expression time limit becomes a RecordError of this record."""
    try:
        yield
    except TimeoutError:
        from nltk import redos

        raise RecordError(
            f"NLTK gave up on this text of {len(text):,} characters (a regular expression ran over its "
            f"{redos.DEFAULT_TIMEOUT:g}-second limit); split the document, or lower --max-chars"
        ) from None


def spacy_max_length(max_chars: int | None) -> int:
    """What nlp.max_length must be so that spaCy accepts every text the limit lets through."""
    return max(DEFAULT_MAX_CHARS, max_chars) if max_chars is not None else 10**12

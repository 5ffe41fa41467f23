"""What retrieval reads from a record: its id (``id``, else BEIR's ``_id``) and its text (BEIR's ``title`` in front)."""

from __future__ import annotations

from nlpkit.errors import RecordError
from nlpkit.records import Record, get_text

#: the fields a record's id is read from, in order (``_id`` is BEIR's corpus.jsonl and queries.jsonl)
ID_FIELDS = ("id", "_id")
#: the field whose text goes in front of a document's (BEIR's corpus.jsonl), when present and not empty
TITLE_FIELD = "title"


def record_id(record: Record) -> str:
    """``id``, else ``_id``, as a string; a RecordError when the record has neither."""
    for name in ID_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RecordError(f"field {name!r} is {type(value).__name__}, not a string or a number")
        return str(value)
    raise RecordError("record has no 'id' or '_id' field (an index names each document by it)")


def document_text(record: Record, field: str = "text") -> str:
    """The text a document is indexed and embedded by: ``title + " " + text`` when it has a title, else the text.

    As BEIR's own encoders join them: ``(title + " " + text).strip()``.
    """
    text = get_text(record, field)
    title = record.get(TITLE_FIELD)
    if isinstance(title, str) and title.strip():
        return f"{title} {text}".strip()
    return text

"""Named entities with spaCy's recognizer (no tagger, no parser)."""

from __future__ import annotations

from nlpkit.linguistic.annotate.runner import SpacyStage


class NerStage(SpacyStage):
    """Adds `ents`: ``{"text", "label", "start", "end"}`` (token offsets, end exclusive), plus
    ``start_char``/``end_char`` when the record has its text; `labels` keeps only those labels."""

    main_field = "ents"

    def __init__(self, *, labels=None, model=None, field="text", retokenize=False, n_process=1):
        super().__init__(("ner",), model=model, field=field, retokenize=retokenize, n_process=n_process, labels=labels)


def entities(text: str, labels=None) -> list[tuple[str, str]]:
    """>>> entities("Apple is looking at buying U.K. startup for $1 billion")
    [('Apple', 'ORG'), ('U.K.', 'GPE'), ('$1 billion', 'MONEY')]
    """
    record = next(iter(NerStage(labels=labels)([{"text": text}])))
    return [(e["text"], e["label"]) for e in record["ents"]]

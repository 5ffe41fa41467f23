"""Named entities with spaCy's recognizer (no tagger, no parser)."""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.linguistic.annotate.runner import SpacyStage, retokenize_param, spacy_model_param
from nlpkit.params import comma_list, param


@dataclass
class NerOptions:
    """Add named entities: `ents`, each {text, label, start, end} in tokens (start_char/end_char when the text is known).

    \b
      echo 'Apple is looking at buying U.K. startup for $1 billion' | nlpkit ner --labels GPE
      {"id":"stdin:1",...,"ents":[{"text":"U.K.","label":"GPE","start":5,"end":6,"start_char":27,"end_char":31}]}
    """

    labels: str | None = param(None, metavar="LABEL,...", help="Keep only these entity labels, e.g. PERSON,ORG,GPE.")
    model: str | None = spacy_model_param()
    retokenize: bool = retokenize_param()

    def build(self, field: str = "text") -> NerStage:
        return NerStage(labels=list(comma_list(self.labels)) or None, model=self.model, field=field,
                        retokenize=self.retokenize, n_process=1)


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

"""Dependency parsing with spaCy: `deps` and `lemma` (and the tags the lemmatizer needs).

The lemmatizer needs the tagger's output, so a parse computes ``pos``/``upos``
anyway; they are kept in the record, which makes ``--format conllu`` output
complete (UPOS, XPOS, LEMMA, HEAD, DEPREL).
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.linguistic.annotate.runner import SpacyStage, retokenize_param, spacy_model_param


@dataclass
class ParseOptions:
    """Add a dependency parse: `deps` ({head, dep} per token; head is a 0-based token index, a root
    points at itself), `lemma`, and the tags the lemmatizer uses (`pos`, `upos`).

    --format conllu writes CoNLL-U, one block per sentence:

    \b
      nlpkit parse --input-format conllu gold.conllu --format conllu > pred.conllu
      nlpkit evaluate-conllu --gold gold.conllu --pred pred.conllu
    """

    model: str | None = spacy_model_param()
    retokenize: bool = retokenize_param()

    def build(self, field: str = "text") -> ParseStage:
        return ParseStage(model=self.model, field=field, retokenize=self.retokenize, n_process=1)


class ParseStage(SpacyStage):
    """Adds `deps` (``head``: 0-based index of the head token, a root points at itself;
    ``dep``: spaCy's label, ClearNLP style for English), `lemma`, `pos` and `upos`."""

    def __init__(self, *, model=None, field="text", retokenize=False, n_process=1):
        super().__init__(("pos", "lemma", "deps"), model=model, field=field, retokenize=retokenize, n_process=n_process)


def parse(text: str) -> list[tuple[str, int, str]]:
    """(token, head index, label) per token.

    >>> parse("I saw her")
    [('I', 1, 'nsubj'), ('saw', 1, 'ROOT'), ('her', 1, 'dobj')]
    """
    record = next(iter(ParseStage()([{"text": text}])))
    return [(t, d["head"], d["dep"]) for t, d in zip(record["tokens"], record["deps"])]

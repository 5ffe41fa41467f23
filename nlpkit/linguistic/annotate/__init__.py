"""`annotate`: every requested layer (pos, lemma, ner, deps) from one spaCy pass.

The runner in :mod:`nlpkit.linguistic.annotate.runner` is shared by tag, ner,
parse and svo; each asks it only for the layers it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import UsageError
from nlpkit.linguistic.annotate.runner import LAYERS, SpacyStage, parse_layers, retokenize_param, spacy_model_param
from nlpkit.params import param


@dataclass
class AnnotateOptions:
    """Add several linguistic layers in one spaCy pass: `pos`/`upos`, `lemma`, `ents`, `deps`.

    \b
      nlpkit annotate --layers pos,ner reviews.jsonl -j 2 > annotated.jsonl
    """

    layers: str = param("pos,lemma,ner,deps", show_default=True, metavar="LAYER,...",
                        help="Any of pos, lemma, ner, deps: computed in one spaCy pass.")
    model: str | None = spacy_model_param()
    retokenize: bool = retokenize_param()

    def build(self, field: str = "text") -> AnnotateStage:
        try:
            chosen = parse_layers(self.layers)
        except ValueError as e:
            raise UsageError(f"--layers: {e}") from None
        return AnnotateStage(chosen, model=self.model, field=field, retokenize=self.retokenize, n_process=1)


class AnnotateStage(SpacyStage):
    """Adds `pos`/`upos`, `lemma`, `ents` and `deps` (those asked for) in one pipeline run."""


def annotate(texts: list[str], layers: str = "pos,lemma,ner,deps", model: str | None = None) -> list[dict]:
    """>>> annotate(["Apple is looking at buying U.K. startup for $1 billion"], "ner")[0]["ents"][0]["label"]
    'ORG'
    """
    return list(AnnotateStage(layers, model=model)([{"text": t} for t in texts]))


__all__ = ["LAYERS", "AnnotateOptions", "AnnotateStage", "SpacyStage", "annotate", "parse_layers"]

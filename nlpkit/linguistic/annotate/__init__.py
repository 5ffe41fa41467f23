"""`annotate`: every requested layer (pos, lemma, ner, deps) from one spaCy pass.

The runner in :mod:`nlpkit.linguistic.annotate.runner` is shared by tag, ner,
parse and svo; each asks it only for the layers it writes.
"""

from __future__ import annotations

from nlpkit.linguistic.annotate.runner import LAYERS, SpacyStage, parse_layers


class AnnotateStage(SpacyStage):
    """Adds `pos`/`upos`, `lemma`, `ents` and `deps` (those asked for) in one pipeline run."""


def annotate(texts: list[str], layers: str = "pos,lemma,ner,deps", model: str | None = None) -> list[dict]:
    """>>> annotate(["Apple is looking at buying U.K. startup for $1 billion"], "ner")[0]["ents"][0]["label"]
    'ORG'
    """
    return list(AnnotateStage(layers, model=model)([{"text": t} for t in texts]))


__all__ = ["LAYERS", "AnnotateStage", "SpacyStage", "annotate", "parse_layers"]

"""The registry of record stages: each stage's name, and the dataclass that declares its parameters.

One table serves every way of running a stage: its own command (``nlpkit tokenize
--engine regex``), a segment of ``nlpkit run --pipeline "clean | tokenize --engine
regex"`` or of a PIPELINE.yaml, ``nlpkit serve``'s ``/v1/run``, and library code::

    from nlpkit.stages import build_stage
    stage = build_stage("stopwords", keep="not,no")
    list(stage([{"text": "this is not good"}]))

Each entry names, as ``"module:Class"``, the options dataclass of the stage's module
(nlpkit.params declares its fields: default, type, choices or range, help). The class
builds its stage with ``options.build(field)``. The command's click options, the
parsing of a pipeline segment and the library's defaults all come from that one
declaration. Modules are imported when a stage is built: the table itself is light.

``--jobs N`` on a spaCy stage runs N of the runner's worker processes, each with its own
pipeline, not spaCy's ``n_process``: spaCy's pool waits for ever when one of its workers
dies (killed, out of memory), the runner's ends the run with one line.

To add a stage: its options dataclass and Stage class in the module of its rung, a line
here, and a command in nlpkit/cli/ (see CONTRIBUTING.md).
"""

from __future__ import annotations

from typing import Any

from nlpkit.errors import UsageError
from nlpkit.stage import Stage

#: stage name (a command, or "group subcommand") -> its options dataclass, "module:Class"
STAGES: dict[str, str] = {
    # text (nlpkit/text/)
    "clean": "nlpkit.text.clean:CleanOptions",
    "tokenize": "nlpkit.text.tokenize:TokenizeOptions",
    "stopwords": "nlpkit.text.stopwords:StopwordsOptions",
    "stem": "nlpkit.text.stem:StemOptions",
    "lemmatize": "nlpkit.text.lemmatize:LemmatizeOptions",
    # linguistic (spaCy, NLTK)
    "tag": "nlpkit.linguistic.tag:TagOptions",
    "ner": "nlpkit.linguistic.ner:NerOptions",
    "parse": "nlpkit.linguistic.parse:ParseOptions",
    "annotate": "nlpkit.linguistic.annotate:AnnotateOptions",
    "svo": "nlpkit.linguistic.svo:SvoOptions",
    # features, embeddings, models
    "vectorize bow": "nlpkit.features.vectorizer:BowTopTermsOptions",
    "vectorize tfidf": "nlpkit.features.vectorizer:TfidfTopTermsOptions",
    "embed docvec": "nlpkit.embeddings.docvec:DocVecOptions",
    "predict": "nlpkit.models.predict:PredictOptions",
    # language models (nlpkit/lm/)
    "lm perplexity": "nlpkit.lm.stages:PerplexityOptions",
    "lm generate": "nlpkit.lm.stages:GenerateOptions",
    # retrieval (nlpkit/retrieval/)
    "chunk": "nlpkit.retrieval.chunk:ChunkOptions",
    "encode": "nlpkit.retrieval.encoder:EncodeOptions",
    "search": "nlpkit.retrieval.search:SearchOptions",
}


def stage_options(name: str) -> type:
    """The options dataclass of the stage `name` (a UsageError for an unknown name)."""
    from nlpkit.registry import resolve

    try:
        target = STAGES[name]
    except KeyError:
        raise UsageError(f"no record stage named {name!r} (known: {', '.join(sorted(STAGES))})") from None
    return resolve(target)


def build_stage(name: str, /, *, field: str = "text", **options: Any) -> Stage:
    """The stage `name` with these options by name, each checked against its declaration."""
    from nlpkit.params import build

    return build(stage_options(name), options).build(field)

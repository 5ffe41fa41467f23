"""The registry of record stages: each stage by name, with a builder from its options.

One registry serves every way of running a stage: its own command (``nlpkit
tokenize --engine regex``), a segment of ``nlpkit run --pipeline "clean | tokenize
--engine regex"`` or of a PIPELINE.yaml, ``nlpkit serve``'s ``/v1/run``, and library
code::

    from nlpkit.stages import build_stage
    stage = build_stage("stopwords", keep="not,no")
    list(stage([{"text": "this is not good"}]))

A builder takes the stage's options by the names its command gives them (``--porter-mode``
is ``porter_mode``), plus ``field`` (the text field) and ``jobs`` (worker processes, for
stages that could run a pool of their own). Builders import their stage's module when
called: the registry itself is light.

``--jobs N`` on a spaCy stage runs N of the runner's worker processes, each with its own
pipeline, not spaCy's ``n_process``: spaCy's pool waits for ever when one of its workers
dies (killed, out of memory), the runner's ends the run with one line.

To add a stage: write its Stage class in the module of its rung, add a builder here
with ``@register("name")``, and a command in nlpkit/cli/ that calls
``run_registered(name, options, stream)`` (see CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nlpkit.errors import UsageError
from nlpkit.stage import Stage

Builder = Callable[..., Stage]

#: stage name (a command, or "group subcommand") -> builder
STAGES: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    def add(builder: Builder) -> Builder:
        STAGES[name] = builder
        return builder

    return add


def build_stage(name: str, /, *, field: str = "text", jobs: int = 1, **options: Any) -> Stage:
    """The stage `name` with these options (a UsageError for an unknown name)."""
    try:
        builder = STAGES[name]
    except KeyError:
        raise UsageError(f"no record stage named {name!r} (known: {', '.join(sorted(STAGES))})") from None
    return builder(field=field, jobs=jobs, **options)


def _comma_list(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``: options that take several words in one flag."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [w.strip() for w in parts if w.strip()]


# --------------------------------------------------------------------------- text (nlpkit/text/)


@register("clean")
def _clean(*, field: str, jobs: int, **options: Any) -> Stage:
    from nlpkit.text.clean import CleanStage

    return CleanStage(field=field, **options)


@register("tokenize")
def _tokenize(*, field: str, jobs: int, engine: str = "nltk", sentences: bool = False, model: str | None = None,
              checkpoint: str | None = None) -> Stage:
    from nlpkit.text.tokenize import TokenizeStage

    return TokenizeStage(engine=engine, field=field, sentences=sentences, model=model, checkpoint=checkpoint)


@register("stopwords")
def _stopwords(*, field: str, jobs: int, lang: str = "english", add: str | list[str] = "",
               lists: tuple[str, ...] = (), keep: str | list[str] | None = None) -> Stage:
    from nlpkit.text.stopwords import StopwordsStage, read_word_list

    extra = _comma_list(add) + [w for path in lists for w in read_word_list(path)]
    return StopwordsStage(lang=None if lang == "none" else lang, add=extra,
                          keep=None if keep is None else _comma_list(keep), field=field)


@register("stem")
def _stem(*, field: str, jobs: int, **options: Any) -> Stage:
    from nlpkit.text.stem import StemStage

    return StemStage(field=field, **options)


@register("lemmatize")
def _lemmatize(*, field: str, jobs: int, **options: Any) -> Stage:
    from nlpkit.text.lemmatize import LemmatizeStage

    return LemmatizeStage(field=field, **options)


# --------------------------------------------------------------------------- linguistic (spaCy, NLTK)


@register("tag")
def _tag(*, field: str, jobs: int, engine: str = "spacy", model: str | None = None, retokenize: bool = False) -> Stage:
    from nlpkit.linguistic.tag import TagStage

    return TagStage(engine, model=model, field=field, retokenize=retokenize, n_process=1)


@register("ner")
def _ner(*, field: str, jobs: int, labels: str | list[str] | None = None, model: str | None = None,
         retokenize: bool = False) -> Stage:
    from nlpkit.linguistic.ner import NerStage

    return NerStage(labels=_comma_list(labels) or None, model=model, field=field, retokenize=retokenize, n_process=1)


@register("parse")
def _parse(*, field: str, jobs: int, model: str | None = None, retokenize: bool = False) -> Stage:
    from nlpkit.linguistic.parse import ParseStage

    return ParseStage(model=model, field=field, retokenize=retokenize, n_process=1)


@register("annotate")
def _annotate(*, field: str, jobs: int, layers: str = "pos,lemma,ner,deps", model: str | None = None,
              retokenize: bool = False) -> Stage:
    from nlpkit.linguistic.annotate import AnnotateStage, parse_layers

    try:
        chosen = parse_layers(layers)
    except ValueError as e:
        raise UsageError(f"--layers: {e}") from None
    return AnnotateStage(chosen, model=model, field=field, retokenize=retokenize, n_process=1)


@register("svo")
def _svo(*, field: str, jobs: int, model: str | None = None, retokenize: bool = False) -> Stage:
    from nlpkit.linguistic.svo import SvoStage

    return SvoStage(model=model, field=field, retokenize=retokenize, n_process=1)


# --------------------------------------------------------------------------- features, embeddings, models


def _top_terms(method: str) -> Builder:
    def build(*, field: str, jobs: int, top: int | None = None, apply_dir: str | None = None, **fit_options: Any) -> Stage:
        from nlpkit.features.vectorizer import TextVectorizer, TopTermsStage

        if top is None or apply_dir is None:
            raise UsageError(f"vectorize {method} streams records only with --apply DIR --top K "
                             "(fitting reads the inputs twice: fit first with -o DIR)")
        vectorizer = TextVectorizer.load(apply_dir)
        if vectorizer.method != method:
            raise UsageError(f"{apply_dir} holds a {vectorizer.method} vectorizer, not {method}")
        return TopTermsStage(top, vectorizer_dir=apply_dir, field=field)

    return build


register("vectorize bow")(_top_terms("bow"))
register("vectorize tfidf")(_top_terms("tfidf"))


@register("embed docvec")
def _docvec(*, field: str, jobs: int, vectors: str, pool: str = "mean", idf: tuple[str, ...] = (), lower: bool = False,
            simple_tokenize: bool = False, npy: str | None = None) -> Stage:
    from nlpkit.embeddings.docvec import DocVecStage

    if npy is not None:
        raise UsageError("--npy writes an array, not records: it cannot be part of a pipeline")
    if pool == "tfidf" and not idf:
        raise UsageError("--pool tfidf needs --idf CORPUS: the records to count document frequencies on")
    return DocVecStage(vectors, pool=pool, field=field, idf=list(idf), lower=lower, tokenize=simple_tokenize)


@register("predict")
def _predict(*, field: str, jobs: int, model_dir: str, **options: Any) -> Stage:
    from nlpkit.models.base import read_manifest
    from nlpkit.models.predict import PredictStage

    read_manifest(model_dir)  # a missing or damaged model fails before any input is read
    return PredictStage(model_dir, field=field, **options)


# --------------------------------------------------------------------------- language models (nlpkit/lm/)


@register("lm perplexity")
def _lm_perplexity(*, field: str, jobs: int, model_dir: str, per_record: bool = True, as_json: bool = False,
                   device: str = "auto", threads: int | None = None) -> Stage:
    from nlpkit.lm.stages import PerplexityStage

    if not per_record or as_json:
        raise UsageError("lm perplexity streams records only with --per-record (the corpus figure is not a record)")
    return PerplexityStage(model_dir, field=field, device=device, threads=threads)


@register("lm generate")
def _lm_generate(*, field: str, jobs: int, model_dir: str, prompt: str | None = None, strategy: str = "greedy",
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, beam_width: int = 4,
                 max_new_tokens: int = 30, seed: int = 0, device: str = "auto", threads: int | None = None) -> Stage:
    from nlpkit.lm.decoding import Decoding
    from nlpkit.lm.stages import GenerateStage

    decoding = Decoding(strategy, temperature, top_k, top_p, beam_width, max_new_tokens, seed)
    decoding.check()
    return GenerateStage(model_dir, decoding, prompt=prompt, field=field, device=device, threads=threads)


# --------------------------------------------------------------------------- retrieval (nlpkit/retrieval/)


@register("chunk")
def _chunk(*, field: str, jobs: int, **options: Any) -> Stage:
    from nlpkit.retrieval.chunk import ChunkStage

    return ChunkStage(field=field, **options)


@register("encode")
def _encode(*, field: str, jobs: int, **options: Any) -> Stage:
    from nlpkit.retrieval.encoder import EncodeStage

    return EncodeStage(field=field, **options)


@register("search")
def _search(*, field: str, jobs: int, index_dir: str, query: tuple[str, ...] = (), fields: str | list[str] | None = None,
            fusion: str | None = None, **options: Any) -> Stage:
    from nlpkit.retrieval.fusion import DEFAULT_FUSION
    from nlpkit.retrieval.search import SearchStage

    if query:
        raise UsageError("search --query writes its own records: in a pipeline, search takes each record's text as the query")
    chosen = None if fields is None else _comma_list(fields)
    return SearchStage(index_dir, field=field, fields=chosen, fusion_name=fusion or DEFAULT_FUSION, **options)

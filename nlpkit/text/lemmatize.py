"""Lemmatization: WordNet with each token's part of speech, or spaCy's lemmatizer."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from nlpkit.errors import RecordError
from nlpkit.params import param, values
from nlpkit.records import get_tokens
from nlpkit.stage import Stage

ENGINES = ("wordnet", "spacy")
WORDNET_POS = ("n", "v", "a", "r")
#: (word, POS) pairs whose WordNet lemma a process remembers (least recently used go first)
LEMMA_CACHE_SIZE = 500_000


def penn_to_wordnet(tag: str) -> str:
    """Penn Treebank tag -> WordNet POS (JJ* a, VB* v, RB* r, else n, WordNet's default)."""
    if tag.startswith("J"):
        return "a"
    if tag.startswith("V"):
        return "v"
    if tag.startswith("R"):
        return "r"
    return "n"


def lemmatize(tokens: list[str], engine: str = "wordnet", pos: str | None = None) -> list[str]:
    """>>> lemmatize(["the", "cats", "ran"])
    ['the', 'cat', 'run']
    """
    stage = LemmatizeStage(engine=engine, pos=pos)
    return next(iter(stage([{"tokens": tokens}])))["tokens"]


@dataclass
class LemmatizeOptions:
    """Replace `tokens` with their lemmas, using each token's part of speech.

    \b
      echo "the cats ran" | nlpkit lemmatize --format text
      the cat run
    """

    engine: str = param("wordnet", choices=ENGINES, show_default=True,
                        help="wordnet: NLTK's WordNet lemmatizer with POS mapping; spacy: spaCy's lemmatizer.")
    pos: str | None = param(None, choices=WORDNET_POS,
                            help="Force one WordNet POS (default: the record's `pos`, else NLTK's tagger).")
    model: str | None = param(None, reads_disk=True, help="spaCy pipeline name or path (engine spacy).")

    def build(self, field: str = "text") -> LemmatizeStage:
        return LemmatizeStage(field=field, **values(self))


@functools.lru_cache(maxsize=1)
def shared_morphy():
    """WordNet's morphy (NLTK's, from NLTK's WordNet files), loaded once per process."""
    from nlpkit.text.morphy import Morphy

    return Morphy.from_nltk_data()


class LemmatizeStage(Stage):
    """Rewrites `tokens` as lemmas. WordNet takes POS from the record's `pos` field when
    present, else tags the tokens with NLTK's perceptron tagger; `pos` forces one POS."""

    batch_size = 256

    def __init__(self, engine: str = "wordnet", pos: str | None = None, field: str = "text", model: str | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}")
        if pos is not None and pos not in WORDNET_POS:
            raise ValueError(f"pos must be one of {WORDNET_POS}")
        self.engine = engine
        self.pos = pos
        self.field = field
        self.model = model

    def setup(self):
        from nlpkit.resources import load_spacy

        if self.engine == "wordnet":
            # Princeton WordNet's morphy: its first analysis. NLTK's WordNetLemmatizer takes the
            # shortest candidate instead, which turns "hated" into "hat" and "us" into "u".
            morphy = shared_morphy()

            @functools.lru_cache(maxsize=LEMMA_CACHE_SIZE)
            def lemma(token: str, pos: str) -> str:
                return morphy(token, pos) or token

            self._lemma = lemma
            if self.pos is None:
                from nlpkit.text.perceptron import shared_tagger

                self._tagger = shared_tagger()  # NLTK's tagger, a batch of records at a time
                self._wordnet_pos = [penn_to_wordnet(t) for t in self._tagger.tags]
        else:
            # POS tags feed spaCy's rule-based lemmatizer; the parser and NER are not needed
            self._nlp = load_spacy(self.model, disable=["parser", "ner"])

    def _wordnet_tags(self, records, token_lists) -> list[list[str]]:
        """Each record's WordNet POS: --pos, else from its `pos` field, else from the tagger (one call for all)."""
        wn_pos: list = []
        for record, tokens in zip(records, token_lists):
            tags = record.get("pos")
            if tags is not None and (not isinstance(tags, list) or len(tags) != len(tokens)):
                raise RecordError(f"field 'pos' has {len(tags) if isinstance(tags, list) else 'no'} tags for {len(tokens)} tokens")
            if tags is not None and not all(isinstance(t, str) for t in tags):
                bad = next(t for t in tags if not isinstance(t, str))
                raise RecordError(f"field 'pos' must be a list of strings (it holds {bad!r})")
            if self.pos is not None:
                wn_pos.append([self.pos] * len(tokens))
            else:
                wn_pos.append(None if tags is None else [penn_to_wordnet(t) for t in tags])
        untagged = [i for i, p in enumerate(wn_pos) if p is None]
        if untagged:
            table = self._wordnet_pos
            tagged = self._tagger.tag_ids_per_sentence([token_lists[i] for i in untagged])
            for i, ids in zip(untagged, tagged):
                wn_pos[i] = [table[t] for t in ids]
        return wn_pos

    def process(self, records):
        token_lists = [get_tokens(r, self.field) for r in records]
        if self.engine == "wordnet":
            lemma = self._lemma
            lemmas = [list(map(lemma, tokens, pos)) for tokens, pos in zip(token_lists, self._wordnet_tags(records, token_lists))]
        else:
            from spacy.tokens import Doc

            docs = (Doc(self._nlp.vocab, words=tokens) for tokens in token_lists)
            lemmas = [[t.lemma_ for t in doc] for doc in self._nlp.pipe(docs, batch_size=128)]
        return [{**r, "tokens": lem} for r, lem in zip(records, lemmas)]

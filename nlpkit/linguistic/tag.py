"""POS tagging: spaCy's tagger, or NLTK's averaged perceptron as the light engine.

Both write ``pos`` (Penn Treebank tags) and ``upos`` (Universal POS) aligned
with ``tokens``. NLTK's Penn tags are mapped to UPOS with the table NLTK uses
for ``tagset='universal'`` (its ``en-ptb.map``), embedded here because that
data package is often not installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.linguistic.annotate.runner import SpacyStage, retokenize_param, spacy_model_param
from nlpkit.limits import DEFAULT_MAX_CHARS, limited_text
from nlpkit.params import param
from nlpkit.records import is_token_list
from nlpkit.stage import Stage

ENGINES = ("spacy", "nltk")

# Penn Treebank -> universal tagset (Petrov, Das and McDonald 2012), as in NLTK's
# universal_tagset/en-ptb.map (nltk_data, taggers/universal_tagset). NLTK's universal
# tagset names: "." is punctuation, "PRT" particles, "CONJ" conjunctions. We then rename
# those three to their UD UPOS equivalents (PUNCT, PART, CCONJ) so both engines speak UD.
PTB_UNIVERSAL = {
    "!": ".", "#": ".", "$": ".", "''": ".", "(": ".", ")": ".", ",": ".", "-LRB-": ".", "-RRB-": ".",
    ".": ".", ":": ".", "?": ".", "CC": "CONJ", "CD": "NUM", "CD|RB": "X", "DT": "DET", "EX": "DET",
    "FW": "X", "IN": "ADP", "IN|RP": "ADP", "JJ": "ADJ", "JJR": "ADJ", "JJRJR": "ADJ", "JJS": "ADJ",
    "JJ|RB": "ADJ", "JJ|VBG": "ADJ", "LS": "X", "MD": "VERB", "NN": "NOUN", "NNP": "NOUN",
    "NNPS": "NOUN", "NNS": "NOUN", "NN|NNS": "NOUN", "NN|SYM": "NOUN", "NN|VBG": "NOUN",
    "NP": "NOUN", "PDT": "DET", "POS": "PRT", "PRP": "PRON", "PRP$": "PRON", "PRP|VBP": "PRON",
    "PRT": "PRT", "RB": "ADV", "RBR": "ADV", "RBS": "ADV", "RB|RP": "ADV", "RB|VBG": "ADV",
    "RN": "X", "RP": "PRT", "SYM": "X", "TO": "PRT", "UH": "X", "VB": "VERB", "VBD": "VERB",
    "VBD|VBN": "VERB", "VBG": "VERB", "VBG|NN": "VERB", "VBN": "VERB", "VBP": "VERB",
    "VBP|TO": "VERB", "VBZ": "VERB", "VP": "VERB", "WDT": "DET", "WH": "X", "WP": "PRON",
    "WP$": "PRON", "WRB": "ADV", "``": ".",
}
UNIVERSAL_TO_UPOS = {".": "PUNCT", "PRT": "PART", "CONJ": "CCONJ"}


def ptb_to_upos(tag: str) -> str:
    """Penn Treebank tag -> UPOS via NLTK's universal mapping ('X' when unknown)."""
    universal = PTB_UNIVERSAL.get(tag, "X")
    return UNIVERSAL_TO_UPOS.get(universal, universal)


class NltkTagStage(Stage):
    """NLTK's averaged perceptron tagger: its model and its tags, scored a batch of records at a
    time (:mod:`nlpkit.text.perceptron`; the same tags as ``PerceptronTagger().tag``)."""

    batch_size = 256
    main_field = "pos"
    #: longest text a record may hold (see nlpkit.limits); None: no limit
    max_chars: int | None = DEFAULT_MAX_CHARS

    def __init__(self, field: str = "text", retokenize: bool = False):
        self.field = field
        self.retokenize = retokenize

    def setup(self) -> None:
        from nlpkit.text.perceptron import shared_tagger
        from nlpkit.text.tokenize import TokenizeStage

        self._tagger = shared_tagger()
        self._upos = [ptb_to_upos(t) for t in self._tagger.tags]
        self._tokenizer = TokenizeStage(engine="nltk", field=self.field)  # nltk.word_tokenize, for raw text

    def process(self, records):
        token_lists = []
        for record in records:
            tokens = record.get("tokens")
            if tokens is None or self.retokenize:
                text = limited_text(record, self.field, self.max_chars)
                self._tokenizer.ensure_setup()
                tokens = self._tokenizer.tokenize_texts([text])[0][0]
            elif not is_token_list(tokens):
                from nlpkit.errors import RecordError

                raise RecordError("field 'tokens' must be a list of strings")
            token_lists.append(tokens)
        names, upos = self._tagger.tags, self._upos
        return [{**record, "tokens": tokens, "pos": [names[i] for i in ids], "upos": [upos[i] for i in ids]}
                for record, tokens, ids in zip(records, token_lists, self._tagger.tag_ids_per_sentence(token_lists))]


class SpacyTagStage(SpacyStage):
    """spaCy's tagger and attribute ruler only (no parser, no NER)."""

    main_field = "pos"

    def __init__(self, *, model=None, field="text", retokenize=False, n_process=1):
        super().__init__(("pos",), model=model, field=field, retokenize=retokenize, n_process=n_process)


@dataclass
class TagOptions:
    """Add part-of-speech tags: `pos` (Penn Treebank) and `upos` (Universal POS), aligned with `tokens`.

    Records with `tokens` are tagged on exactly those tokens; others are tokenized
    by the engine first (and get `tokens`). --jobs N runs N spaCy worker processes.

    \b
      echo 'I saw her duck' | nlpkit tag --format text
      PRP VBD PRP$ NN
    """

    engine: str = param("spacy", choices=ENGINES, show_default=True,
                        help="spacy: the pipeline's tagger; nltk: NLTK's averaged perceptron (Penn tags, UPOS by NLTK's "
                             "universal mapping).")
    model: str | None = spacy_model_param()
    retokenize: bool = retokenize_param()

    def build(self, field: str = "text") -> Stage:
        return TagStage(self.engine, model=self.model, field=field, retokenize=self.retokenize, n_process=1)


def TagStage(engine: str = "spacy", *, model=None, field="text", retokenize=False, n_process=1) -> Stage:
    """The tagging stage for an engine."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    if engine == "nltk":
        return NltkTagStage(field=field, retokenize=retokenize)
    return SpacyTagStage(model=model, field=field, retokenize=retokenize, n_process=n_process)


def tag(tokens: list[str], engine: str = "spacy") -> list[tuple[str, str, str]]:
    """>>> tag(["I", "saw", "her"], engine="nltk")
    [('I', 'PRP', 'PRON'), ('saw', 'VBD', 'VERB'), ('her', 'PRP', 'PRON')]
    """
    record = next(iter(TagStage(engine)([{"tokens": tokens}])))
    return list(zip(record["tokens"], record["pos"], record["upos"]))

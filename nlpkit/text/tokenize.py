"""Tokenization: NLTK (Penn Treebank + punkt), spaCy's tokenizer, a fast regex, or WordPiece."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlpkit.limits import DEFAULT_MAX_CHARS, limited_text, spacy_max_length
from nlpkit.params import FLAG, param, values
from nlpkit.records import WORD_RE
from nlpkit.stage import Stage

ENGINES = ("nltk", "spacy", "regex", "wordpiece")

SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")


def tokenize(text: str, engine: str = "nltk") -> list[str]:
    """Tokens of one text. For many texts use :class:`TokenizeStage`, which loads engines once.

    >>> tokenize("Don't stop.", engine="regex")
    ["Don't", 'stop', '.']
    """
    stage = TokenizeStage(engine=engine)
    stage.ensure_setup()
    return stage.tokenize_texts([text])[0][0]


@dataclass
class TokenizeOptions:
    """Split text into `tokens` (and `sents` with --sentences).

    \b
      echo "Don't stop." | nlpkit tokenize --format text
      Do n't stop .
    """

    engine: str = param("nltk", choices=ENGINES, show_default=True,
                        help="nltk: nltk.word_tokenize (Penn Treebank + punkt); spacy: spaCy's tokenizer; "
                             "regex: a fast word regex; wordpiece: a BERT tokenizer.")
    sentences: bool = param(False, style=FLAG, help="Also add `sents`: a list of token lists, one per sentence.")
    model: str | None = param(None, reads_disk=True, help="spaCy pipeline name or path (engine spacy).")
    checkpoint: str | None = param(None, reads_disk=True,
                                   help="Transformers checkpoint for the WordPiece vocabulary (default: the offline MiniLM).")

    def build(self, field: str = "text") -> TokenizeStage:
        return TokenizeStage(field=field, **values(self))


class TokenizeStage(Stage):
    """Adds ``tokens`` (and ``sents`` with ``sentences=True``) from the text field."""

    batch_size = 256
    #: longest text a record may hold (see nlpkit.limits); None: no limit
    max_chars: int | None = DEFAULT_MAX_CHARS

    def __init__(self, engine: str = "nltk", field: str = "text", sentences: bool = False,
                 model: str | None = None, checkpoint: str | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}")
        self.engine = engine
        self.field = field
        self.sentences = sentences
        self.model = model
        self.checkpoint = checkpoint

    def setup(self):
        if self.engine == "nltk":
            from nltk.tokenize import sent_tokenize
            from nltk.tokenize.destructive import NLTKWordTokenizer

            from nlpkit.resources import nltk_resource

            nltk_resource("punkt_tab")
            self._sent_tokenize = sent_tokenize
            self._word_tokenize = NLTKWordTokenizer().tokenize
        elif self.engine == "spacy":
            from nlpkit.resources import load_spacy

            nlp = load_spacy(self.model)
            # the tokenizer only: drop every trained component; a rule-based sentencizer if asked
            for name in list(nlp.pipe_names):
                nlp.remove_pipe(name)
            if self.sentences:
                nlp.add_pipe("sentencizer")
            nlp.max_length = spacy_max_length(self.max_chars)
            self._nlp = nlp
        elif self.engine == "wordpiece":
            from transformers import AutoTokenizer

            from nlpkit.resources import default_bert_checkpoint

            self._wordpiece = AutoTokenizer.from_pretrained(self.checkpoint or default_bert_checkpoint())

    def tokenize_texts(self, texts: list[str]) -> list[tuple[list[str], list[list[str]] | None]]:
        """(tokens, sentences) per text; sentences is None unless asked for."""
        if self.engine == "nltk":
            # exactly nltk.word_tokenize: punkt sentences, then the Treebank word tokenizer on each
            out = []
            for text in texts:
                sents = [self._word_tokenize(s) for s in self._sent_tokenize(text)]
                out.append(([t for s in sents for t in s], sents if self.sentences else None))
            return out
        if self.engine == "regex":
            out = []
            for text in texts:
                if self.sentences:
                    sents = [WORD_RE.findall(s) for s in SENTENCE_END_RE.split(text) if s.strip()]
                    out.append(([t for s in sents for t in s], sents))
                else:
                    out.append((WORD_RE.findall(text), None))
            return out
        if self.engine == "spacy":
            out = []
            for doc in self._nlp.pipe(texts, batch_size=256):
                tokens = [t.text for t in doc if not t.is_space]
                sents = [[t.text for t in s if not t.is_space] for s in doc.sents] if self.sentences else None
                out.append((tokens, sents))
            return out
        # wordpiece
        return [(self._wordpiece.tokenize(text), None) for text in texts]

    def process(self, records):
        texts = [limited_text(r, self.field, self.max_chars) for r in records]
        out = []
        for record, (tokens, sents) in zip(records, self.tokenize_texts(texts)):
            new = {**record, "tokens": tokens}
            if sents is not None:
                new["sents"] = sents
            out.append(new)
        return out

"""Passages from documents: windows of word pieces, or of whole sentences, with character offsets into the parent.

Each passage of a record is a record of its own: ``id`` = ``PARENT#K`` (K from 0),
``parent`` = the parent's id, ``text`` = the passage, ``start``/``end`` = its character
offsets in the parent's text, so that ``parent_text[start:end] == text``; the parent's
other fields pass through (BEIR's ``_id`` becomes ``id``).

Length is counted in the encoder's word pieces by default (``count="wordpieces"``: a
passage of ``max_tokens`` pieces fits the encoder with its two special tokens), or in
words (``count="words"``, nlpkit's word pattern). A passage starts and ends on whole
words (never between two pieces of one word, unless a word is longer than a passage). ``by="tokens"`` cuts windows of
``max_tokens`` with ``overlap`` tokens shared by neighbours; ``by="sentences"`` packs
whole sentences (NLTK's punkt, English) up to ``max_tokens``, carries the last sentences
worth at most ``overlap`` tokens into the next passage, and cuts a sentence longer than
``max_tokens`` by tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import UsageError
from nlpkit.params import param, values
from nlpkit.records import WORD_RE, Record, get_text
from nlpkit.retrieval.documents import record_id
from nlpkit.retrieval.encoder import MAX_TOKENS
from nlpkit.stage import Expanded, Stage

BY_CHOICES = ("tokens", "sentences")
COUNT_CHOICES = ("wordpieces", "words")
#: the encoder's 256 word pieces less [CLS] and [SEP]: a passage is never cut by the encoder
MAX_PASSAGE_TOKENS = MAX_TOKENS - 2
OVERLAP = 0

Span = tuple[int, int]


def check_chunk_options(by: str, count: str, max_tokens: int, overlap: int) -> None:
    if by not in BY_CHOICES:
        raise UsageError(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if count not in COUNT_CHOICES:
        raise UsageError(f"--count must be one of {', '.join(COUNT_CHOICES)}, not {count!r}")
    if max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    if not 0 <= overlap < max_tokens:
        raise UsageError(f"--overlap must be at least 0 and less than --max-tokens ({max_tokens}), not {overlap}")


def token_windows(tokens: list[Span], max_tokens: int, overlap: int, cuttable: list[bool] | None = None) -> list[Span]:
    """(first, last+1) token index ranges of windows of at most `max_tokens` that share up to `overlap` tokens.

    `cuttable[i]` says a window may start or end before token i (a word piece that starts a
    word): windows end before the last whole word that fits, and start on a word, unless
    one word is longer than a window.
    """
    n = len(tokens)
    if not n:
        return []

    def ok(i: int) -> bool:
        return cuttable is None or i >= n or cuttable[i]

    windows = []
    start = 0
    while True:
        end = min(start + max_tokens, n)
        cut = end
        while cut > start + 1 and not ok(cut):
            cut -= 1
        if ok(cut):
            end = cut
        windows.append((start, end))
        if end == n:
            return windows
        following = max(end - overlap, start + 1)
        while following < end and not ok(following):
            following += 1
        start = following


def _part(cuttable: list[bool] | None, start: int, end: int) -> list[bool] | None:
    return None if cuttable is None else cuttable[start:end]


def sentence_windows(tokens: list[Span], sentences: list[Span], max_tokens: int, overlap: int,
                     cuttable: list[bool] | None = None) -> list[Span]:
    """Token index ranges of passages made of whole sentences (a sentence too long is cut by tokens)."""
    # each sentence as a token index range: the tokens that start inside it
    units: list[Span] = []
    position = 0
    for _, s_end in sentences:
        first = position
        while position < len(tokens) and tokens[position][0] < s_end:
            position += 1
        if position > first:
            if position - first > max_tokens:  # a sentence longer than a passage: cut by tokens
                units.extend((first + a, first + b) for a, b in
                             token_windows(tokens[first:position], max_tokens, overlap, _part(cuttable, first, position)))
            else:
                units.append((first, position))
    if position < len(tokens):  # tokens past the last sentence (trailing text punkt left out)
        units.extend((position + a, position + b) for a, b in
                     token_windows(tokens[position:], max_tokens, overlap, _part(cuttable, position, len(tokens))))
    windows: list[Span] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= max_tokens:
            j += 1
        windows.append((units[i][0], units[j][1]))
        if j + 1 >= len(units):
            break
        # the next passage starts with the last sentences of this one that fit in `overlap`, but always moves on
        k = j + 1
        while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap and units[j + 1][1] - units[k - 1][0] <= max_tokens:
            k -= 1
        i = k
    return windows


class Chunker:
    """Splits texts into passages; see the module docstring."""

    def __init__(self, by: str = "tokens", max_tokens: int = MAX_PASSAGE_TOKENS, overlap: int = OVERLAP,
                 count: str = "wordpieces", model: str | None = None):
        check_chunk_options(by, count, max_tokens, overlap)
        self.by = by
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.count = count
        self.model = model
        self._tokenizer = None
        self._sentences = None

    def load(self) -> "Chunker":
        if self.count == "wordpieces" and self._tokenizer is None:
            from nlpkit.retrieval.encoder import load_tokenizer

            self._tokenizer = load_tokenizer(self.model)
        if self.by == "sentences" and self._sentences is None:
            from nltk.tokenize.punkt import PunktTokenizer

            from nlpkit.resources import nltk_resource

            nltk_resource("punkt_tab")
            self._sentences = PunktTokenizer("english")
        return self

    def token_spans(self, texts: list[str]) -> list[tuple[list[Span], list[bool] | None]]:
        """Character spans of each text's tokens (word pieces, or words), and where a passage may be cut."""
        if self.count == "words":
            return [([m.span() for m in WORD_RE.finditer(t)], None) for t in texts]
        assert self._tokenizer is not None
        encoded = self._tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                                  verbose=False)
        out = []
        for i, offsets in enumerate(encoded["offset_mapping"]):
            spans, cuttable, previous = [], [], None
            # word pieces with an empty span (none in BERT's WordPiece, but other tokenizers add some) are not counted
            for (a, b), word in zip(offsets, encoded.word_ids(i)):
                if b > a:
                    spans.append((a, b))
                    cuttable.append(word is None or word != previous)
                    previous = word
            out.append((spans, cuttable))
        return out

    def spans(self, texts: list[str]) -> list[list[Span]]:
        """The (start, end) character offsets of each text's passages."""
        self.load()
        out = []
        for text, (tokens, cuttable) in zip(texts, self.token_spans(texts)):
            if self.by == "sentences":
                assert self._sentences is not None
                windows = sentence_windows(tokens, list(self._sentences.span_tokenize(text)), self.max_tokens, self.overlap,
                                           cuttable)
            else:
                windows = token_windows(tokens, self.max_tokens, self.overlap, cuttable)
            out.append([(tokens[a][0], tokens[b - 1][1]) for a, b in windows])
        return out

    def chunk(self, texts: list[str]) -> list[list[str]]:
        return [[text[a:b] for a, b in spans] for text, spans in zip(texts, self.spans(texts))]


@dataclass
class ChunkOptions:
    """Split each record's text into passages, one record each.

    A passage record has `id` PARENT#K (K from 0), `parent`, its `text`, and `start`/`end`:
    character offsets into the parent's text (parent_text[start:end] is the passage).
    The parent's other fields pass through.

    \b
      nlpkit chunk --max-tokens 128 --overlap 16 docs/ | nlpkit encode | nlpkit index build -o index/
      nlpkit chunk --by sentences --max-tokens 200 corpus.jsonl > passages.jsonl
    """

    by: str = param(BY_CHOICES[0], choices=BY_CHOICES, show_default=True,
                    help="tokens: windows of --max-tokens; sentences: whole sentences (NLTK punkt) packed up to --max-tokens.")
    max_tokens: int = param(MAX_PASSAGE_TOKENS, min=1, show_default=True,
                            help="Longest passage, in --count units (254 word pieces + [CLS] and [SEP] fill MiniLM's 256).")
    overlap: int = param(OVERLAP, min=0, show_default=True,
                         help="Tokens neighbouring passages share (sentences: the last whole sentences that fit).")
    count: str = param(COUNT_CHOICES[0], choices=COUNT_CHOICES, show_default=True,
                       help="What a token is: the encoder's word pieces, or words (nlpkit's word pattern).")
    model: str | None = param(None, reads_disk=True, metavar="DIR|NAME",
                              help="The encoder whose word pieces are counted.  [default: the bundled all-MiniLM-L6-v2]")

    def build(self, field: str = "text") -> ChunkStage:
        return ChunkStage(field=field, **values(self))


class ChunkStage(Stage):
    """Splits each record into passage records (an :class:`Expanded` list in its place): see the module docstring."""

    batch_size = 64

    def __init__(self, field: str = "text", **options):
        """`options` are :class:`Chunker`'s (checked now); each process loads its own chunker in setup."""
        Chunker(**options)
        self.options = options
        self.field = field

    def setup(self) -> None:
        self._chunker = Chunker(**self.options).load()

    def process(self, records: list[Record]) -> list[Record]:
        texts = [get_text(r, self.field) for r in records]
        parents = [record_id(r) for r in records]
        out: list = []  # an Expanded list of passages in each record's place
        for record, parent, text, spans in zip(records, parents, texts, self._chunker.spans(texts)):
            base = {k: v for k, v in record.items() if k != "_id"}
            out.append(Expanded({**base, "id": f"{parent}#{k}", "parent": parent, self.field: text[start:end],
                                 "start": start, "end": end} for k, (start, end) in enumerate(spans)))
        return out

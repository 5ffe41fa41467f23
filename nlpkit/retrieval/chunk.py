"""Passages from documents: windows of word pieces, or of whole sentences, with character offsets into the parent.

Each passage of a record is a record of its own: ``id`` = ``PARENT#K`` (K from 0),
``parent`` = the parent's id, ``text`` = the passage, ``start``/``end`` = its character
offsets in the parent's text, so that ``parent_text[start:end] == text``; the parent's
other fields pass through (BEIR's ``_id`` becomes ``id``).

Length is counted in the encoder's word pieces by default (``count="wordpieces"``: a
passage of ``max_tokens`` pieces fits the encoder with its two special tokens), or in
words (``count="words"``, nlpkit's word pattern). ``by="tokens"`` cuts windows of
``max_tokens`` with ``overlap`` tokens shared by neighbours; ``by="sentences"`` packs
whole sentences (NLTK's punkt, English) up to ``max_tokens``, carries the last sentences
worth at most ``overlap`` tokens into the next passage, and cuts a sentence longer than
``max_tokens`` by tokens.
"""

from __future__ import annotations

from nlpkit.errors import UsageError
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


def token_windows(tokens: list[Span], max_tokens: int, overlap: int) -> list[Span]:
    """(first, last+1) token index ranges of windows of `max_tokens` that share `overlap` tokens."""
    if not tokens:
        return []
    step = max_tokens - overlap
    windows = []
    start = 0
    while True:
        end = min(start + max_tokens, len(tokens))
        windows.append((start, end))
        if end == len(tokens):
            return windows
        start += step


def sentence_windows(tokens: list[Span], sentences: list[Span], max_tokens: int, overlap: int) -> list[Span]:
    """Token index ranges of passages made of whole sentences (a sentence too long is cut by tokens)."""
    # each sentence as a token index range: the tokens that start inside it
    units: list[Span] = []
    position = 0
    for s_start, s_end in sentences:
        first = position
        while position < len(tokens) and tokens[position][0] < s_end:
            position += 1
        if position > first:
            if position - first > max_tokens:  # a sentence longer than a passage: cut by tokens
                units.extend((first + a, first + b) for a, b in token_windows(tokens[first:position], max_tokens, overlap))
            else:
                units.append((first, position))
    if position < len(tokens):  # tokens past the last sentence (trailing text punkt left out)
        units.extend((position + a, position + b) for a, b in token_windows(tokens[position:], max_tokens, overlap))
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

    def token_spans(self, texts: list[str]) -> list[list[Span]]:
        """Character spans of each text's tokens (word pieces, or words)."""
        if self.count == "words":
            return [[m.span() for m in WORD_RE.finditer(t)] for t in texts]
        assert self._tokenizer is not None
        encoded = self._tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                                  verbose=False)
        # word pieces with an empty span (none in BERT's WordPiece, but other tokenizers add some) are not counted
        return [[(a, b) for a, b in offsets if b > a] for offsets in encoded["offset_mapping"]]

    def spans(self, texts: list[str]) -> list[list[Span]]:
        """The (start, end) character offsets of each text's passages."""
        self.load()
        out = []
        for text, tokens in zip(texts, self.token_spans(texts)):
            if self.by == "sentences":
                assert self._sentences is not None
                windows = sentence_windows(tokens, list(self._sentences.span_tokenize(text)), self.max_tokens, self.overlap)
            else:
                windows = token_windows(tokens, self.max_tokens, self.overlap)
            out.append([(tokens[a][0], tokens[b - 1][1]) for a, b in windows])
        return out

    def chunk(self, texts: list[str]) -> list[list[str]]:
        return [[text[a:b] for a, b in spans] for text, spans in zip(texts, self.spans(texts))]


class ChunkStage(Stage):
    """Splits each record into passage records (an :class:`Expanded` list in its place): see the module docstring."""

    batch_size = 64

    def __init__(self, by: str = "tokens", max_tokens: int = MAX_PASSAGE_TOKENS, overlap: int = OVERLAP,
                 count: str = "wordpieces", model: str | None = None, field: str = "text"):
        check_chunk_options(by, count, max_tokens, overlap)
        self.by = by
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.count = count
        self.model = model
        self.field = field

    def setup(self) -> None:
        self._chunker = Chunker(self.by, self.max_tokens, self.overlap, self.count, self.model).load()

    def process(self, records: list[Record]) -> list[Record]:
        texts = [get_text(r, self.field) for r in records]
        parents = [record_id(r) for r in records]
        out: list[Record] = []
        for record, parent, text, spans in zip(records, parents, texts, self._chunker.spans(texts)):
            base = {k: v for k, v in record.items() if k != "_id"}
            out.append(Expanded({**base, "id": f"{parent}#{k}", "parent": parent, self.field: text[start:end],
                                 "start": start, "end": end} for k, (start, end) in enumerate(spans)))
        return out

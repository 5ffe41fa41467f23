"""What a language model reads: token ids, with ``<eos>`` ending every record.

Two vocabularies:

- ``word``: the words of the training data by frequency (``--vocab-size``,
  ``--min-count``), from a record's ``tokens`` when present, else its text
  cleaned and split as the RNN classifiers do (:func:`nlpkit.training.vocab.record_tokens`).
  Ids 0, 1, 2 are ``<pad>``, ``<unk>``, ``<eos>``; the rest is ordered by frequency,
  which is what an adaptive softmax's cut-offs assume.
- ``wordpiece``: the WordPiece vocabulary of the bundled all-MiniLM-L6-v2 checkpoint
  (30,522 subwords, uncased: no unknown words); ``[SEP]`` serves as ``<eos>``.
  :class:`PretokenizedWordPiece` is the same vocabulary over records that carry its
  ids already (``{"ids": [...]}``, as the GPU pack stores IMDb): nothing to tokenize.

Every record is a sequence ``<eos> w_1 ... w_n <eos>``: the first ``<eos>`` is the
context the first word is predicted from, the last one is predicted too.
"""

from __future__ import annotations

import json
from pathlib import Path

from nlpkit.training.vocab import PAD, UNK, Vocab, record_tokens

EOS = "<eos>"
TOKENIZERS = ("word", "wordpiece")
WORD_VOCAB, WORDPIECE_FILE = "vocab.json", "tokenizer.json"


class WordTokenizer:
    kind = "word"
    pad_id, unk_id, eos_id = 0, 1, 2

    def __init__(self, vocab: Vocab):
        if vocab.itos[2] != EOS:
            raise ValueError(f"a language model's word vocabulary has {EOS!r} at id 2")
        self.vocab = vocab

    @classmethod
    def build(cls, token_lists, vocab_size: int, min_count: int) -> "WordTokenizer":
        words = Vocab.build(token_lists, max_size=vocab_size - 1, min_count=min_count)  # one place left for <eos>
        return cls(Vocab([PAD, UNK, EOS, *(t for t in words.itos[2:] if t != EOS)]))

    def __len__(self) -> int:
        return len(self.vocab)

    def tokens(self, record: dict, field: str = "text") -> list[str]:
        return record_tokens(record, field)

    def encode(self, record: dict, field: str = "text") -> list[int]:
        return self.vocab.encode(self.tokens(record, field))

    def decode(self, ids) -> str:
        specials = (self.pad_id, self.eos_id)
        return " ".join(self.vocab.itos[i] for i in ids if i not in specials)

    def save(self, directory: Path) -> None:
        self.vocab.save(directory / WORD_VOCAB)


class WordPieceTokenizer:
    kind = "wordpiece"

    def __init__(self, tokenizer):
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.pad_id, self.unk_id, self.eos_id = (tokenizer.token_to_id(t) for t in ("[PAD]", "[UNK]", "[SEP]"))

    @classmethod
    def bundled(cls) -> "WordPieceTokenizer":
        from tokenizers import Tokenizer

        from nlpkit.resources import default_bert_checkpoint

        return cls(Tokenizer.from_file(str(Path(default_bert_checkpoint()) / WORDPIECE_FILE)))

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def text(self, record: dict, field: str = "text") -> str:
        from nlpkit.text.clean import clean

        tokens = record.get("tokens")
        text = " ".join(map(str, tokens)) if isinstance(tokens, list) else record_text(record, field)
        return clean(text, punct=False)

    def encode(self, record: dict, field: str = "text") -> list[int]:
        return self.tokenizer.encode(self.text(record, field), add_special_tokens=False).ids

    def tokens(self, record: dict, field: str = "text") -> list[str]:
        return self.tokenizer.encode(self.text(record, field), add_special_tokens=False).tokens

    def decode(self, ids) -> str:
        return self.tokenizer.decode([i for i in ids if i not in (self.pad_id, self.eos_id)])

    def save(self, directory: Path) -> None:
        self.tokenizer.save(str(directory / WORDPIECE_FILE))


class PretokenizedWordPiece(WordPieceTokenizer):
    """A WordPiece vocabulary whose records are its ids already (``{"ids": [...]}``); it saves, and loads
    back, as :class:`WordPieceTokenizer` (the model directory has no trace of where the ids came from)."""

    @classmethod
    def from_file(cls, path: str | Path) -> "PretokenizedWordPiece":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def encode(self, record: dict, field: str = "text") -> list[int]:
        return list(record["ids"])

    def tokens(self, record: dict, field: str = "text") -> list[str]:
        return [self.tokenizer.id_to_token(i) for i in record["ids"]]


def record_text(record: dict, field: str) -> str:
    from nlpkit.records import get_text

    return get_text(record, field)


def build_tokenizer(kind: str, records, field: str, vocab_size: int, min_count: int):
    if kind == "word":
        return WordTokenizer.build((record_tokens(r, field) for r in records), vocab_size, min_count)
    if kind == "wordpiece":
        return WordPieceTokenizer.bundled()
    raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, not {kind!r}")


def load_tokenizer(kind: str, directory: Path):
    if kind == "word":
        return WordTokenizer(Vocab(json.loads((directory / WORD_VOCAB).read_text(encoding="utf-8"))["tokens"]))
    from tokenizers import Tokenizer

    return WordPieceTokenizer(Tokenizer.from_file(str(directory / WORDPIECE_FILE)))


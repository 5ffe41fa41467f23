"""Vocabularies and sequence shaping for the neural kinds: token ids, truncation, padding.

Pure Python (no torch), so the rules are easy to test on hand-made sequences:

- :class:`Vocab` maps tokens to ids with ``<pad>`` = 0 and ``<unk>`` = 1, built
  from training tokens by frequency (ties broken alphabetically, so the same
  data always gives the same ids) and stored as JSON.
- :func:`truncate` keeps the head, the tail, or head+tail of a sequence
  (Sun et al. 2019: for long IMDb reviews, the first 128 and last 382 of 510
  BERT tokens beat either end alone).
- :func:`pad` pads before (``pre``: the classic choice for a last-state LSTM,
  which then reads real tokens last) or after (``post``) the tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from nlpkit.errors import DamagedFile
from nlpkit.files import read_json, write_json
from nlpkit.records import get_text, words

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
TRUNCATE_CHOICES = ("head", "tail", "head+tail")
PADDING_CHOICES = ("pre", "post", "packed")
# head+tail keeps this share of the budget from the head: 128 of BERT's 510 (Sun et al. 2019)
HEAD_SHARE = 128 / 510


class Vocab:
    def __init__(self, tokens: Sequence[str]):
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r} and {UNK!r}")
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int | None = None, min_count: int = 1) -> "Vocab":
        """The `max_size` most frequent tokens seen at least `min_count` times (plus pad and unk)."""
        counts = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_count and t not in (PAD, UNK)), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        get = self.stoi.get
        return [get(t, UNK_ID) for t in tokens]

    def save(self, path: Path) -> None:
        write_json(path, {"tokens": self.itos, "pad": PAD, "unk": UNK})

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise DamagedFile(path, "damaged vocabulary (no list of tokens)")
        return cls(data["tokens"])


def truncate(ids: Sequence[int], max_len: int, strategy: str = "head") -> list[int]:
    """At most `max_len` ids: the first ones (head), the last ones (tail), or both ends (head+tail)."""
    ids = list(ids)
    if max_len <= 0:
        raise ValueError("max_len must be positive")
    if len(ids) <= max_len:
        return ids
    if strategy == "head":
        return ids[:max_len]
    if strategy == "tail":
        return ids[-max_len:]
    if strategy == "head+tail":
        head = round(max_len * HEAD_SHARE)
        return ids[:head] + ids[len(ids) - (max_len - head):]
    raise ValueError(f"truncate must be one of {TRUNCATE_CHOICES}, not {strategy!r}")


def pad(ids: Sequence[int], length: int, side: str = "post", pad_id: int = PAD_ID) -> list[int]:
    """`ids` padded to `length` with `pad_id`, before (pre) or after (post/packed) them."""
    fill = [pad_id] * (length - len(ids))
    if side == "pre":
        return fill + list(ids)
    if side in ("post", "packed"):
        return list(ids) + fill
    raise ValueError(f"padding must be one of {PADDING_CHOICES}, not {side!r}")


def record_tokens(record: dict, field: str = "text") -> list[str]:
    """A record's `tokens` when it has them; else its text, lowercased, HTML stripped, regex-tokenized.

    The fallback is the minimal preprocessing of the ladder (``nlpkit clean --no-punct |
    nlpkit tokenize --engine regex``), so raw IMDb reviews work without a pipeline in front.
    """
    tokens = record.get("tokens")
    if isinstance(tokens, list):
        return [str(t) for t in tokens]
    from nlpkit.text.clean import clean
    return words(clean(get_text(record, field), punct=False))

"""Where tokens sit in their text, and where sentences start in a dependency tree (stdlib only)."""

from __future__ import annotations


def token_offsets(text: str, tokens: list[str]) -> list[tuple[int, int]] | None:
    """(start_char, end_char) of each token in `text`, found left to right.

    Returns None when the tokens are not substrings of the text in order (for
    example after lowercasing or stemming): offsets are then unknown.
    """
    offsets = []
    position = 0
    for token in tokens:
        start = text.find(token, position)
        # only whitespace may lie between one token and the next
        if start < 0 or text[position:start].strip():
            return None
        position = start + len(token)
        offsets.append((start, position))
    return offsets


def spaces_after(text: str, offsets: list[tuple[int, int]]) -> list[bool]:
    """Whether whitespace follows each token (the last one: whether the text goes on with whitespace)."""
    return [end < len(text) and text[end].isspace() for _, end in offsets]


def sentence_starts(heads: list[int]) -> list[bool]:
    """Sentence starts implied by a dependency tree (heads are 0-based token indices).

    Sentences are contiguous and each is one connected tree, so a new sentence
    starts exactly at a token that no arc crosses over to reach from the left.
    """
    n = len(heads)
    crossing = [0] * (n + 1)  # crossing[i]: arcs spanning the gap before token i
    for i, head in enumerate(heads):
        if 0 <= head < n and head != i:
            lo, hi = min(i, head), max(i, head)
            crossing[lo + 1] += 1
            crossing[hi + 1] -= 1
    starts = []
    covered = 0
    for i in range(n):
        covered += crossing[i]
        starts.append(i == 0 or covered == 0)
    return starts

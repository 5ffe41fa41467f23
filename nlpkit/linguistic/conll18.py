"""Scores of a system's own tokenization against a gold treebank, as the CoNLL 2018 shared task counts them.

The shared task's evaluation (conll18_ud_eval.py, Zeman et al. 2018) compares
two analyses of the same text whatever their tokenization:

- the text is the concatenation of the tokens' forms, spaces removed (any
  character of Unicode category Zs); both sides must spell the same text;
- a token or a sentence is a character span of that text; Tokens and
  Sentences are the F1 of spans that match exactly;
- words outside multiword tokens align when their spans match; inside a
  stretch of text covered by a multiword token (gold ``didn't`` = ``did`` +
  ``n't``, or a system's), words align by the longest common subsequence of
  their lowercased forms;
- UPOS, XPOS, Lemmas, UAS and LAS are F1 over words: a word counts when it
  aligns and the attribute matches (for UAS, the heads align with each other;
  for LAS the relation matches too, subtypes ignored; a gold lemma ``_``
  accepts any). On gold tokenization every word aligns and F1 = accuracy.

This module is a reimplementation of those rules (stdlib only).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from nlpkit.errors import InputError

METRICS = ("Tokens", "Sentences", "Words", "UPOS", "XPOS", "Lemmas", "UAS", "LAS")
TAG_METRICS = ("UPOS", "XPOS", "Lemmas", "UAS", "LAS")


@dataclass
class Word:
    form: str
    lemma: str = "_"
    upos: str = "_"
    xpos: str = "_"
    head: int = 0  # 1-based within the sentence, 0 for the root
    deprel: str = "_"


@dataclass
class Token:
    """A surface token and its syntactic words (one, unless it is a multiword token)."""

    form: str
    words: list[Word]


@dataclass
class _Word:
    span: tuple[int, int]
    word: Word
    is_multiword: bool
    parent: int | None = None  # index of the head word in the treebank; None for a root
    deprel: str = "_"


@dataclass
class Treebank:
    characters: list[str] = field(default_factory=list)
    tokens: list[tuple[int, int]] = field(default_factory=list)
    words: list[_Word] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)


def _without_spaces(form: str) -> str:
    return "".join(c for c in form if unicodedata.category(c) != "Zs")


def build_treebank(sentences: Iterable[list[Token]]) -> Treebank:
    """The character/span representation of sentences of tokens."""
    tb = Treebank()
    for sentence in sentences:
        start, first_word = len(tb.characters), len(tb.words)
        for token in sentence:
            form = _without_spaces(token.form)
            span = (len(tb.characters), len(tb.characters) + len(form))
            tb.characters.extend(form)
            tb.tokens.append(span)
            for word in token.words:
                tb.words.append(_Word(span, word, len(token.words) > 1, deprel=word.deprel.split(":")[0]))
        n = len(tb.words) - first_word
        for w in tb.words[first_word:]:
            w.parent = first_word + w.word.head - 1 if 0 < w.word.head <= n else None
        tb.sentences.append((start, len(tb.characters)))
    return tb


# --------------------------------------------------------------------------- reading a gold file


def read_conllu_tokens(path: str) -> Iterator[tuple[str, dict[str, str], list[Token]]]:
    """(location, comments, tokens) per sentence of a CoNLL-U file, multiword tokens kept."""
    from nlpkit.linguistic.conllu import read_conllu
    from nlpkit.io import iter_records, open_lines

    # the sentence's lines are checked by nlpkit.linguistic.conllu first (one error naming file and line)
    with open_lines(path) as f:
        lines = [raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw for raw in f]
    for _ in iter_records(read_conllu(lines, str(path))):
        pass
    block: list[str] = []
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if line.strip():
            block.append(line)
        elif block:
            yield _block_tokens(block, f"{path}:{lineno - len(block)}")
            block = []
    if block:
        yield _block_tokens(block, f"{path}:{lineno - len(block) + 1}")


def _block_tokens(block: list[str], location: str) -> tuple[str, dict[str, str], list[Token]]:
    from nlpkit.linguistic.conllu import add_comment

    comments: dict[str, str] = {}
    tokens: list[Token] = []
    mwt_end = 0
    for line in block:
        if add_comment(line, comments):
            continue
        columns = line.split("\t")
        word_id = columns[0]
        if "." in word_id:
            continue  # empty nodes are not words
        if "-" in word_id:
            first, last = map(int, word_id.split("-"))
            tokens.append(Token(columns[1], []))
            mwt_end = last
            continue
        head = 0 if columns[6] == "_" else int(columns[6])
        word = Word(columns[1], columns[2], columns[3], columns[4], head, columns[7])
        if int(word_id) <= mwt_end:
            tokens[-1].words.append(word)
        else:
            tokens.append(Token(columns[1], [word]))
    return location, comments, tokens


# --------------------------------------------------------------------------- alignment


def _spans_score(gold: list[tuple[int, int]], system: list[tuple[int, int]]) -> dict:
    correct = gi = si = 0
    while gi < len(gold) and si < len(system):
        if system[si][0] < gold[gi][0]:
            si += 1
        elif gold[gi][0] < system[si][0]:
            gi += 1
        else:
            correct += gold[gi][1] == system[si][1]
            gi += 1
            si += 1
    return _score(len(gold), len(system), correct)


def _score(gold: int, system: int, correct: int, aligned: int | None = None) -> dict:
    return {
        "gold": gold, "system": system, "correct": correct, "aligned": aligned,
        "precision": correct / system if system else 0.0,
        "recall": correct / gold if gold else 0.0,
        "f1": 2 * correct / (gold + system) if gold + system else 0.0,
        "aligned_accuracy": correct / aligned if aligned else None,
    }


def _beyond_end(words: list[_Word], i: int, end: int) -> bool:
    if i >= len(words):
        return True
    if words[i].is_multiword:
        return words[i].span[0] >= end
    return words[i].span[1] > end


def _extend_end(word: _Word, end: int) -> int:
    return word.span[1] if word.is_multiword and word.span[1] > end else end


def _multiword_span(gold: list[_Word], system: list[_Word], gi: int, si: int) -> tuple[int, int, int, int]:
    """The smallest stretch from gi/si that holds whole multiword tokens of both sides."""
    if gold[gi].is_multiword:
        end = gold[gi].span[1]
        if not system[si].is_multiword and system[si].span[0] < gold[gi].span[0]:
            si += 1
    else:
        end = system[si].span[1]
        if not gold[gi].is_multiword and gold[gi].span[0] < system[si].span[0]:
            gi += 1
    gs, ss = gi, si
    while not _beyond_end(gold, gi, end) or not _beyond_end(system, si, end):
        if gi < len(gold) and (si >= len(system) or gold[gi].span[0] <= system[si].span[0]):
            end = _extend_end(gold[gi], end)
            gi += 1
        else:
            end = _extend_end(system[si], end)
            si += 1
    return gs, ss, gi, si


def _align_lcs(gold: list[_Word], system: list[_Word], gs: int, ss: int, gi: int, si: int, pairs: dict) -> None:
    g_forms = [w.word.form.lower() for w in gold[gs:gi]]
    s_forms = [w.word.form.lower() for w in system[ss:si]]
    ng, ns = len(g_forms), len(s_forms)
    lcs = [[0] * (ns + 1) for _ in range(ng + 1)]
    for g in reversed(range(ng)):
        for s in reversed(range(ns)):
            lcs[g][s] = max(lcs[g + 1][s + 1] + 1 if g_forms[g] == s_forms[s] else 0, lcs[g + 1][s], lcs[g][s + 1])
    g = s = 0
    while g < ng and s < ns:
        if g_forms[g] == s_forms[s]:
            pairs[ss + s] = gs + g
            g += 1
            s += 1
        elif lcs[g][s] == lcs[g + 1][s]:
            g += 1
        else:
            s += 1


def align_words(gold: Treebank, system: Treebank) -> dict[int, int]:
    """system word index -> gold word index, for the words that align."""
    pairs: dict[int, int] = {}
    gw, sw = gold.words, system.words
    gi = si = 0
    while gi < len(gw) and si < len(sw):
        if gw[gi].is_multiword or sw[si].is_multiword:
            gs, ss, gi, si = _multiword_span(gw, sw, gi, si)
            if gi > gs and si > ss:
                _align_lcs(gw, sw, gs, ss, gi, si, pairs)
        elif gw[gi].span == sw[si].span:
            pairs[si] = gi
            gi += 1
            si += 1
        elif gw[gi].span[0] <= sw[si].span[0]:
            gi += 1
        else:
            si += 1
    return pairs


def evaluate_treebanks(gold: Treebank, system: Treebank, system_name: str = "system") -> dict:
    """CoNLL 2018 scores of `system` against `gold` (see the module docstring): {metric: {f1, ...}}."""
    if gold.characters != system.characters:
        where = next((i for i, (a, b) in enumerate(zip(gold.characters, system.characters)) if a != b),
                     min(len(gold.characters), len(system.characters)))
        context = "".join(gold.characters[max(0, where - 20): where + 20])
        raise InputError(system_name, f"the {system_name} text differs from the gold text at character {where} "
                                      f"(gold around it: {context!r}); both must spell the same text")
    pairs = align_words(gold, system)
    gw, sw = gold.words, system.words

    def head_of_system(word: _Word):
        return None if word.parent is None else pairs.get(word.parent, "not aligned")

    keys = {
        "UPOS": (lambda g: g.word.upos, lambda s, g: s.word.upos),
        "XPOS": (lambda g: g.word.xpos, lambda s, g: s.word.xpos),
        "Lemmas": (lambda g: g.word.lemma if g.word.lemma != "_" else "_",
                   lambda s, g: s.word.lemma if g.word.lemma != "_" else "_"),
        "UAS": (lambda g: g.parent, lambda s, g: head_of_system(s)),
        "LAS": (lambda g: (g.parent, g.deprel), lambda s, g: (head_of_system(s), s.deprel)),
    }
    scores = {"Tokens": _spans_score(gold.tokens, system.tokens),
              "Sentences": _spans_score(gold.sentences, system.sentences),
              "Words": _score(len(gw), len(sw), len(pairs))}
    for metric, (gold_key, system_key) in keys.items():
        correct = sum(gold_key(gw[g]) == system_key(sw[s], gw[g]) for s, g in pairs.items())
        scores[metric] = _score(len(gw), len(sw), correct, len(pairs))
    return scores


def read_treebank(path: str) -> Treebank:
    return build_treebank(tokens for _, _, tokens in read_conllu_tokens(path))


def evaluate_files(gold_path: str, system_path: str) -> dict:
    """CoNLL 2018 scores of one CoNLL-U file against another, each with its own tokenization."""
    return evaluate_treebanks(read_treebank(gold_path), read_treebank(system_path), str(system_path))

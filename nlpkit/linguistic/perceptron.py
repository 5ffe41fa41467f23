"""NLTK's averaged perceptron POS tagger, batched: the same tags, many times faster.

``nltk.tag.perceptron.PerceptronTagger`` scores one token at a time in pure Python:
fourteen feature strings, a dict of weights for each, a ``max`` over 45 classes.
:class:`BatchedTagger` reads the same model files (the weights, tag dictionary and
classes of NLTK's ``averaged_perceptron_tagger_eng``: JSON, no pickle, nothing retrained
or copied) and gives the same tags on every token:

- **Features.** The same fourteen templates, built as the same strings (NLTK's
  ``normalize``: ``!HYPHEN``, ``!YEAR``, ``!DIGITS``, lower case; the ``-START-``,
  ``-START2-``, ``-END-``, ``-END2-`` context). Strings are built once per distinct word
  (a bounded vocabulary cache) and turned into rows of a dense weight matrix; a feature
  the model does not know is a row of zeros.
- **Scores, exactly.** NLTK adds each known feature's weight to a float score per class, in
  the order of its templates. Each class's sum here is made of the same float64 additions
  in the same order (adding 0.0 for an unknown feature changes no sum), vectorized across
  classes and tokens, so the scores are bit-for-bit NLTK's and no tie can break the other
  way. The winner is NLTK's ``max(classes, key=(score, label))``: the columns are sorted by
  descending class name and ``argmax`` takes the first maximum, so a tie goes to the larger
  name, as in NLTK.
- **Batches.** The ten templates that read only words are looked up for every token of a
  batch at once. The four that read the previous two tags (``i-1 tag``, ``i-2 tag``,
  ``i tag+i-2 tag``, ``i-1 tag+i word``) are the only sequential part: position by
  position, all the batch's sentences at that position at once. Words in NLTK's tag
  dictionary (frequent, unambiguous) take its tag without scoring, as in NLTK.
"""

from __future__ import annotations

import json
import threading
from itertools import chain, repeat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

MODEL = "averaged_perceptron_tagger_eng"
START = ("-START-", "-START2-")
END = ("-END-", "-END2-")
#: the templates in the order NLTK's _get_features adds them (the order of each score's sum)
TEMPLATES = ("bias", "i suffix", "i pref1", "i-1 tag", "i-2 tag", "i tag+i-2 tag", "i word", "i-1 tag+i word",
             "i-1 word", "i-1 suffix", "i-2 word", "i+1 word", "i+1 suffix", "i+2 word")
#: distinct words whose feature rows are cached; past it the cache starts again
MAX_VOCABULARY = 500_000


def normalize(word: str) -> str:
    """NLTK's PerceptronTagger.normalize, character for character."""
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word and word[0].isdigit():
        return "!DIGITS"
    return word.lower()


class _Table:
    """A growable int32 table: one row per vocabulary entry."""

    def __init__(self, width: int):
        import numpy as np

        self.rows = np.zeros((1024, width), dtype=np.int32)
        self.size = 0

    def append(self, row) -> int:
        import numpy as np

        if self.size == len(self.rows):
            self.rows = np.concatenate([self.rows, np.zeros_like(self.rows)])
        self.rows[self.size] = row
        self.size += 1
        return self.size - 1


class BatchedTagger:
    """NLTK's averaged perceptron tagger over many sentences at once (see the module docstring).

    >>> tagger = BatchedTagger.from_nltk_data()
    >>> tagger.tag_sentences([["I", "saw", "her", "duck", "."], []])
    [['PRP', 'VBD', 'PRP', 'NN', '.'], []]
    """

    def __init__(self, weights: dict[str, dict[str, float]], tagdict: dict[str, str], classes: Sequence[str]):
        import numpy as np

        # columns in descending class name: argmax's first maximum is NLTK's tie-break
        self.columns = sorted(set(classes), reverse=True)
        extra = sorted({t for t in tagdict.values() if t} - set(self.columns))
        #: every tag a previous token can have: the classes, tag-dictionary tags, the two starts
        self.tags = self.columns + extra + list(START)
        tag_id = {t: i for i, t in enumerate(self.tags)}
        column = {t: i for i, t in enumerate(self.columns)}
        self._feature = {name: i for i, name in enumerate(weights)}
        self.zero = len(weights)  # the row of an unknown feature
        per_feature = list(weights.values())
        rows = np.repeat(np.arange(len(per_feature)), list(map(len, per_feature)))
        cols = np.fromiter(map(column.get, chain.from_iterable(per_feature), repeat(-1)), dtype=np.int64, count=len(rows))
        values = np.fromiter(chain.from_iterable(map(dict.values, per_feature)), dtype=np.float64, count=len(rows))
        known = cols >= 0  # NLTK's max looks at the classes only
        self.weights = np.zeros((len(weights) + 1, len(self.columns)), dtype=np.float64)
        self.weights[rows[known], cols[known]] = values[known]
        self._tagdict = {w: tag_id[t] for w, t in tagdict.items() if t}
        get = self._feature.get
        k = len(self.tags)
        self.k = k
        self._prev1 = np.array([get(f"i-1 tag {t}", self.zero) for t in self.tags], dtype=np.int32)
        self._prev2 = np.array([get(f"i-2 tag {t}", self.zero) for t in self.tags], dtype=np.int32)
        self._prev12 = np.array([get(f"i tag+i-2 tag {t1} {t2}", self.zero) for t1 in self.tags for t2 in self.tags],
                                dtype=np.int32)
        # "i-1 tag+i word TAG WORD": a (tag, normalized word) table over the words it names,
        # with a last column of unknown rows for every other word
        prefix = "i-1 tag+i word "
        pairs = []
        self._tw_words: dict[str, int] = {}
        for name, i in self._feature.items():
            if name.startswith(prefix):
                tag, word = name[len(prefix):].split(" ", 1)
                if tag in tag_id:
                    pairs.append((tag_id[tag], self._tw_words.setdefault(word, len(self._tw_words)), i))
        self._prev_word = np.full((k, len(self._tw_words) + 1), self.zero, dtype=np.int32)
        for t, w, i in pairs:
            self._prev_word[t, w] = i
        self._lock = threading.Lock()
        self._reset_vocabulary()

    @classmethod
    def from_nltk_data(cls) -> BatchedTagger:
        """The tagger of NLTK's averaged_perceptron_tagger_eng JSON files, found as nlpkit finds NLTK data."""
        from nlpkit.resources import read_nltk_data

        weights, tagdict, classes = (json.loads(read_nltk_data(MODEL, f"{MODEL}.{part}.json"))
                                     for part in ("weights", "tagdict", "classes"))
        return cls(weights, tagdict, classes)

    # ------------------------------------------------------------------ the vocabulary cache

    def _reset_vocabulary(self) -> None:
        # normalized word -> id; row: the feature of each word template that reads it
        self._norms: dict[str, int] = {}
        self._norm_rows = _Table(7)  # i word, i-1 word, i-1 suffix, i-2 word, i+1 word, i+1 suffix, i+2 word
        self._start = [self._norm_id(w) for w in START]
        self._end = [self._norm_id(w) for w in END]
        # word as written -> id; row: i suffix, i pref1, normalized id, tag-dictionary tag (-1: none),
        # the normalized word's column in the "i-1 tag+i word" table
        self._types: dict[str, int] = {}
        self._type_rows = _Table(5)

    def _norm_id(self, norm: str) -> int:
        found = self._norms.get(norm)
        if found is None:
            get, zero, suffix = self._feature.get, self.zero, norm[-3:]
            found = self._norms[norm] = self._norm_rows.append((
                get(f"i word {norm}", zero), get(f"i-1 word {norm}", zero), get(f"i-1 suffix {suffix}", zero),
                get(f"i-2 word {norm}", zero), get(f"i+1 word {norm}", zero), get(f"i+1 suffix {suffix}", zero),
                get(f"i+2 word {norm}", zero)))
        return found

    def _type_id(self, word: str) -> int:
        found = self._types.get(word)
        if found is None:
            get, zero, norm = self._feature.get, self.zero, normalize(word)
            found = self._types[word] = self._type_rows.append((
                get(f"i suffix {word[-3:]}", zero), get(f"i pref1 {word[0] if word else ''}", zero),
                self._norm_id(norm), self._tagdict.get(word, -1), self._tw_words.get(norm, len(self._tw_words))))
        return found

    # ------------------------------------------------------------------ tagging

    def tag_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """The tag ids (indexes into ``self.tags``) of every token of every sentence, concatenated."""
        with self._lock:  # the vocabulary cache is shared state
            return self._tag_ids(sentences)

    def _tag_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        import numpy as np

        lens = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        flat = list(chain.from_iterable(sentences))
        n_tokens = len(flat)
        if n_tokens == 0:
            return np.zeros(0, dtype=np.int64)
        if len(self._types) + n_tokens > MAX_VOCABULARY:
            self._reset_vocabulary()
        ids = list(map(self._types.get, flat))
        if None in ids:
            ids = [self._type_id(w) if i is None else i for i, w in zip(ids, flat)]
        types = self._type_rows.rows[np.asarray(ids, dtype=np.int64)]
        norms = self._norm_rows.rows
        fixed = types[:, 3]  # the tag dictionary's tag, -1 where the token is scored

        # each token's normalized word in NLTK's context list: START + sentence + END per sentence
        first = np.zeros(len(sentences), dtype=np.int64)  # each sentence's first token in `flat`
        np.cumsum(lens[:-1], out=first[1:])
        padded_first = first + 4 * np.arange(len(sentences))
        context = np.empty(n_tokens + 4 * len(sentences), dtype=np.int64)
        for j, norm in enumerate(self._start):
            context[padded_first + j] = norm
        for j, norm in enumerate(self._end):
            context[padded_first + 2 + lens + j] = norm
        position = np.arange(n_tokens) + 2 + 4 * np.repeat(np.arange(len(sentences)), lens)
        context[position] = types[:, 2]

        # the ten word features of each scored token, in template order (tag features filled later)
        scored = np.flatnonzero(fixed < 0)
        at = position[scored]
        features = np.empty((len(scored), len(TEMPLATES)), dtype=np.int32)
        features[:, 0] = self._feature.get("bias", self.zero)
        features[:, 1] = types[scored, 0]
        features[:, 2] = types[scored, 1]
        features[:, 6] = norms[context[at], 0]
        features[:, 8] = norms[context[at - 1], 1]
        features[:, 9] = norms[context[at - 1], 2]
        features[:, 10] = norms[context[at - 2], 3]
        features[:, 11] = norms[context[at + 1], 4]
        features[:, 12] = norms[context[at + 1], 5]
        features[:, 13] = norms[context[at + 2], 6]
        word_column = types[scored, 4]
        row_of = np.full(n_tokens, -1, dtype=np.int64)
        row_of[scored] = np.arange(len(scored))

        # left to right, all sentences at once: the longest first, so those still going are a prefix
        order = np.argsort(-lens, kind="stable")
        starts, sorted_lens = first[order], lens[order]
        active = np.searchsorted(-sorted_lens, -np.arange(int(sorted_lens[0])), side="left")
        prev = np.full(len(sentences), self.k - 2, dtype=np.int64)  # -START-
        prev2 = np.full(len(sentences), self.k - 1, dtype=np.int64)  # -START2-
        out = np.empty(n_tokens, dtype=np.int64)
        weights = self.weights
        for i, n in enumerate(active.tolist()):
            tokens = starts[:n] + i
            tags = fixed[tokens].astype(np.int64)
            rows = row_of[tokens]
            todo = np.flatnonzero(rows >= 0)
            if len(todo):
                r, p1, p2 = rows[todo], prev[todo], prev2[todo]
                f = features[r]
                f[:, 3] = self._prev1[p1]
                f[:, 4] = self._prev2[p2]
                f[:, 5] = self._prev12[p1 * self.k + p2]
                f[:, 7] = self._prev_word[p1, word_column[r]]
                rows_w = weights[f.T]  # (templates, tokens, classes)
                scores = rows_w[0] + rows_w[1]
                for j in range(2, len(TEMPLATES)):  # NLTK's order of additions, one template at a time
                    scores += rows_w[j]
                tags[todo] = scores.argmax(axis=1)  # the first columns are the classes
            out[tokens] = tags
            prev2[:n] = prev[:n]
            prev[:n] = tags
        return out

    def tag_ids_per_sentence(self, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
        """:meth:`tag_ids`, one list per sentence."""
        ids = self.tag_ids(sentences).tolist()
        out, at = [], 0
        for sentence in sentences:
            out.append(ids[at:at + len(sentence)])
            at += len(sentence)
        return out

    def tag_sentences(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Each sentence's Penn Treebank tags, as NLTK's ``PerceptronTagger().tag`` gives them."""
        names = self.tags
        return [[names[i] for i in ids] for ids in self.tag_ids_per_sentence(sentences)]

    def tag(self, tokens: Sequence[str]) -> list[tuple[str, str]]:
        """NLTK's ``PerceptronTagger.tag``: one sentence, (word, tag) pairs."""
        return list(zip(tokens, self.tag_sentences([tokens])[0]))


_shared: BatchedTagger | None = None
_shared_lock = threading.Lock()


def shared_tagger() -> BatchedTagger:
    """One tagger per process (loading the model takes about half a second)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = BatchedTagger.from_nltk_data()
        return _shared

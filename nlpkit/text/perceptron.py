"""NLTK's averaged perceptron POS tagger, batched: the same tags, many times faster.

``nltk.tag.perceptron.PerceptronTagger`` scores one token at a time in pure Python:
fourteen feature strings, a dict of weights for each, a ``max`` over 45 classes.
:class:`BatchedTagger` reads the same model files (the weights, tag dictionary and
classes of NLTK's ``averaged_perceptron_tagger_eng``: JSON, no pickle, nothing retrained
or copied) and gives the same tags on every token:

- **Features.** The same fourteen templates, built as the same strings (NLTK's
  ``normalize``: ``!HYPHEN``, ``!YEAR``, ``!DIGITS``, lower case; the ``-START-``,
  ``-START2-``, ``-END-``, ``-END2-`` context). Strings are built once per distinct word
  (a bounded vocabulary cache) and turned into rows of a weight matrix (features x classes,
  float64, 27 MB); a feature the model does not know is a row of zeros.
- **Scores, and close calls.** NLTK adds each known feature's weight to a float score per
  class, in the order of its templates, and takes ``max(classes, key=(score, label))``.
  Here the columns are sorted by descending class name, so ``argmax`` (the first maximum)
  gives a tie to the larger name, as NLTK does. The fast path sums the weights in another
  order (a sparse product for the word features, then the tag features), which can move a
  score by a few units in the last place: at most ``2 * 14 * 2**-53 * sum(|weights|)``, about
  1.5e-12 for this model. Wherever the two best classes are within ``margin`` (1e-6, a
  million times that; the model's weights are multiples of 0.001, so this is in practice
  an exact tie) the token is scored again by :meth:`BatchedTagger._exact`: NLTK's float64
  additions in NLTK's order, vectorized across classes (each class's sum is its own chain;
  adding 0.0 for an unknown feature changes no sum), so the winner is NLTK's, bit for bit.
  On 2,000 IMDb reviews that is 20 of about 300,000 scored tokens.
- **Batches.** The ten templates that read only words are scored for every token of a
  batch at once (a sparse 0/1 matrix of tokens x features times the weights). The four that read the previous two tags
  (``i-1 tag``, ``i-2 tag``, ``i tag+i-2 tag``, ``i-1 tag+i word``) are the only sequential
  part: position by position, all the batch's sentences at that position at once. Words in NLTK's tag
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
#: the templates that read words only (the rest read the previous tags)
WORD_TEMPLATES = [i for i, name in enumerate(TEMPLATES) if "tag" not in name]
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
    """A growable int64 table: one row per vocabulary entry."""

    def __init__(self, width: int):
        import numpy as np

        self.rows = np.zeros((1024, width), dtype=np.int64)
        self.size = 0

    def extend(self, rows: list[tuple[int, ...]]) -> None:
        import numpy as np

        if not rows:
            return
        while self.size + len(rows) > len(self.rows):
            self.rows = np.concatenate([self.rows, np.zeros_like(self.rows)])
        self.rows[self.size:self.size + len(rows)] = rows
        self.size += len(rows)


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
        self.zero = len(weights)  # the row of an unknown feature: no weights
        per_feature = list(weights.values())
        rows = np.repeat(np.arange(len(per_feature)), list(map(len, per_feature)))
        cols = np.fromiter(map(column.get, chain.from_iterable(per_feature), repeat(-1)), dtype=np.int64, count=len(rows))
        values = np.fromiter(chain.from_iterable(map(dict.values, per_feature)), dtype=np.float64, count=len(rows))
        known = cols >= 0  # NLTK's max looks at the classes only
        self.weights = np.zeros((len(weights) + 1, len(self.columns)), dtype=np.float64)
        self.weights[rows[known], cols[known]] = values[known]
        # A sum of 14 weights, in any order, is within 14 * 2**-53 * 14 * max|weight| of the exact
        # sum; so NLTK's order and ours can disagree on the winner only when the two best classes
        # are within 4 times that. `margin` is 1,000 times that and at least 1e-6: closer calls
        # are scored again, exactly in NLTK's order.
        biggest = float(np.abs(values).max()) if len(values) else 0.0
        self.margin = max(1e-6, 1e3 * 4 * len(TEMPLATES) ** 2 * biggest * 2.0 ** -53)
        self._tagdict = {w: tag_id[t] for w, t in tagdict.items() if t}
        get = self._feature.get
        k = self.k = len(self.tags)
        self._prev1 = np.array([get(f"i-1 tag {t}", self.zero) for t in self.tags], dtype=np.int64)
        self._prev2 = np.array([get(f"i-2 tag {t}", self.zero) for t in self.tags], dtype=np.int64)
        self._prev12 = np.array([get(f"i tag+i-2 tag {t1} {t2}", self.zero) for t1 in self.tags for t2 in self.tags],
                                dtype=np.int64)
        pair = np.arange(k * k)
        #: the three previous-tag features summed, per (i-1 tag, i-2 tag)
        self._prev_scores = (self.weights[self._prev1[pair // k]] + self.weights[self._prev2[pair % k]]
                             + self.weights[self._prev12])
        # "i-1 tag+i word TAG WORD": a (tag, normalized word) table over the words it names,
        # with a last column (no feature) for every other word
        prefix = "i-1 tag+i word "
        pairs = []
        self._tw_words: dict[str, int] = {}
        for name, i in self._feature.items():
            if name.startswith(prefix):
                tag, word = name[len(prefix):].split(" ", 1)
                if tag in tag_id:
                    pairs.append((tag_id[tag], self._tw_words.setdefault(word, len(self._tw_words)), i))
        self._prev_word = np.full((k, len(self._tw_words) + 1), len(pairs), dtype=np.int64)  # -> index in _tw_features
        self._tw_features = np.full(len(pairs) + 1, self.zero, dtype=np.int64)
        for n, (t, w, i) in enumerate(pairs):
            self._prev_word[t, w] = n
            self._tw_features[n] = i
        self._tw_scores = self.weights[self._tw_features]
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
        # word as written -> id; row: i suffix, i pref1, normalized id, tag-dictionary tag (-1: none),
        # the normalized word's column in the "i-1 tag+i word" table
        self._types: dict[str, int] = {}
        self._type_rows = _Table(5)
        self._add_norms(START + END)
        self._start = [self._norms[w] for w in START]
        self._end = [self._norms[w] for w in END]

    def _add_norms(self, norms) -> None:
        get, zero, rows = self._feature.get, self.zero, []
        for norm in norms:
            if norm not in self._norms:
                self._norms[norm] = self._norm_rows.size + len(rows)
                suffix = norm[-3:]
                rows.append((get(f"i word {norm}", zero), get(f"i-1 word {norm}", zero), get(f"i-1 suffix {suffix}", zero),
                             get(f"i-2 word {norm}", zero), get(f"i+1 word {norm}", zero),
                             get(f"i+1 suffix {suffix}", zero), get(f"i+2 word {norm}", zero)))
        self._norm_rows.extend(rows)

    def _add_types(self, words) -> None:
        words = [w for w in dict.fromkeys(words) if w not in self._types]
        norms = [normalize(w) for w in words]
        self._add_norms(norms)
        get, zero, rows = self._feature.get, self.zero, []
        tagdict, tw_words, none = self._tagdict, self._tw_words, len(self._tw_words)
        for word, norm in zip(words, norms):
            self._types[word] = self._type_rows.size + len(rows)
            rows.append((get(f"i suffix {word[-3:]}", zero), get(f"i pref1 {word[0] if word else ''}", zero),
                         self._norms[norm], tagdict.get(word, -1), tw_words.get(norm, none)))
        self._type_rows.extend(rows)

    # ------------------------------------------------------------------ tagging

    def tag_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """The tag ids (indexes into ``self.tags``) of every token of every sentence, concatenated."""
        with self._lock:  # the vocabulary cache is shared state
            return self._tag_ids(sentences)

    def _tag_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        import numpy as np
        from scipy import sparse

        lens = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        flat = list(chain.from_iterable(sentences))
        n_tokens = len(flat)
        if n_tokens == 0:
            return np.zeros(0, dtype=np.int64)
        if len(self._types) + n_tokens > MAX_VOCABULARY:
            self._reset_vocabulary()
        ids = list(map(self._types.get, flat))
        if None in ids:
            self._add_types([w for w, i in zip(flat, ids) if i is None])
            ids = list(map(self._types.__getitem__, flat))
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
        sentence = np.repeat(np.arange(len(sentences)), lens)
        position = np.arange(n_tokens) + 2 + 4 * sentence
        context[position] = types[:, 2]

        # the sequential part goes position by position over all sentences at once; lay the
        # tokens out in that order: position 0 of every sentence, then position 1 of those
        # long enough, ... (sentences by decreasing length, so those still going are a prefix)
        order = np.argsort(-lens, kind="stable")
        rank = np.empty(len(sentences), dtype=np.int64)
        rank[order] = np.arange(len(sentences))
        index = np.arange(n_tokens) - first[sentence]  # position in its sentence
        step_order = np.lexsort((rank[sentence], index))
        step_rank = rank[sentence[step_order]]
        step_ends = np.cumsum(np.bincount(index, minlength=int(lens.max())))
        step_fixed = fixed[step_order]

        # the features of each scored token, in that order and NLTK's template order; the four
        # tag columns are filled only for the close calls scored again
        scored = step_order[step_fixed < 0]
        scored_rank = step_rank[step_fixed < 0]
        scored_ends = np.cumsum(np.bincount(index[scored], minlength=len(step_ends)))
        at = position[scored]
        features = np.empty((len(scored), len(TEMPLATES)), dtype=np.int64)
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
        # the ten word features' scores, for every scored token at once
        words = features[:, WORD_TEMPLATES]
        x = sparse.csr_matrix((np.ones(words.size), words.ravel(), np.arange(0, words.size + 1, len(WORD_TEMPLATES))),
                              shape=(len(scored), len(self.weights)))
        word_scores = x @ self.weights
        word_column = types[scored, 4]

        prev = np.full(len(sentences), self.k - 2, dtype=np.int64)  # -START-
        prev2 = np.full(len(sentences), self.k - 1, dtype=np.int64)  # -START2-
        step_tags = np.empty(n_tokens, dtype=np.int64)
        start = scored_start = 0
        for end, scored_end in zip(step_ends.tolist(), scored_ends.tolist()):
            tags = step_fixed[start:end].copy()  # rank order: sentence rank j is tags[j]
            if scored_end > scored_start:
                part = slice(scored_start, scored_end)
                who = scored_rank[part]
                p1, p2 = prev[who], prev2[who]
                tw = self._prev_word[p1, word_column[part]]
                scores = word_scores[part] + self._prev_scores[p1 * self.k + p2]
                scores += self._tw_scores[tw]
                best = scores.argmax(axis=1)  # the first columns are the classes
                near = scores >= (scores.max(axis=1) - self.margin)[:, None]
                close = np.flatnonzero(np.count_nonzero(near, axis=1) > 1)
                if len(close):
                    f = features[scored_start + close]
                    f[:, 3] = self._prev1[p1[close]]
                    f[:, 4] = self._prev2[p2[close]]
                    f[:, 5] = self._prev12[p1[close] * self.k + p2[close]]
                    f[:, 7] = self._tw_features[tw[close]]
                    best[close] = self._exact(f)
                tags[who] = best
            n = end - start
            prev2[:n] = prev[:n]
            prev[:n] = tags
            step_tags[start:end] = tags
            start, scored_start = end, scored_end
        out = np.empty(n_tokens, dtype=np.int64)
        out[step_order] = step_tags
        return out

    def _exact(self, features: np.ndarray) -> np.ndarray:
        """NLTK's scores, bit for bit: the same float64 additions, template by template, in its order
        (adding 0.0 for an unknown feature changes no sum). Returns the winning columns."""
        rows = [self.weights[features[:, j]] for j in range(len(TEMPLATES))]
        scores = rows[0] + rows[1]
        for row in rows[2:]:
            scores += row
        return scores.argmax(axis=1)

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

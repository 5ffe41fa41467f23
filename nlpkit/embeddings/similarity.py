"""Nearest neighbours and analogies over word vectors (gensim KeyedVectors underneath).

`similar` ranks the vocabulary by cosine similarity to a word (or to the mean of
several); `analogy` solves "a - b + c" by 3CosAdd (Mikolov et al. 2013) or
3CosMul (Levy and Goldberg 2014). Words missing from the vectors raise
:class:`OutOfVocabulary`, except with fastText vectors, which build a vector for
any word from its character n-grams.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import NlpkitError, RecordError
from nlpkit.records import get_text
from nlpkit.stage import Stage

ANALOGY_METHODS = ("3cosadd", "3cosmul")


class OutOfVocabulary(RecordError):
    """Query words the vectors do not hold (a RecordError, so that --on-error skip can count it)."""


def has_subwords(kv) -> bool:
    return type(kv).__name__ == "FastTextKeyedVectors"


def check_words(kv, words: list[str]) -> None:
    if has_subwords(kv):
        # fastText: any word with at least one known character n-gram has a vector
        missing = [w for w in words if not kv.has_index_for(w) and not _has_ngram_vector(kv, w)]
    else:
        missing = [w for w in words if w not in kv.key_to_index]
    if missing:
        listed = ", ".join(repr(w) for w in missing)
        raise OutOfVocabulary(f"not in the vectors' vocabulary ({len(kv):,} words): {listed}")


def _has_ngram_vector(kv, word: str) -> bool:
    try:
        vector = kv.get_vector(word)
    except KeyError:
        return False
    return bool(vector.any())


@dataclass(frozen=True)
class Neighbour:
    word: str
    score: float

    def as_dict(self) -> dict:
        return {"word": self.word, "score": round(self.score, 6)}


def similar(kv, words: list[str] | str, k: int = 10) -> list[Neighbour]:
    """The `k` words nearest (cosine) to `words` (their mean when there are several), the words themselves left out."""
    words = [words] if isinstance(words, str) else list(words)
    if not words:
        raise RecordError("empty query: give at least one word")
    check_words(kv, words)
    return [Neighbour(w, float(s)) for w, s in kv.most_similar(positive=words, topn=k)]


def parse_analogy(query: str) -> tuple[list[str], list[str]]:
    """ "king - man + woman" -> (positive ["king", "woman"], negative ["man"]).

    Also accepts the three words of "a : b :: c : ?" written as "a b c", read as b - a + c
    (the order of the Google analogy file: man king woman -> queen).
    """
    tokens = query.split()
    if not tokens:
        raise RecordError("empty analogy query")
    if "+" not in tokens and "-" not in tokens:
        words = [w for w in query.replace("::", " ").split() if w != ":"]
        if len(words) != 3:
            raise RecordError(
                f"cannot read the analogy {query!r}: write it as 'king - man + woman' (spaces around + and -) "
                "or as three words 'man king woman'"
            )
        a, b, c = words
        return [b, c], [a]
    positive: list[str] = []
    negative: list[str] = []
    sign = "+"
    expect_word = True
    for token in tokens:
        if token in ("+", "-"):
            if expect_word:
                raise RecordError(f"cannot read the analogy {query!r}: an operator where a word should be")
            sign, expect_word = token, True
            continue
        if not expect_word:
            raise RecordError(f"cannot read the analogy {query!r}: words must be joined by + or -")
        (positive if sign == "+" else negative).append(token)
        expect_word = False
    if expect_word:
        raise RecordError(f"cannot read the analogy {query!r}: it ends with an operator")
    return positive, negative


def analogy(kv, positive: list[str], negative: list[str], k: int = 1, method: str = "3cosadd") -> list[Neighbour]:
    """Words that best complete the analogy; the query words are left out of the answers."""
    if method not in ANALOGY_METHODS:
        raise NlpkitError(f"unknown analogy method {method!r}; use one of: {', '.join(ANALOGY_METHODS)}")
    check_words(kv, positive + negative)
    if method == "3cosadd":
        found = kv.most_similar(positive=positive, negative=negative, topn=k)
    else:
        found = kv.most_similar_cosmul(positive=positive, negative=negative, topn=k)
    return [Neighbour(w, float(s)) for w, s in found]


# --------------------------------------------------------------------------- query streams


class _VectorsStage(Stage):
    batch_size = 64

    def __init__(self, vectors: str, field: str = "text", k: int = 10):
        self.vectors = vectors
        self.field = field
        self.k = k

    def setup(self) -> None:
        from nlpkit.embeddings.vectors import load_vectors

        self._kv = load_vectors(self.vectors)

    def query_text(self, record: dict) -> str:
        for name in ("query", self.field):
            if isinstance(record.get(name), str):
                return record[name]
        return get_text(record, self.field)


class SimilarStage(_VectorsStage):
    """Adds ``similar``: [{"word", "score"}, ...] for the record's query (its words' mean when several)."""

    def process_record(self, record: dict) -> dict:
        words = self.query_text(record).split()
        return {**record, "similar": [n.as_dict() for n in similar(self._kv, words, self.k)]}


class AnalogyStage(_VectorsStage):
    """Adds ``analogy``: [{"word", "score"}, ...] for the record's query ("king - man + woman")."""

    def __init__(self, vectors: str, field: str = "text", k: int = 1, method: str = "3cosadd"):
        super().__init__(vectors, field, k)
        self.method = method

    def process_record(self, record: dict) -> dict:
        positive, negative = parse_analogy(self.query_text(record))
        answers = analogy(self._kv, positive, negative, self.k, self.method)
        return {**record, "analogy": [n.as_dict() for n in answers]}

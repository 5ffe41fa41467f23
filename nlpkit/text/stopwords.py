"""Stop-word removal with NLTK's lists, keeping negations by default.

Negations carry sentiment ("not good"), so `not`, `no`, `nor` and the n't
forms (`don't`, `didn`, ...) stay unless the user says otherwise with `keep`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nlpkit.params import comma_list, param
from nlpkit.records import get_tokens
from nlpkit.stage import Stage

BASE_NEGATIONS = frozenset({"no", "not", "nor", "n't"})


def nltk_stopwords(lang: str = "english") -> list[str]:
    from nlpkit.errors import NlpkitError
    from nlpkit.resources import nltk_resource

    nltk_resource("stopwords")
    from nltk.corpus import stopwords

    if lang not in stopwords.fileids():
        raise NlpkitError(f"no NLTK stop-word list for {lang!r}; available: {', '.join(stopwords.fileids())}")
    return stopwords.words(lang)


def negations(words: Iterable[str]) -> set[str]:
    """The negation words in a stop-word list: no/not/nor, the n't forms and their stems."""
    found = set(BASE_NEGATIONS)
    for word in words:
        if word.endswith("n't"):
            found.add(word)
            found.add(word[:-2])  # NLTK lists also hold "didn", "wasn", ...: "didn't" without "'t"
    return found


def stopword_set(lang: str | None = "english", add: Iterable[str] = (), keep: Iterable[str] | None = None) -> frozenset[str]:
    """Lower-cased stop words: NLTK's list for `lang` (None: no list) plus `add`, minus `keep`.

    `keep=None` keeps the negations of the list.
    """
    words = set(nltk_stopwords(lang)) if lang else set()
    words |= {w.lower() for w in add}
    kept = negations(words) if keep is None else {w.lower() for w in keep}
    return frozenset(words - kept)


def remove_stopwords(tokens: list[str], stopwords: frozenset[str] | None = None) -> list[str]:
    stopwords = stopword_set() if stopwords is None else stopwords
    return [t for t in tokens if t.lower() not in stopwords]


def read_word_list(path: str) -> list[str]:
    """One word per line; blank lines and `#` comments ignored."""
    with open(path, encoding="utf-8") as f:
        return [w for w in (line.split("#", 1)[0].strip() for line in f) if w]


@dataclass
class StopwordsOptions:
    """Remove stop words from `tokens` (or the whitespace-split text).

    \b
      echo "this is not a good movie" | nlpkit stopwords --format text
      not good movie
    """

    lang: str = param("english", show_default=True, help="NLTK stop-word list; 'none' for no list (use --add/--list).")
    add: str = param("", help="Extra stop words, comma-separated.")
    lists: tuple[str, ...] = param((), flag="--list", path="file", exists=True, multiple=True,
                                   help="File of extra stop words, one per line (repeatable).")
    keep: str | None = param(None, help="Words never removed, comma-separated. Default: the negations (not, no, nor, n't forms); "
                                        "--keep '' removes them too.")

    def build(self, field: str = "text") -> StopwordsStage:
        extra = [*comma_list(self.add), *(w for path in self.lists for w in read_word_list(path))]
        return StopwordsStage(lang=None if self.lang == "none" else self.lang, add=extra,
                              keep=None if self.keep is None else comma_list(self.keep), field=field)


class StopwordsStage(Stage):
    """Removes stop words from `tokens` (or the whitespace-split text)."""

    batch_size = 1024

    def __init__(self, lang: str | None = "english", add: Iterable[str] = (), keep: Iterable[str] | None = None, field: str = "text"):
        self.lang = lang
        self.add = list(add)
        self.keep = None if keep is None else list(keep)
        self.field = field

    def setup(self):
        self._stopwords = stopword_set(self.lang, self.add, self.keep)

    def process_record(self, record):
        stop = self._stopwords
        return {**record, "tokens": [t for t in get_tokens(record, self.field) if t.lower() not in stop]}

"""Text rungs: clean, tokenize, stop words, stem, lemmatize.

Each function works on one text or one token list; each ``*Stage`` class runs
the same function over a record stream (see :mod:`nlpkit.stage`).

    >>> from nlpkit.text import clean
    >>> clean("Great <br />movie!! See http://x.y")
    'great movie see'
"""

from nlpkit.text.clean import CleanStage, clean
from nlpkit.text.lemmatize import LemmatizeStage, lemmatize
from nlpkit.text.stem import StemStage, stem
from nlpkit.text.stopwords import StopwordsStage, remove_stopwords, stopword_set
from nlpkit.text.tokenize import TokenizeStage, tokenize

__all__ = [
    "clean",
    "CleanStage",
    "tokenize",
    "TokenizeStage",
    "remove_stopwords",
    "stopword_set",
    "StopwordsStage",
    "stem",
    "StemStage",
    "lemmatize",
    "LemmatizeStage",
]

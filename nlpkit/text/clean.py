"""Text cleaning: the classic normalisation steps, each one optional."""

from __future__ import annotations

import html
import re
import unicodedata

from dataclasses import dataclass
from typing import Any

from nlpkit.params import SWITCH, param, values
from nlpkit.records import get_text
from nlpkit.stage import Stage

_HTML_TAG = re.compile(r"<[^<>]{0,500}>")
_URL = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.%+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Apostrophes inside words are dropped ("don't" -> "dont"); any other punctuation or
# symbol becomes a space so that "well-known" and "end.Start" stay two words.
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_PUNCT = re.compile(r"[^\w\s]|_")
# the same substitution for ASCII text, done by str.translate (several times faster than the regex)
_ASCII_PUNCT = str.maketrans({chr(i): " " for i in range(128) if _PUNCT.match(chr(i))})
_DIGITS = re.compile(r"\d+")
# cheap tests that let most texts skip the costly URL and e-mail patterns
_URL_HINT = re.compile(r"://|www\.", re.IGNORECASE)
_APOSTROPHE_PAIR = re.compile(r"['\u2019]{2}")

UNICODE_FORMS = ("NFKC", "NFC", "NFKD", "NFD", "none")


def clean(text: str, **options: Any) -> str:
    """Normalise one text. Steps run in a fixed order: unicode, HTML, URLs, e-mails,
    case, punctuation, digits, whitespace.

    >>> clean("I <i>LOVED</i> it &amp; you'll too!<br />4/10", digits=True)
    'i loved it youll too'

    The options and their defaults are :class:`CleanOptions`'s.
    """
    return clean_text(text, **values(CleanOptions(**options)))


def clean_text(text: str, *, lower: bool, html_tags: bool, urls: bool, emails: bool, punct: bool, digits: bool,
               unicode: str, whitespace: bool) -> str:
    """:func:`clean` with every step given (the stage's hot path: no defaults to fill in)."""
    if unicode != "none":
        text = unicodedata.normalize(unicode, text)
    if html_tags:
        if "<" in text:
            text = _HTML_TAG.sub(" ", text)
        if "&" in text:
            text = html.unescape(text)
    if urls and _URL_HINT.search(text):
        text = _URL.sub(" ", text)
    if emails and "@" in text:
        text = _EMAIL.sub(" ", text)
    if lower:
        text = text.lower()
    if punct:
        if whitespace and not _APOSTROPHE_PAIR.search(text):
            # spaces are collapsed below, so dropping every apostrophe equals dropping
            # only those inside words (the others would become collapsible spaces);
            # not so for a pair ("a''a" is two words), which takes the pattern
            text = text.replace("'", "").replace("\u2019", "")
        else:
            text = _APOSTROPHE.sub("", text)
        text = text.translate(_ASCII_PUNCT) if text.isascii() else _PUNCT.sub(" ", text)
    if digits:
        text = _DIGITS.sub(" ", text)
    if whitespace:
        text = " ".join(text.split())
    return text


@dataclass
class CleanOptions:
    """Normalize text: case, HTML, URLs, e-mails, punctuation, digits, Unicode, whitespace.

    \b
      echo 'Great <b>movie</b>! See http://imdb.com' | nlpkit clean --format text
      great movie see
    """

    lower: bool = param(True, style=SWITCH, show_default=True, help="Lowercase.")
    html_tags: bool = param(True, style=SWITCH, flag="--html", show_default=True,
                            help="Strip HTML tags, unescape entities (<br /> becomes a space).")
    urls: bool = param(True, style=SWITCH, show_default=True, help="Remove URLs.")
    emails: bool = param(True, style=SWITCH, show_default=True, help="Remove e-mail addresses.")
    punct: bool = param(True, style=SWITCH, show_default=True,
                        help="Remove punctuation (apostrophes inside words are dropped: don't -> dont).")
    digits: bool = param(False, style=SWITCH, show_default=True, help="Remove digits.")
    unicode: str = param("NFKC", choices=UNICODE_FORMS, show_default=True, help="Unicode normalization form.")
    whitespace: bool = param(True, style=SWITCH, show_default=True, help="Collapse runs of whitespace to one space.")

    def build(self, field: str = "text") -> CleanStage:
        return CleanStage(field=field, **values(self))


class CleanStage(Stage):
    """Rewrites the text field of each record with :func:`clean`."""

    batch_size = 512

    def __init__(self, field: str = "text", **options):
        self.field = field
        self.options = values(CleanOptions(**options))
        if self.options["unicode"] not in UNICODE_FORMS:
            raise ValueError(f"unicode must be one of {UNICODE_FORMS}")

    def process_record(self, record):
        return {**record, self.field: clean_text(get_text(record, self.field), **self.options)}

"""Stemming with NLTK's Porter (three modes), Snowball and Lancaster stemmers."""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.params import param, values
from nlpkit.records import get_tokens
from nlpkit.stage import Stage

ALGORITHMS = ("porter", "snowball", "lancaster")
PORTER_MODES = ("nltk", "original", "martin")
# memoised stems per process; a stream's vocabulary repeats, the stemmer is the slow part
CACHE_LIMIT = 500_000


def make_stemmer(algorithm: str = "porter", porter_mode: str = "nltk", lang: str = "english"):
    from nltk.stem import LancasterStemmer, PorterStemmer, SnowballStemmer

    if algorithm == "porter":
        modes = {
            "nltk": PorterStemmer.NLTK_EXTENSIONS,
            "original": PorterStemmer.ORIGINAL_ALGORITHM,
            "martin": PorterStemmer.MARTIN_EXTENSIONS,
        }
        if porter_mode not in modes:
            raise ValueError(f"porter_mode must be one of {PORTER_MODES}")
        return PorterStemmer(mode=modes[porter_mode])
    if algorithm == "snowball":
        from nlpkit.errors import NlpkitError

        if lang not in SnowballStemmer.languages:
            raise NlpkitError(f"no Snowball stemmer for {lang!r}; available: {', '.join(SnowballStemmer.languages)}")
        return SnowballStemmer(lang)
    if algorithm == "lancaster":
        return LancasterStemmer()
    raise ValueError(f"algorithm must be one of {ALGORITHMS}")


def stem(tokens: list[str], algorithm: str = "porter", porter_mode: str = "nltk", lang: str = "english") -> list[str]:
    """>>> stem(["running", "cats"])
    ['run', 'cat']
    """
    stemmer = make_stemmer(algorithm, porter_mode, lang)
    return [stemmer.stem(t) for t in tokens]


@dataclass
class StemOptions:
    """Stem `tokens` (or the whitespace-split text).

    \b
      echo "running cats" | nlpkit stem --format text
      run cat
    """

    algorithm: str = param("porter", choices=ALGORITHMS, show_default=True)
    porter_mode: str = param("nltk", choices=PORTER_MODES, show_default=True,
                             help="NLTK's Porter variants: NLTK extensions, the original 1980 algorithm, Martin's extensions.")
    lang: str = param("english", show_default=True, help="Language for Snowball.")

    def build(self, field: str = "text") -> StemStage:
        return StemStage(field=field, **values(self))


class StemStage(Stage):
    batch_size = 1024

    def __init__(self, algorithm: str = "porter", porter_mode: str = "nltk", lang: str = "english", field: str = "text"):
        self.algorithm = algorithm
        self.porter_mode = porter_mode
        self.lang = lang
        self.field = field

    def setup(self):
        self._stem = make_stemmer(self.algorithm, self.porter_mode, self.lang).stem
        self._cache: dict[str, str] = {}

    def _stem_cached(self, token: str) -> str:
        cache = self._cache
        stemmed = cache.get(token)
        if stemmed is None:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            stemmed = cache[token] = self._stem(token)
        return stemmed

    def process_record(self, record):
        return {**record, "tokens": [self._stem_cached(t) for t in get_tokens(record, self.field)]}

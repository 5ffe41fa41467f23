"""Count (bag-of-words) and TF-IDF vectorizers over records, and their code-free files.

:class:`TextVectorizer` wraps scikit-learn's ``CountVectorizer`` / ``TfidfVectorizer``.
Each record is analysed on its ``tokens`` when it has them (word n-grams built
from those tokens), else on its ``text`` with scikit-learn's own analyzer, so a
pipeline that tokenized, stemmed or dropped stop words upstream is respected.

On disk (no pickle): ``vectorizer.json`` (parameters and the vocabulary in
column order) and, for TF-IDF, ``idf.npz``. A document-term matrix is an
``.npz`` of the CSR arrays plus the row ids (:func:`save_matrix`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlpkit.errors import DamagedFile, RecordError, UsageError
from nlpkit.files import atomic_write_bytes, read_json, read_npz, write_npz
from nlpkit.io import source_of
from nlpkit.params import FLAG, count_or_fraction, ngram_range, param
from nlpkit.records import Skipped
from nlpkit.stage import Stage

METHODS = ("bow", "tfidf")
ANALYZERS = ("word", "char", "char_wb")
VECTORIZER_FILE = "vectorizer.json"
IDF_FILE = "idf.npz"
MATRIX_FILE = "matrix.npz"


class RecordAnalyzer:
    """Turns one record into its list of features (n-grams).

    Picklable (it is sent to worker processes): the scikit-learn analyzer for
    texts is rebuilt lazily in each process.
    """

    def __init__(self, analyzer: str = "word", ngrams: Sequence[int] = (1, 1), lowercase: bool = True):
        self.analyzer = analyzer
        self.ngrams = (int(ngrams[0]), int(ngrams[1]))
        self.lowercase = lowercase
        self._text_analyzer = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_text_analyzer"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._text_analyzer = None

    def text_analyzer(self):
        if self._text_analyzer is None:
            from sklearn.feature_extraction.text import CountVectorizer

            self._text_analyzer = CountVectorizer(
                analyzer=self.analyzer, ngram_range=self.ngrams, lowercase=self.lowercase
            ).build_analyzer()
        return self._text_analyzer

    def __call__(self, record: Any) -> list[str]:
        if not isinstance(record, dict):  # a bare string, for library callers
            return self.text_analyzer()(record)
        tokens = record.get("tokens")
        if tokens is None:
            text = record.get("text")
            if not isinstance(text, str):
                raise RecordError("record has neither 'tokens' nor a string 'text' field")
            return self.text_analyzer()(text)
        if not isinstance(tokens, list):
            raise RecordError("field 'tokens' must be a list of strings")
        if self.lowercase:
            tokens = [t.lower() for t in tokens]
        if self.analyzer != "word":
            return self.text_analyzer()(" ".join(tokens))
        return word_ngrams(tokens, self.ngrams)


def word_ngrams(tokens: list[str], ngrams: tuple[int, int]) -> list[str]:
    """The n-grams of a token list, n from MIN to MAX, joined by spaces (as scikit-learn does)."""
    low, high = ngrams
    if high == 1:
        return list(tokens)
    out = list(tokens) if low == 1 else []
    n_tokens = len(tokens)
    for n in range(max(low, 2), min(high, n_tokens) + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(n_tokens - n + 1))
    return out


@dataclass
class VectorizeOptions:
    """The parameters of a vectorizer that `vectorize bow|tfidf` fits (scikit-learn's names; ngrams is ngram_range)."""

    ngrams: tuple[int, int] = param((1, 1), parse=ngram_range, type_name="MIN,MAX", show_default=True, default_text="1,1",
                                    help="N-gram range MIN,MAX.")
    max_features: int | None = param(None, type=int, min=1, help="Keep the N most frequent features.")
    min_df: int | float = param(1, parse=count_or_fraction, type_name="N|FRACTION", show_default=True,
                                help="Ignore terms in fewer documents (count or fraction).")
    max_df: int | float = param(1.0, parse=count_or_fraction, type_name="N|FRACTION", show_default=True,
                                help="Ignore terms in more documents (count or fraction).")
    binary: bool = param(False, style=FLAG, help="Count presence (0/1) rather than occurrences.")
    sublinear_tf: bool = param(False, style=FLAG, help="1 + log(tf) in place of tf.")
    analyzer: str = param("word", choices=ANALYZERS, show_default=True, help="Word or character n-grams.")


@dataclass
class TopTermsOptions:
    """`vectorize METHOD --apply DIR --top K`: the records streamed on with their top terms (a stage)."""

    method: ClassVar[str] = "tfidf"
    apply_dir: str | None = param(None, flag="--apply", path="dir", exists=True,
                                  help="Use a fitted vectorizer directory instead of fitting.")
    top: int | None = param(None, type=int, min=1, help="Stream the records on, each with its K highest-weighted `terms`.")

    def build(self, field: str = "text") -> TopTermsStage:
        if self.top is None or self.apply_dir is None:
            raise UsageError(f"vectorize {self.method} streams records only with --apply DIR --top K "
                             "(fitting reads the inputs twice: fit first with -o DIR)")
        vectorizer = TextVectorizer.load(self.apply_dir)
        if vectorizer.method != self.method:
            raise UsageError(f"{self.apply_dir} holds a {vectorizer.method} vectorizer, not {self.method}")
        return TopTermsStage(self.top, vectorizer_dir=self.apply_dir, field=field)


@dataclass
class BowTopTermsOptions(TopTermsOptions):
    method: ClassVar[str] = "bow"


@dataclass
class TfidfTopTermsOptions(TopTermsOptions):
    method: ClassVar[str] = "tfidf"


class TextVectorizer:
    """A fitted-or-not bag-of-words / TF-IDF vectorizer over records.

    Parameters follow scikit-learn's names (``ngrams`` is ``ngram_range``).
    """

    def __init__(
        self,
        method: str = "tfidf",
        ngrams: Sequence[int] = (1, 1),
        max_features: int | None = None,
        min_df: float | int = 1,
        max_df: float | int = 1.0,
        binary: bool = False,
        sublinear_tf: bool = False,
        analyzer: str = "word",
        lowercase: bool = True,
    ):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {ANALYZERS}, not {analyzer!r}")
        self.method = method
        self.ngrams = [int(ngrams[0]), int(ngrams[1])]
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.binary = binary
        self.sublinear_tf = sublinear_tf
        self.analyzer = analyzer
        self.lowercase = lowercase
        self._sk = None

    def get_params(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ngrams": list(self.ngrams),
            "max_features": self.max_features,
            "min_df": self.min_df,
            "max_df": self.max_df,
            "binary": self.binary,
            "sublinear_tf": self.sublinear_tf,
            "analyzer": self.analyzer,
            "lowercase": self.lowercase,
        }

    def _build(self, vocabulary: dict[str, int] | None = None):
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        common = dict(
            analyzer=RecordAnalyzer(self.analyzer, self.ngrams, self.lowercase),
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            binary=self.binary,
            vocabulary=vocabulary,
            dtype=np.float64,
        )
        if self.method == "tfidf":
            return TfidfVectorizer(sublinear_tf=self.sublinear_tf, **common)
        return CountVectorizer(**common)

    # -- fitting and transforming

    @property
    def fitted(self) -> bool:
        return self._sk is not None

    def fit_transform(self, records: Sequence[dict]):
        """Learn the vocabulary (and idf) from `records`; return their CSR matrix."""
        self._sk = self._build()
        try:
            matrix = self._sk.fit_transform(records)
        except ValueError as e:  # scikit-learn: empty vocabulary, min_df > max_df, ...
            raise RecordError(f"cannot build a vocabulary: {e}") from None
        self._drop_stop_words()
        return matrix.tocsr()

    def fit(self, records: Sequence[dict]) -> "TextVectorizer":
        self.fit_transform(records)
        return self

    def transform(self, records: Sequence[dict]):
        if self._sk is None:
            raise ValueError("this vectorizer is not fitted")
        return self._sk.transform(records).tocsr()

    def _drop_stop_words(self) -> None:
        # scikit-learn keeps every pruned term in memory; it is not needed for transform
        if hasattr(self._sk, "stop_words_"):
            self._sk.stop_words_ = None

    @property
    def vocabulary(self) -> list[str]:
        """Feature names in column order."""
        return list(self._sk.get_feature_names_out())

    @property
    def idf(self) -> np.ndarray | None:
        return self._sk.idf_ if self.method == "tfidf" else None

    # -- files

    def save(self, directory: str | Path) -> None:
        """Write vectorizer.json (+ idf.npz) into an existing directory."""
        directory = Path(directory)
        state = {"params": self.get_params(), "vocabulary": self.vocabulary}
        atomic_write_bytes(directory / VECTORIZER_FILE, json.dumps(state, ensure_ascii=False).encode("utf-8"))
        if self.method == "tfidf":
            write_npz(directory / IDF_FILE, idf=self.idf)

    @classmethod
    def load(cls, directory: str | Path) -> "TextVectorizer":
        """A fitted vectorizer from its directory; a damaged one is one DamagedFile naming the file."""
        directory = Path(directory)
        try:
            return cls._load(directory)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise DamagedFile(directory / VECTORIZER_FILE, f"damaged vectorizer ({type(e).__name__}: {e})") from None

    @classmethod
    def _load(cls, directory: Path) -> "TextVectorizer":
        state = read_json(directory / VECTORIZER_FILE)
        if not isinstance(state, dict) or not isinstance(state.get("params"), dict) or not isinstance(state.get("vocabulary"), list):
            raise DamagedFile(directory / VECTORIZER_FILE, "damaged vectorizer (no params object or vocabulary list)")
        params = state["params"]
        vectorizer = cls(**params)
        vocabulary = {term: i for i, term in enumerate(state["vocabulary"])}
        if len(vocabulary) != len(state["vocabulary"]):
            raise ValueError(f"{VECTORIZER_FILE}: the vocabulary repeats a term")
        vectorizer._sk = vectorizer._build(vocabulary)
        if vectorizer.method == "tfidf":
            idf = read_npz(directory / IDF_FILE)["idf"]
            if idf.shape != (len(vocabulary),):
                raise ValueError(f"{IDF_FILE}: {idf.shape[0]} idf values for {len(vocabulary)} terms")
            vectorizer._sk.idf_ = idf
        else:
            vectorizer._sk._validate_vocabulary()
        return vectorizer

    def top_terms(self, matrix, k: int) -> list[list[str]]:
        """Each row's `k` highest-weighted terms, highest first (ties: vocabulary order)."""
        names = self._sk.get_feature_names_out()
        out = []
        for i in range(matrix.shape[0]):
            row = matrix.getrow(i)
            order = np.lexsort((row.indices, -row.data))[:k]
            out.append([str(names[row.indices[j]]) for j in order])
        return out


def save_matrix(path: str | Path, matrix, ids: Sequence[str]) -> None:
    """A CSR matrix and its row ids as one .npz (plain arrays: loads with allow_pickle=False)."""
    matrix = matrix.tocsr()
    write_npz(
        Path(path),
        data=matrix.data,
        indices=matrix.indices,
        indptr=matrix.indptr,
        shape=np.array(matrix.shape, dtype=np.int64),
        ids=np.array([str(i) for i in ids], dtype=str),
    )


def load_matrix(path: str | Path):
    """(CSR matrix, list of row ids) from :func:`save_matrix`'s file."""
    from scipy.sparse import csr_matrix

    f = read_npz(Path(path))
    matrix = csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(int(n) for n in f["shape"]))
    return matrix, [str(i) for i in f["ids"]]


# --------------------------------------------------------------------------- the `--top` stage


class TopTermsStage(Stage):
    """Adds ``terms``: each record's `k` highest-weighted features under a fitted vectorizer.

    Give `vectorizer_dir` (loaded in each process) or an already fitted `vectorizer`.
    """

    main_field = "terms"

    def __init__(self, k: int, vectorizer_dir: str | None = None, vectorizer: TextVectorizer | None = None,
                 field: str = "text"):
        self.k = k
        self.vectorizer_dir = vectorizer_dir
        self.vectorizer = vectorizer
        self.field = field

    def setup(self) -> None:
        if self.vectorizer is None:
            self.vectorizer = TextVectorizer.load(self.vectorizer_dir)

    def process(self, records):
        from nlpkit.records import model_input

        matrix = self.vectorizer.transform([model_input(r, self.field) for r in records])
        return [{**r, "terms": terms} for r, terms in zip(records, self.vectorizer.top_terms(matrix, self.k))]


# --------------------------------------------------------------------------- whole-corpus runs (fit, apply)


def collect_records(items, field: str = "text", on_error: str = "fail") -> tuple[list[str], list[dict], Skipped]:
    """(row ids, model inputs, the skipped records) from stream items, in order.

    A record's id is its ``id`` field, else its location. With ``on_error="fail"``
    the first bad record raises InputError.
    """
    from nlpkit.errors import InputError
    from nlpkit.io import iter_records
    from nlpkit.records import model_input

    ids: list[str] = []
    records: list[dict] = []
    skipped = Skipped()
    for location, (model_record, record) in iter_records(items, on_error, skipped, read=lambda r: (model_input(r, field), r)):
        records.append(model_record)
        ids.append(str(record.get("id", location)))
    if not records:
        raise InputError(source_of(items), "no records to vectorize")
    return ids, records, skipped


def fit_to_directory(vectorizer: TextVectorizer, ids: list[str], records: list[dict], directory: str | Path):
    """Fit on `records`; write the vectorizer and the matrix (``matrix.npz``) into `directory`, atomically."""
    from nlpkit.files import AtomicDirectory

    matrix = vectorizer.fit_transform(records)
    with AtomicDirectory(directory) as tmp:
        vectorizer.save(tmp)
        save_matrix(tmp / MATRIX_FILE, matrix, ids)
    return matrix


def apply_to_directory(vectorizer: TextVectorizer, ids: list[str], records: list[dict], directory: str | Path):
    """Transform `records` with a fitted vectorizer; write ``matrix.npz`` into `directory`."""
    matrix = vectorizer.transform(records)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_matrix(directory / MATRIX_FILE, matrix, ids)
    return matrix

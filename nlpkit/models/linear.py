"""Linear classifiers over bag-of-words / TF-IDF features: bow-nb, tfidf-lr, tfidf-svm.

Every kind here ends up as one linear scorer over the vectorizer's columns,
``scores = X @ coef.T + intercept``: multinomial NB's joint log-likelihood,
logistic regression's and the linear SVM's decision functions all have that
shape. So one class predicts, saves (``coef``/``intercept`` in ``linear.npz``,
the vectorizer as JSON + ``.npz``), loads and explains them all; each kind only
says how it fits the head. NB-SVM (nbsvm.py) is one more such head.

Scores become probabilities with the logistic function (binary, one row of
weights for ``labels_[1]``) or softmax (multi-class): exact probabilities for
NB and LR, margin-based scores for the SVMs, which have none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.features.vectorizer import TextVectorizer
from nlpkit.models.base import Classifier
from nlpkit.files import read_npz, write_npz

WEIGHTS_FILE = "linear.npz"


class LinearTextClassifier(Classifier):
    """Base for kinds that are a vectorizer plus a linear head.

    Subclasses set the vectorizer's parameters in ``__init__`` (``ngrams``,
    ``max_features``, ``min_df``, ``max_df``, ``analyzer``, optionally
    ``sublinear_tf`` and ``binary``) and implement ``_fit_head``.
    """

    #: "bow" or "tfidf": what the vectorizer computes
    method = "tfidf"
    libraries = ("scikit-learn", "scipy")

    # -- what subclasses provide

    def _fit_head(self, X, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit on CSR `X` and label indices `y`; return (coef, intercept).

        coef is (1, n_features) for two labels (scores for ``labels_[1]``), else
        (n_labels, n_features).
        """
        raise NotImplementedError

    def _vectorizer_params(self) -> dict[str, Any]:
        return dict(
            method=self.method,
            ngrams=self.ngrams,
            max_features=self.max_features,
            min_df=self.min_df,
            max_df=self.max_df,
            sublinear_tf=getattr(self, "sublinear_tf", False),
            binary=getattr(self, "binary", False),
            analyzer=self.analyzer,
        )

    # -- the estimator protocol

    def fit(self, records, labels, valid=None):
        from nlpkit.scaling import resolve_sized

        resolve_sized(self, len(records))
        self.labels_, y = encode_labels(labels)
        self.vectorizer_ = TextVectorizer(**self._vectorizer_params())
        X = self.vectorizer_.fit_transform(records)
        coef, intercept = self._fit_head(X, y)
        self.coef_ = np.ascontiguousarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64).reshape(-1)
        return self

    def decision_function(self, records) -> np.ndarray:
        X = self.vectorizer_.transform(records)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, records) -> np.ndarray:
        return scores_to_proba(self.decision_function(records))

    # -- files

    def save_weights(self, directory: Path) -> None:
        self.vectorizer_.save(directory)
        write_npz(directory / WEIGHTS_FILE, coef=self.coef_, intercept=self.intercept_)

    @classmethod
    def load_weights(cls, directory: Path, manifest: dict) -> "LinearTextClassifier":
        model = cls(**manifest["params"])
        model.labels_ = list(manifest["labels"])
        model.vectorizer_ = TextVectorizer.load(directory)
        weights = read_npz(directory / WEIGHTS_FILE)
        model.coef_, model.intercept_ = weights["coef"], weights["intercept"]
        rows = 1 if len(model.labels_) == 2 else len(model.labels_)
        n_features = len(model.vectorizer_.vocabulary)
        if model.coef_.shape != (rows, n_features) or model.intercept_.shape != (rows,):
            raise ValueError(
                f"{WEIGHTS_FILE}: weights of shape {model.coef_.shape} do not fit "
                f"{len(model.labels_)} labels and {n_features} features"
            )
        return model

    # -- explanation

    def top_features(self, k: int = 20) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """Per label, the `k` features that push hardest towards it and away from it."""
        names = np.array(self.vectorizer_.vocabulary, dtype=object)
        if self.coef_.shape[0] == 1:  # binary: one weight row, for labels_[1] against labels_[0]
            rows = {self.labels_[1]: self.coef_[0], self.labels_[0]: -self.coef_[0]}
        else:
            # softmax is unchanged by a shift per feature: centre so weights read against the others
            centred = self.coef_ - self.coef_.mean(axis=0, keepdims=True)
            rows = dict(zip(self.labels_, centred))
        out = {}
        for label, weights in rows.items():
            order = np.argsort(-weights, kind="stable")
            out[label] = {
                "positive": [(str(names[i]), float(weights[i])) for i in order[:k]],
                "negative": [(str(names[i]), float(weights[i])) for i in order[::-1][:k]],
            }
        return out


def encode_labels(labels) -> tuple[list[str], np.ndarray]:
    """(the sorted label set, each label's index in it); at least two labels are needed."""
    label_set = sorted(set(labels))
    if len(label_set) < 2:
        raise ValueError("need at least two labels to train a classifier")
    index = {label: i for i, label in enumerate(label_set)}
    return label_set, np.array([index[label] for label in labels])


def scores_to_proba(scores: np.ndarray) -> np.ndarray:
    """Logistic for one score column (two labels), softmax for several."""
    if scores.shape[1] == 1:
        from scipy.special import expit

        p = expit(scores[:, 0])
        return np.column_stack([1.0 - p, p])
    from scipy.special import softmax

    return softmax(scores, axis=1)


class BowNB(LinearTextClassifier):
    """Multinomial naive Bayes on word / n-gram counts (kind ``bow-nb``)."""

    kind = "bow-nb"
    method = "bow"
    # binarized 1-3-grams: 0.8940 on full IMDb's validation slice, 1-2-grams 0.8864 (docs/benchmarks.md);
    # trigrams are too sparse for a few hundred reviews (nlpkit.scaling)
    size_rules = {"ngrams": ([1, 2], [1, 3])}

    def __init__(self, ngrams=None, max_features=None, min_df=1, max_df=1.0, binary=True, analyzer="word", alpha=1.0):
        self.ngrams = None if ngrams is None else [int(n) for n in ngrams]
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.binary = binary
        self.analyzer = analyzer
        self.alpha = alpha

    def _fit_head(self, X, y):
        from sklearn.naive_bayes import MultinomialNB

        nb = MultinomialNB(alpha=self.alpha).fit(X, y)
        log_prob, prior = nb.feature_log_prob_, nb.class_log_prior_
        if len(self.labels_) == 2:  # log-odds: the logistic of it is NB's own posterior
            return (log_prob[1] - log_prob[0])[None, :], np.array([prior[1] - prior[0]])
        return log_prob, prior


class _TfidfLinear(LinearTextClassifier):
    """TF-IDF n-grams and a linear model; subclasses choose the model and its default ``C``."""

    default_C = 1.0
    estimator = "lr"

    def __init__(self, ngrams=(1, 2), max_features=None, min_df=2, max_df=1.0, sublinear_tf=True,
                 analyzer="word", C=None, max_iter=1000, seed=0):
        self.ngrams = [int(n) for n in ngrams]
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.analyzer = analyzer
        self.C = self.default_C if C is None else C
        self.max_iter = max_iter
        self.seed = seed

    def _fit_head(self, X, y):
        fitted = linear_estimator(self.estimator, self.C, self.max_iter, self.seed).fit(X, y)
        return fitted.coef_, fitted.intercept_


class TfidfLR(_TfidfLinear):
    """Logistic regression on TF-IDF n-grams (kind ``tfidf-lr``)."""

    kind = "tfidf-lr"
    default_C = 10.0
    estimator = "lr"


class TfidfSVM(_TfidfLinear):
    """Linear SVM (squared hinge, one-vs-rest) on TF-IDF n-grams (kind ``tfidf-svm``)."""

    kind = "tfidf-svm"
    default_C = 1.0
    estimator = "svm"


def linear_estimator(name: str, C: float, max_iter: int, seed: int):
    """scikit-learn's LogisticRegression ("lr") or LinearSVC ("svm")."""
    if name == "svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=C, max_iter=max_iter, random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=seed)

"""NB-SVM (Wang and Manning 2012, "Baselines and Bigrams"), kind ``nbsvm``.

Features are binarized n-gram counts scaled by the naive Bayes log-count ratio
r = log((p / |p|_1) / (q / |q|_1)), p and q the smoothed feature counts of the
class and of the rest. A linear SVM (or LR) is fitted on x * r, and its weights
are interpolated towards their mean magnitude: w' = (1 - beta) * mean(|w|) + beta * w,
b' = beta * b (scaling the intercept too matters: about one point on IMDb).

At prediction x * r . w' + b' = x . (r * w') + b', so the model is a plain
linear scorer over the binary counts and shares linear.py's saving, loading and
inspection. Multi-class: one such scorer per label against the rest.
"""

from __future__ import annotations

import numpy as np

from nlpkit.models.linear import LinearTextClassifier, linear_estimator


class NBSVM(LinearTextClassifier):
    kind = "nbsvm"
    method = "bow"
    binary = True  # the vectorizer counts presence, as in the paper
    # uni+bi+trigrams as Mesnil et al. 2015 on full data; 1-2-grams below nlpkit.scaling.SMALL_TRAIN
    size_rules = {"ngrams": ([1, 2], [1, 3])}

    def __init__(self, ngrams=None, max_features=None, min_df=1, max_df=1.0, analyzer="word",
                 C=1.0, alpha=1.0, beta=0.25, classifier="svm", max_iter=1000, seed=0):
        if classifier not in ("svm", "lr"):
            raise ValueError(f"classifier must be 'svm' or 'lr', not {classifier!r}")
        self.ngrams = None if ngrams is None else [int(n) for n in ngrams]
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.analyzer = analyzer
        self.C = C
        self.alpha = alpha
        self.beta = beta
        self.classifier = classifier
        self.max_iter = max_iter
        self.seed = seed

    def _fit_head(self, X, y):
        # binary: one scorer for labels_[1]; multi-class: one per label (one-vs-rest)
        targets = [1] if len(self.labels_) == 2 else range(len(self.labels_))
        coefs, intercepts = [], []
        for target in targets:
            w, b = self._fit_one(X, (y == target).astype(np.int64))
            coefs.append(w)
            intercepts.append(b)
        return np.vstack(coefs), np.array(intercepts)

    def _fit_one(self, X, positive: np.ndarray) -> tuple[np.ndarray, float]:
        r = log_count_ratio(X, positive, self.alpha)
        Xr = X.multiply(r).tocsr()
        estimator = linear_estimator(self.classifier, self.C, self.max_iter, self.seed)
        estimator.fit(Xr, positive)
        w, b = estimator.coef_[0], float(estimator.intercept_[0])
        w = (1.0 - self.beta) * np.abs(w).mean() + self.beta * w
        return r * w, self.beta * b


def log_count_ratio(X, positive: np.ndarray, alpha: float) -> np.ndarray:
    """r = log((p / |p|_1) / (q / |q|_1)) with p, q the alpha-smoothed feature sums of the two sides."""
    p = alpha + np.asarray(X[positive == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(X[positive == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))

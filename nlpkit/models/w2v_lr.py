"""``w2v-lr``: document vectors pooled from word vectors, then logistic regression.

The embedding rung of the IMDb ladder: each review becomes the mean (or the
TF-IDF-weighted mean) of its words' vectors (nlpkit.embeddings.docvec), which
are standardised and fed to scikit-learn's LogisticRegression. With
``--vectors glove-6b-50d`` this is what the benchmark calls ``glove-lr``.

The model directory holds the linear head (``w2v_lr.npz``), the document
frequencies for TF-IDF pooling (``idf.json``) and a copy of the vectors
(``vectors/``), except for bundled vectors, which are referred to by name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from nlpkit.models.base import Classifier
from nlpkit.files import read_npz, write_npz

WEIGHTS_FILE = "w2v_lr.npz"
IDF_FILE = "idf.json"
VECTORS_DIR = "vectors"


class W2VLogisticRegression(Classifier):
    """Pooled word vectors + logistic regression (kind ``w2v-lr``)."""

    kind = "w2v-lr"
    libraries = ("gensim", "scikit-learn")

    def __init__(self, vectors: str = "glove-6b-50d", pool: str = "mean", C: float = 1.0, max_iter: int = 1000,
                 lower: bool = True, seed: int = 0):
        from nlpkit.embeddings.docvec import POOLS

        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        if C <= 0:
            raise ValueError(f"C must be positive, got {C}")
        self.vectors = str(vectors)
        self.pool = pool
        self.C = C
        self.max_iter = max_iter
        self.lower = lower
        self.seed = seed
        self._vectors_path = self.vectors  # where to load from (a saved model's own copy)
        self._kv = None

    # -- features

    def _keyed_vectors(self):
        if self._kv is None:
            from nlpkit.embeddings.vectors import load_vectors

            self._kv = load_vectors(self._vectors_path)
        return self._kv

    def _tokens(self, record: dict) -> list[str]:
        from nlpkit.embeddings.docvec import simple_tokens

        tokens = record.get("tokens")
        if isinstance(tokens, list):
            return [t.lower() for t in tokens] if self.lower else list(tokens)
        text = record.get("text", "")
        return simple_tokens(text) if self.lower else text.split()

    def features(self, records) -> np.ndarray:
        """The standardised document vectors the head reads."""
        from nlpkit.embeddings.docvec import document_matrix

        raw = document_matrix(self._keyed_vectors(), (self._tokens(r) for r in records), self.pool, self.idf_)
        return (raw - self.mean_) / self.scale_

    # -- the estimator protocol

    def fit(self, records, labels, valid=None):
        from nlpkit.embeddings.docvec import Idf, document_matrix
        from nlpkit.models.linear import linear_estimator

        self.labels_ = sorted(set(labels))
        if len(self.labels_) < 2:
            raise ValueError("need at least two labels to train a classifier")
        index = {label: i for i, label in enumerate(self.labels_)}
        y = np.array([index[label] for label in labels])
        self.idf_ = Idf.fit(self._tokens(r) for r in records) if self.pool == "tfidf" else None
        raw = document_matrix(self._keyed_vectors(), (self._tokens(r) for r in records), self.pool, self.idf_)
        self.mean_ = raw.mean(axis=0)
        self.scale_ = raw.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        head = linear_estimator("lr", self.C, self.max_iter, self.seed)
        head.fit((raw - self.mean_) / self.scale_, y)
        self.coef_ = np.ascontiguousarray(head.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(head.intercept_, dtype=np.float64).reshape(-1)
        return self

    def decision_function(self, records) -> np.ndarray:
        return self.features(records) @ self.coef_.T + self.intercept_

    def predict_proba(self, records) -> np.ndarray:
        from nlpkit.models.linear import scores_to_proba

        return scores_to_proba(self.decision_function(records))

    # -- the model directory

    def save_weights(self, directory: Path) -> None:
        from nlpkit.embeddings.vectors import BUNDLED

        write_npz(directory / WEIGHTS_FILE, coef=self.coef_, intercept=self.intercept_, mean=self.mean_, scale=self.scale_)
        if self.idf_ is not None:
            (directory / IDF_FILE).write_text(json.dumps(self.idf_.to_json()), encoding="utf-8")
        if self._vectors_path in BUNDLED:
            return
        # keep the vectors with the model, so that it still predicts when the original files move
        source = Path(self._vectors_path)
        target = directory / VECTORS_DIR
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir()
            shutil.copy2(source, target / source.name)

    @classmethod
    def load_weights(cls, directory: Path, manifest: dict) -> "W2VLogisticRegression":
        from nlpkit.embeddings.docvec import Idf

        model = cls(**manifest["params"])
        model.labels_ = list(manifest["labels"])
        arrays = read_npz(directory / WEIGHTS_FILE)
        model.coef_, model.intercept_ = arrays["coef"], arrays["intercept"]
        model.mean_, model.scale_ = arrays["mean"], arrays["scale"]
        idf_path = directory / IDF_FILE
        model.idf_ = Idf.from_json(json.loads(idf_path.read_text(encoding="utf-8"))) if idf_path.exists() else None
        copied = directory / VECTORS_DIR
        if copied.is_dir():
            entries = list(copied.iterdir())
            model._vectors_path = str(copied if (copied / "nlpkit.json").exists() or len(entries) != 1 else entries[0])
        return model

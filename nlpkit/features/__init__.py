"""Bag-of-words, TF-IDF and n-gram features (scikit-learn underneath), saved without pickle."""

from nlpkit.features.vectorizer import (
    METHODS,
    TextVectorizer,
    TopTermsStage,
    load_matrix,
    save_matrix,
)

__all__ = ["METHODS", "TextVectorizer", "TopTermsStage", "load_matrix", "save_matrix"]

"""Classifiers: one registry of model kinds, one model-directory format (see base.py).

This module only names the kinds; each kind's module is imported when used.
"""

from nlpkit.models.base import (
    MODEL_KINDS,
    Classifier,
    ModelError,
    load_model,
    model_class,
    read_manifest,
    register,
    save_model,
)

# kind -> implementation. Add one line per kind.
# (filled in by the classical, neural and embedding modules' issues)
register("bow-nb", "nlpkit.models.linear:BowNB")
register("tfidf-lr", "nlpkit.models.linear:TfidfLR")
register("tfidf-svm", "nlpkit.models.linear:TfidfSVM")
register("nbsvm", "nlpkit.models.nbsvm:NBSVM")
register("fasttext", "nlpkit.models.fasttext_model:FastTextClassifier")
register("lstm", "nlpkit.models.rnn:LSTMClassifier")
register("bilstm", "nlpkit.models.rnn:BiLSTMClassifier")
register("gru", "nlpkit.models.rnn:GRUClassifier")
register("bert", "nlpkit.models.bert:BertClassifier")
register("w2v-lr", "nlpkit.models.w2v_lr:W2VLogisticRegression")
register("lm-lstm", "nlpkit.models.lm_classifier:LMLSTMClassifier")
register("lm-transformer", "nlpkit.models.lm_classifier:LMTransformerClassifier")

__all__ = ["MODEL_KINDS", "Classifier", "ModelError", "load_model", "model_class", "read_manifest", "register", "save_model"]

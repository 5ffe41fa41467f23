"""The IMDb ladder: which methods the benchmark runs, with what settings, beside which published figure.

One table, :data:`METHODS`. Each method is a model kind of the registry in
:mod:`nlpkit.models` (the same code path as ``nlpkit train``) with its
parameters, plus per-device overrides: on a CPU the neural methods train on a
seeded subset or for fewer epochs, and the report says so. A method whose kind
is not registered is listed as unavailable, never faked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reference:
    label: str
    accuracy: float  # test accuracy, percent, on the standard IMDb split
    source: str


# Published IMDb test accuracies (standard 25k/25k split).
REFERENCES: dict[str, Reference] = {
    "maas2011": Reference("Maas et al. 2011, word vectors + unlabelled + BoW", 88.89,
                          "Maas et al. 2011, Learning Word Vectors for Sentiment Analysis, ACL"),
    "wang2012": Reference("Wang & Manning 2012, NBSVM-bigram", 91.22,
                          "Wang and Manning 2012, Baselines and Bigrams, ACL"),
    "dai2015": Reference("Dai & Le 2015, LSTM", 86.5,
                         "Dai and Le 2015, Semi-supervised Sequence Learning, NeurIPS (the LSTM baseline)"),
    "distilbert": Reference("DistilBERT (Sanh et al. 2019)", 92.82,
                            "Sanh et al. 2019, DistilBERT, a distilled version of BERT"),
    "bert-base": Reference("BERT-base (Sanh et al. 2019)", 93.46,
                           "Sanh et al. 2019, DistilBERT, a distilled version of BERT"),
    "ulmfit": Reference("ULMFiT (Howard & Ruder 2018)", 95.4,
                        "Howard and Ruder 2018, Universal Language Model Fine-tuning, ACL"),
}
# Drawn as the ceiling line on the accuracy plot: the best figure the report cites.
CEILING = "ulmfit"


@dataclass(frozen=True)
class Method:
    name: str
    kind: str
    family: str  # "bag of words", "embeddings", "recurrent", "transformer"
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    # device type ("cpu", "cuda", "mps") -> overrides: params, and the limits
    # train_limit / valid_limit / test_limit (a balanced seeded subset of each split)
    per_device: dict[str, dict[str, Any]] = field(default_factory=dict)
    # run when --methods is not given (the others: by name, or --methods all)
    default: bool = True
    # Word2Vec parameters (nlpkit.embeddings.word2vec.Word2VecParams): vectors trained on the
    # method's training reviews first, and handed to the kind as its `vectors`
    word2vec: dict[str, Any] | None = None

    @property
    def neural(self) -> bool:
        return self.family in ("recurrent", "transformer")

    def settings(self, device_type: str) -> "Settings":
        override = dict(self.per_device.get(device_type, {}))
        params = {**self.params, **override.pop("params", {})}
        return Settings(params=params, **override)


@dataclass(frozen=True)
class Settings:
    params: dict[str, Any]
    train_limit: int | None = None
    valid_limit: int | None = None
    test_limit: int | None = None
    note: str | None = None


_BOW = ("maas2011",)
# The recurrent settings of benchmarks/bench_neural.py (issue 5): max pooling over packed sequences,
# embeddings initialised from GloVe 6B 50d and head+tail truncation (88.58% on full IMDb in 3 epochs;
# embeddings learnt from scratch with head truncation gave 83.6%, and 75.2% on the 10k CPU subset).
_RNN = {"hidden": 64, "dim": 50, "vectors": "glove-6b-50d", "truncate": "head+tail", "pooling": "max",
        "padding": "packed", "max_len": 256, "epochs": 2}
_RNN_CPU = {"train_limit": 10_000, "valid_limit": 1000, "test_limit": 5000,
            "note": "CPU default: trained on a balanced 10,000-review subset of train, tested on a balanced "
                    "5,000-review subset of test"}

METHODS: dict[str, Method] = {m.name: m for m in [
    Method("bow-nb", "bow-nb", "bag of words", "multinomial naive Bayes on word counts (1-2-grams)",
           references=_BOW),
    Method("tfidf-lr", "tfidf-lr", "bag of words", "logistic regression on TF-IDF 1-2-grams", references=_BOW),
    Method("tfidf-svm", "tfidf-svm", "bag of words", "linear SVM on TF-IDF 1-2-grams", references=_BOW),
    Method("nbsvm", "nbsvm", "bag of words", "NB-SVM: NB log-count ratios on binarized 1-2-grams (Wang & Manning 2012)",
           references=("wang2012",)),
    Method("fasttext", "fasttext", "embeddings", "fastText supervised, word bigrams", references=_BOW),
    Method("w2v-lr", "w2v-lr", "embeddings",
           "Word2Vec (CBOW, 100d) trained on the training reviews, mean-pooled, logistic regression",
           word2vec={"dim": 100, "window": 5, "min_count": 5, "epochs": 5, "workers": 1}, references=_BOW),
    Method("glove-lr", "w2v-lr", "embeddings", "pre-trained GloVe 6B 50d, mean-pooled, logistic regression",
           params={"vectors": "glove-6b-50d"}, references=_BOW),
    Method("lstm", "lstm", "recurrent", "LSTM over GloVe-initialised embeddings, max-pooled", params=_RNN,
           references=("dai2015",), per_device={"cpu": _RNN_CPU}, default=False),
    Method("bilstm", "bilstm", "recurrent", "bidirectional LSTM over GloVe-initialised embeddings, max-pooled", params=_RNN,
           references=("dai2015",), per_device={"cpu": _RNN_CPU}),
    Method("gru", "gru", "recurrent", "GRU over GloVe-initialised embeddings, max-pooled", params=_RNN,
           references=("dai2015",), per_device={"cpu": _RNN_CPU}, default=False),
    Method("bert", "bert", "transformer", "BERT fine-tuning (default checkpoint: all-MiniLM-L6-v2, 6 layers, 22.7M)",
           params={"max_len": 256, "epochs": 2},
           references=("distilbert", "bert-base"),
           per_device={"cpu": {"params": {"max_len": 128, "epochs": 1, "lr": 5e-5}, "train_limit": 2000, "valid_limit": 500,
                               "test_limit": 2000,
                               "note": "CPU default: 1 epoch at max_len 128 on a balanced 2,000-review subset of "
                                       "train, tested on a 2,000-review subset"}}),
]}


def registered(method: Method) -> bool:
    """Whether the method's kind exists in the model registry (importing nothing heavy)."""
    from nlpkit.models import MODEL_KINDS

    return method.kind in MODEL_KINDS


def select(names: str | None) -> list[Method]:
    """Methods named in a comma-separated list (in the table's order); the default ones; or "all"."""
    if not names:
        return [m for m in METHODS.values() if m.default]
    if names == "all":
        return list(METHODS.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
    return [m for m in METHODS.values() if m.name in wanted]

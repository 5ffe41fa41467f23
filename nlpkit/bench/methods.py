"""The ladder: which methods a benchmark runs, with what settings, beside which family of published figures.

One table, :data:`METHODS`. Each method is a model kind of the registry in
:mod:`nlpkit.models` (the same code path as ``nlpkit train``) with its
parameters, and:

- ``anchor``: its family in :mod:`nlpkit.bench.references`, whose figures on
  the run's corpus are shown beside it ("none published" when there are none);
- ``params``: only what differs from the kind's own defaults, which are the validated settings
  (a kind's defaults that depend on the data size follow the rule of nlpkit.scaling);
- ``small``: overrides when the training split is small (under
  :data:`SMALL_TRAIN` records), for what the kind's own rule does not cover;
- ``per_device``: overrides on a device type (on a CPU, BERT trains on a subset);
- ``refit``: after the fit scored on validation, fit again on train + validation
  and test that model (the published protocol: settings chosen on validation,
  then the whole training split); ``validate=False`` skips the validation fit.

A parameter value :data:`RUN_VECTORS` stands for the word vectors the run trains
once on the training text plus the unlabelled split (:data:`VECTORS`) and hands
to every method that asks for them. A method whose kind is not registered is
listed as unavailable, never faked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nlpkit.scaling import SMALL_TRAIN  # a training split smaller than this uses each method's `small`

# the value of a `vectors` parameter that means "the run's own Word2Vec vectors"
RUN_VECTORS = "run-word2vec"

# Word2Vec (nlpkit.embeddings.word2vec.Word2VecParams) trained once per run on train + unlabelled text.
# Full data: skip-gram 200d, window 10, 10 negatives, 5 epochs (86.99% for mean pooling + LR on IMDb in
# the validation check of docs/benchmarks.md, where 100d/window 5 gave 85.68%); 2 threads. Small data (the sample: 1,000 + 10,000
# unlabelled reviews): 100d, 3 epochs (w2v-lr 79.0% on make bench's 800, 31 s of CPU; 10 epochs: 80.9%, 3x the
# time; CBOW, 5 epochs: 75.8%, 17 s), a lower min_count,
# one thread (gensim is repeatable only with one).
VECTORS = {
    "full": {"sg": True, "dim": 200, "window": 10, "negative": 10, "min_count": 5, "epochs": 5, "workers": 2},
    "small": {"sg": True, "dim": 100, "window": 5, "negative": 5, "min_count": 2, "epochs": 3, "workers": 1},
}


@dataclass(frozen=True)
class Method:
    name: str
    kind: str
    family: str  # "bag of words", "embeddings", "recurrent", "transformer" (plot colours, neural or not)
    description: str
    params: dict[str, Any] = field(default_factory=dict)
    anchor: str | None = None  # the family of published figures (nlpkit.bench.references)
    small: dict[str, Any] = field(default_factory=dict)  # params when the training split is small
    # device type ("cpu", "cuda", "mps") -> overrides: params, the limits train_limit / valid_limit /
    # test_limit (a balanced seeded subset of each split), validate, refit, note
    per_device: dict[str, dict[str, Any]] = field(default_factory=dict)
    default: bool = True  # run when --methods is not given (the others: by name, or --methods all)
    validate: bool = True
    refit: bool = True

    @property
    def neural(self) -> bool:
        return self.family in ("recurrent", "transformer")

    def settings(self, device_type: str, n_train: int | None = None, overrides: dict[str, Any] | None = None
                 ) -> "Settings":
        """The settings on this device and data size, then the user's --set overrides on top."""
        override = dict(self.per_device.get(device_type, {}))
        small = n_train is not None and n_train < SMALL_TRAIN
        params = {**self.params, **(self.small if small else {}), **override.pop("params", {}), **(overrides or {})}
        return Settings(params=params, validate=override.pop("validate", self.validate),
                        refit=override.pop("refit", self.refit), **override)

    @property
    def uses_vectors(self) -> bool:
        return any(v == RUN_VECTORS for v in (self.params.get("vectors"), self.small.get("vectors")))


@dataclass(frozen=True)
class Settings:
    params: dict[str, Any]
    validate: bool = True
    refit: bool = True
    train_limit: int | None = None
    valid_limit: int | None = None
    test_limit: int | None = None
    note: str | None = None

    @property
    def uses_vectors(self) -> bool:
        return self.params.get("vectors") == RUN_VECTORS


# The recurrent rows: max pooling over packed sequences, head+tail truncation (benchmarks/bench_neural.py),
# the embeddings started from the run's own vectors (learnt on train + unsup, as Maas et al. did).
# Scored on full IMDb's 2,500-review validation slice after a fit on the other 22,500 (docs/benchmarks.md):
# a constant lr 0.001 gave 89.84 after 1 and 2 epochs, 89.24 after 3; frozen vectors 87.76 (2 epochs);
# max_len 400 88.36 after 1; a linear decay to 0 over 2 epochs 90.32, over 3 epochs 91.08 (chosen).
_RNN = {"hidden": 64, "vectors": RUN_VECTORS, "truncate": "head+tail", "pooling": "max", "padding": "packed",
        "max_len": 256, "epochs": 3, "schedule": "linear"}
# a few hundred reviews: more passes, and embeddings kept as the vectors learnt them (too few labels to move them).
# Batches of 16: 720 reviews in batches of 32 are 23 steps an epoch, too few for the LSTM to settle. On 2,000
# held-out training reviews (benchmarks/tune_lm_lstm.py), over model seeds 0/1/2, at max_len 200: batch 32
# 73.05/70.30/66.10 (and 57.25% on test at bench --seed 1, predicting pos for 724 of 800), 16
# 79.85/75.90/78.65, 8 79.15/77.85/80.50 (1.5x the time of 16); batch 16 for 5 epochs 76.65/75.40/75.95;
# batch 16 at max_len 128 78.30/78.25/76.70 in 2/3 of the time of 200 (chosen: make bench's 5 minutes)
_RNN_SMALL = {"epochs": 8, "freeze_embeddings": True, "max_len": 128, "lr": 0.003, "schedule": "constant",
              "batch_size": 16}

METHODS: dict[str, Method] = {m.name: m for m in [
    # settings chosen on the 2,500-review validation slice of full IMDb (docs/benchmarks.md): binarized 1-2-grams
    # 0.8864, 1-3-grams 0.8940 (alpha 0.5: 0.8940 too); now the kind's defaults (1-2-grams on small data)
    Method("bow-nb", "bow-nb", "bag of words", "multinomial naive Bayes on binarized 1-3-gram counts",
           anchor="mnb"),
    Method("tfidf-lr", "tfidf-lr", "bag of words", "logistic regression on TF-IDF 1-2-grams", anchor="lr"),
    Method("tfidf-svm", "tfidf-svm", "bag of words", "linear SVM on TF-IDF 1-2-grams", anchor="svm"),
    Method("nbsvm", "nbsvm", "bag of words",
           "NB-SVM: NB log-count ratios on binarized 1-3-grams (Wang & Manning 2012; trigrams as Mesnil et al. 2015)",
           anchor="nbsvm"),  # 1-3-grams (1-2 on small data): the kind's defaults
    # full IMDb, scored on the 2,500-review validation slice (2 threads, so each figure moves by about 0.2
    # between runs; docs/benchmarks.md): 20 epochs, 500k buckets, dim 50 90.32; 40 epochs 90.64; 40 epochs, 1M
    # buckets 90.80 (2M: 90.60, 4M: 90.88); 60 epochs 90.60; trigrams 90.20; the run's 200d Word2Vec vectors as
    # pretrainedVectors, 40 epochs: 500k buckets 90.92, 2M 91.00 (a 1.7 GB model), so 500k (440 MB)
    Method("fasttext", "fasttext", "embeddings", "fastText supervised, word bigrams, from the run's vectors",
           # the n-grams, epochs, lr and buckets are the kind's defaults for the data size (nlpkit.scaling)
           params={"threads": 2, "vectors": RUN_VECTORS}, small={"vectors": None}, anchor="fasttext"),
    Method("w2v-lr", "w2v-lr", "embeddings",
           "the run's Word2Vec vectors (skip-gram, trained on train + unlabelled text), mean-pooled, logistic regression",
           params={"vectors": RUN_VECTORS, "lower": False}, anchor="doc-vectors"),
    Method("glove-lr", "w2v-lr", "embeddings", "pre-trained GloVe 6B 50d, mean-pooled, logistic regression",
           params={"vectors": "glove-6b-50d"}),  # no published figure of pre-trained GloVe + LR on IMDb
    Method("lstm", "lstm", "recurrent", "LSTM over the run's vectors, max-pooled", params=_RNN, small=_RNN_SMALL,
           anchor="rnn", default=False),
    Method("bilstm", "bilstm", "recurrent", "bidirectional LSTM over the run's vectors, max-pooled", params=_RNN,
           small=_RNN_SMALL, anchor="rnn"),
    Method("gru", "gru", "recurrent", "GRU over the run's vectors, max-pooled", params=_RNN, small=_RNN_SMALL,
           anchor="rnn", default=False),
    Method("bert", "bert", "transformer", "BERT fine-tuning (default checkpoint: all-MiniLM-L6-v2, 6 layers, 22.7M)",
           params={"max_len": 256, "epochs": 2}, anchor="transformer", validate=False,
           # on a CPU one fit on the training split, scored and calibrated on the validation split (no refit:
           # the same CPU time as one fit on train + validation, and a held-out split for the calibrator)
           per_device={"cpu": {"params": {"max_len": 128, "epochs": 1, "lr": 5e-5}, "train_limit": 2000,
                               "test_limit": 2000, "validate": True, "refit": False}}),
    # off by default (CPU time). lm "run-lm" (nlpkit.bench.pretrain.RUN_LM): the run pretrains the LM
    # itself, once per settings, on train + valid + unsup (never test), its embedding from the run's vectors;
    # its budget is nlpkit.bench.pretrain.PRETRAIN, set with --set lm-lstm.lm_epochs=... (or --set lm-lstm.lm=DIR)
    Method("lm-lstm", "lm-lstm", "recurrent",
           "LSTM LM pretrained in the run on train + unsup (its embedding from the run's vectors), fine-tuned "
           "ULMFiT-style (concat pooling, the embeddings pooled too, discriminative rates, slanted triangular)",
           # chosen on 280 validation reviews of the sample (docs/language-models.md): pool_embeddings, the LM's
           # embedding (from the run's vectors) pooled beside its states, 75.7% against 53.6% without (the LSTM of
           # a 90-second LM barely reads its input); no gradual unfreezing 76.4% (within noise; everything trains).
           # On 2,000 held-out training reviews (benchmarks/tune_lm_lstm.py) these settings score 77.45/76.40/
           # 77.50 over model seeds 0/1/2, and no variant tried moves that by more than its noise (75.75-78.00)
           # (pooled embeddings, no gradual unfreezing, head+tail, max_len 256, 4 epochs: the kind's defaults)
           params={"lm": "run-lm"},
           anchor="rnn", default=False, validate=False),
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


def vectors_settings(n_train: int) -> dict[str, Any]:
    return dict(VECTORS["small" if n_train < SMALL_TRAIN else "full"])

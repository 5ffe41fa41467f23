"""The model parameters that `nlpkit train` and `bench --set` take, declared once (nlpkit.params).

Each is the name of a model kind's ``__init__`` parameter. None, the default of every one,
keeps the kind's own default; a parameter the chosen kind does not take is a usage error
(nlpkit.models.training.kind_parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.params import SWITCH, count_or_fraction, ngram_range, param


@dataclass
class ModelOptions:
    # --- shared by several families ---
    epochs: int | None = param(None, min=1, type=int, help="Training epochs (fasttext, neural).")
    lr: float | None = param(None, min=0, min_open=True, type=float, help="Learning rate (fasttext, neural).")
    dim: int | None = param(None, min=1, type=int, help="Vector size (fasttext, embeddings).")
    # --- classical: bow-nb, tfidf-lr, tfidf-svm, nbsvm, fasttext ---
    ngrams: tuple[int, int] | None = param(None, parse=ngram_range, type_name="MIN,MAX", help="Word n-gram range MIN,MAX (fasttext: 1,N).")
    max_features: int | None = param(None, min=1, type=int, help="Keep the most frequent N features.")
    min_df: int | float | None = param(None, parse=count_or_fraction, type_name="N|FRACTION", help="Ignore terms in fewer documents (count or fraction).")
    max_df: int | float | None = param(None, parse=count_or_fraction, type_name="N|FRACTION", help="Ignore terms in more documents (count or fraction).")
    sublinear_tf: bool | None = param(None, style=SWITCH, help="1 + log(tf) in place of tf (tfidf kinds).")
    binary: bool | None = param(None, style=SWITCH, help="Presence counts (bow-nb).")
    analyzer: str | None = param(None, choices=("word", "char", "char_wb"), help="Features from words or character n-grams.")
    C: float | None = param(None, flag="-C", min=0, min_open=True, type=float, help="Inverse regularisation strength (lr, svm, nbsvm).")
    max_iter: int | None = param(None, min=1, type=int, help="Solver iterations (tfidf-lr, tfidf-svm, nbsvm).")
    alpha: float | None = param(None, min=0, min_open=True, type=float, help="Smoothing (bow-nb, nbsvm).")
    beta: float | None = param(None, min=0, max=1, type=float, help="NB-SVM interpolation weight.")
    classifier: str | None = param(None, choices=("svm", "lr"), help="NB-SVM's linear model.")
    bucket: int | None = param(None, min=1, type=int, help="fastText hash buckets for n-grams.")
    min_count: int | None = param(None, min=1, type=int, help="Minimum word count (fasttext; lstm, bilstm, gru vocabulary).")
    threads: int | None = param(None, min=1, type=int, help="fastText threads (1 is deterministic); torch CPU threads (neural).")
    # --- neural: lstm, bilstm, gru, bert ---
    vocab_size: int | None = param(None, min=3, type=int, help="Vocabulary size, <pad> and <unk> included (lstm, bilstm, gru).")
    vectors: str | None = param(None, reads_disk=True, metavar="SPEC", help="Initialise embeddings from vectors: an nlpkit vectors dir, a word2vec/GloVe/fastText file, or glove-6b-50d; their size is the model's (fasttext, lstm, bilstm, gru).")
    freeze_embeddings: bool | None = param(None, style=SWITCH, negative="--train-embeddings", help="Keep the embeddings fixed: the --vectors ones (lstm, bilstm, gru), the LM's (lm-lstm, lm-transformer).")
    max_len: int | None = param(None, min=1, type=int, help="Tokens kept per text (neural; bert counts [CLS]/[SEP]).")
    truncate: str | None = param(None, choices=("head", "tail", "head+tail"), help="What a longer text keeps: its start, its end, or both (a quarter from the start; Sun et al. 2019) (neural).")
    padding: str | None = param(None, choices=("pre", "post", "packed"), help="Pad before or after the tokens, or pack the sequences (lstm, bilstm, gru).")
    hidden: int | None = param(None, min=1, type=int, help="Recurrent state size (lstm, bilstm, gru).")
    layers: int | None = param(None, min=1, type=int, help="Stacked recurrent layers (lstm, bilstm, gru).")
    dropout: float | None = param(None, min=0, max=1, max_open=True, type=float, help="Dropout on embeddings and the pooled state (lstm, bilstm, gru).")
    pooling: str | None = param(None, choices=("last", "max", "mean"), help="Text vector: the last state, or max/mean over time (lstm, bilstm, gru).")
    schedule: str | None = param(None, choices=("constant", "linear", "cosine"), help="Learning rate over the run: constant, or a linear/cosine decay to 0 (lstm, bilstm, gru; default constant).")
    clip: float | None = param(None, min=0, type=float, help="Clip the gradient norm to this (0: off) (neural).")
    batch_size: int | None = param(None, min=1, type=int, help="Examples per batch (neural).")
    grad_accum: int | None = param(None, min=1, type=int, help="Batches per optimizer step (neural).")
    patience: int | None = param(None, min=0, type=int, help="Early stopping: epochs without a better --monitor value (0: off) (neural).")
    monitor: str | None = param(None, choices=("loss", "accuracy"), help="Validation metric for model-best/ and early stopping (neural).")
    checkpoint: str | None = param(None, reads_disk=True, metavar="NAME_OR_DIR", help="Pre-trained transformer: a local directory or a hub name (bert; default: the offline all-MiniLM-L6-v2).")
    warmup: float | None = param(None, min=0, max=1, max_open=True, type=float, help="Share of steps with a linear learning-rate warm-up (bert).")
    weight_decay: float | None = param(None, min=0, type=float, help="AdamW weight decay (bert).")
    device: str | None = param(None, metavar="auto|cpu|cuda|cuda:N|mps", help="Where to train (neural; auto: cuda, then mps, then cpu).")
    workers: int | None = param(None, min=0, type=int, help="DataLoader worker processes (neural; default: 2 on CUDA, else 0).")
    save_every: int | None = param(None, min=0, type=int, help="Also checkpoint model-last/ every N optimizer steps (neural).")
    resume: str | None = param(None, flag_value="latest", reads_disk=True, metavar="[DIR]", help="Continue an interrupted run from -o's model-last/, or from DIR (neural).")
    # --- from a pretrained language model: lm-lstm, lm-transformer ---
    lm: str | None = param(None, reads_disk=True, metavar="DIR", help="Language model to start from: a directory of nlpkit lm train (lm-lstm, lm-transformer).")
    concat_pooling: bool | None = param(None, style=SWITCH, help="Text vector [last, max, mean] over the states, else the last state (lm-lstm, lm-transformer; default on).")
    pool_embeddings: bool | None = param(None, style=SWITCH, help="Add the word embeddings' max and mean over time to the text vector, as ELMo reads its token layer (lm-lstm, lm-transformer; default off).")
    discriminative_lr: bool | None = param(None, style=SWITCH, help="Each lower layer group learns 2.6x slower (lm-lstm, lm-transformer; default on).")
    gradual_unfreezing: bool | None = param(None, style=SWITCH, help="Unfreeze one layer group per epoch from the top (lm-lstm, lm-transformer; default on).")
    slanted_triangular: bool | None = param(None, style=SWITCH, help="Slanted triangular learning rate, else constant (lm-lstm, lm-transformer; default on).")
    # --- embeddings: w2v-lr ---
    pool: str | None = param(None, choices=("mean", "tfidf"), help="Document vector from word vectors: their mean or TF-IDF-weighted mean (w2v-lr; --vectors chooses the vectors, default glove-6b-50d).")
    lower: bool | None = param(None, style=SWITCH, help="Lowercase and split raw text into words and punctuation before the lookup (w2v-lr; default on, as GloVe 6B is lowercased).")

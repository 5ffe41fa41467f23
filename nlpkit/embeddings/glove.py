"""GloVe (Pennington, Socher and Manning 2014), trained by nlpkit itself in torch.

Two steps, as in the reference implementation:

1. Co-occurrence counts: every pair of in-vocabulary words at distance d <= window
   inside one document adds 1/d to X[i, j] and to X[j, i] (a symmetric window).
   Counts are accumulated chunk by chunk as scipy sparse matrices, so memory holds
   the non-zero pairs only, never a dense V x V matrix.
2. The weighted least-squares objective over the non-zero X[i, j]:
       sum f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,  f(x) = min(1, (x / x_max)^alpha)
   with word vectors W, context vectors W~ and both biases, trained by AdaGrad
   (initial accumulator 1, as in glove.c) over shuffled mini-batches.

The saved vectors are W + W~, the sum the paper recommends.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from nlpkit.embeddings.corpus import EmptyCorpus, iter_line_sentences
from nlpkit.errors import NlpkitError


@dataclass
class GloveParams:
    dim: int = 100
    window: int = 10
    min_count: int = 5
    epochs: int = 15
    x_max: float = 100.0
    alpha: float = 0.75
    learning_rate: float = 0.05
    batch_size: int = 4096
    seed: int = 0
    device: str = "auto"
    max_vocab: int | None = None
    threads: int = 1  # torch CPU threads: small scatter/gather ops gain little from more

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GloveResult:
    """What training produced: the words, W + W~, and how it went."""

    words: list[str]
    counts: np.ndarray
    vectors: np.ndarray  # W + W~, (len(words), dim)
    losses: list[float] = field(default_factory=list)  # mean weighted loss per epoch
    nonzeros: int = 0
    seconds_counting: float = 0.0
    seconds_training: float = 0.0

    def keyed_vectors(self):
        from nlpkit.embeddings.vectors import keyed_vectors

        kv = keyed_vectors(self.words, self.vectors)
        kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
        kv.expandos["count"][:] = self.counts
        return kv


# --------------------------------------------------------------------------- vocabulary and counts


def build_vocab(corpus_file: str | os.PathLike, min_count: int = 5, max_vocab: int | None = None) -> tuple[list[str], np.ndarray]:
    """Words seen at least `min_count` times, most frequent first (ties in order of first appearance)."""
    counts: Counter[str] = Counter()
    for chunk in iter_line_sentences(corpus_file):
        for words in chunk:
            counts.update(words)
    if not counts:
        raise EmptyCorpus("the training corpus is empty: no record had any tokens")
    kept = [(w, c) for w, c in counts.most_common(max_vocab) if c >= min_count]
    if not kept:
        raise NlpkitError(f"no word occurs at least --min-count {min_count} times in the corpus; lower --min-count or add text")
    words = [w for w, _ in kept]
    return words, np.array([c for _, c in kept], dtype=np.int64)


def cooccurrence_matrix(corpus_file: str | os.PathLike, words: list[str], window: int = 10,
                        chunk_tokens: int = 500_000):
    """The symmetric co-occurrence matrix X (scipy CSR, float64), 1/distance weighting.

    Out-of-vocabulary words are dropped before windowing (as glove.c does), and a
    window never crosses from one document (line) into the next.
    """
    import scipy.sparse as sp

    if window < 1:
        raise NlpkitError(f"--window must be at least 1, got {window}")
    index = {w: i for i, w in enumerate(words)}
    size = len(words)
    upper = sp.csr_matrix((size, size), dtype=np.float64)  # X[left word, right word]
    ids: list[int] = []
    doc_of: list[int] = []
    doc = 0

    def flush():
        nonlocal upper
        if len(ids) < 2:
            return
        id_arr = np.asarray(ids, dtype=np.int32)
        doc_arr = np.asarray(doc_of, dtype=np.int32)
        rows, cols, vals = [], [], []
        for distance in range(1, min(window, len(id_arr) - 1) + 1):
            same_doc = doc_arr[:-distance] == doc_arr[distance:]
            rows.append(id_arr[:-distance][same_doc])
            cols.append(id_arr[distance:][same_doc])
            vals.append(np.full(int(same_doc.sum()), 1.0 / distance))
        chunk = sp.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
        ).tocsr()  # sums repeated pairs
        upper = upper + chunk

    for chunk_docs in iter_line_sentences(corpus_file):
        for document in chunk_docs:
            in_vocab = [i for i in map(index.get, document) if i is not None]
            if len(in_vocab) < 2:
                continue
            ids.extend(in_vocab)
            doc_of.extend([doc] * len(in_vocab))
            doc += 1
            if len(ids) >= chunk_tokens:
                flush()
                ids.clear()
                doc_of.clear()
    flush()
    # symmetric window: the pair (left, right) counts for both X[i, j] and X[j, i]
    return (upper + upper.T).tocsr()


# --------------------------------------------------------------------------- training


def weighting(x, x_max: float = 100.0, alpha: float = 0.75):
    """f(x) = (x / x_max)^alpha, capped at 1."""
    return (x / x_max).pow(alpha).clamp(max=1.0)


class GloveModel:
    """W and W~ with their biases, and the AdaGrad accumulators, as plain tensors (updated by hand).

    As in glove.c, each word's bias is stored as one more column of its vector
    (column `dim`), so that one gather and one scatter serve vector and bias alike.
    """

    def __init__(self, vocab_size: int, dim: int, device, generator):
        import torch

        # glove.c: uniform in [-0.5, 0.5) / dim, biases too
        self.dim = dim
        self.W = ((torch.rand(vocab_size, dim + 1, generator=generator) - 0.5) / dim).to(device)
        self.C = ((torch.rand(vocab_size, dim + 1, generator=generator) - 0.5) / dim).to(device)
        self.gW, self.gC = torch.ones_like(self.W), torch.ones_like(self.C)

    def residuals(self, w_rows, c_cols, log_x):
        """w_i . w~_j + b_i + b~_j - log x, from gathered rows (vector columns, then the bias column)."""
        d = self.dim
        return (w_rows[:, :d] * c_cols[:, :d]).sum(1) + w_rows[:, d] + c_cols[:, d] - log_x

    def step(self, rows, cols, log_x, f_x, learning_rate: float) -> float:
        """One AdaGrad step on a mini-batch; returns the batch's summed loss 0.5 * f * diff^2.

        Written for CPU speed (it is the whole training time): index_select rather than
        advanced indexing (4x faster gathers), the scaled step computed in place in the
        gathered accumulator rows, and index_add_ without `alpha` (which costs a second pass).
        """
        d = self.dim
        w_rows, c_cols = self.W.index_select(0, rows), self.C.index_select(0, cols)
        diff = self.residuals(w_rows, c_cols, log_x)
        fdiff = f_x * diff
        loss = float((fdiff * diff).sum()) * 0.5
        # d loss / d w_i = fdiff * w~_j and d loss / d b_i = fdiff: the gathered row of the other side
        # with its bias column set to 1 gives both at once
        c_cols[:, d] = 1.0
        w_rows[:, d] = 1.0
        grad_w = c_cols.mul_(fdiff[:, None])
        grad_c = w_rows.mul_(fdiff[:, None])
        # AdaGrad with the accumulators as they were before this batch (glove.c updates, then accumulates):
        # step = -learning_rate * grad / sqrt(accumulated squared gradients)
        step_w = self.gW.index_select(0, rows).rsqrt_().mul_(grad_w).mul_(-learning_rate)
        step_c = self.gC.index_select(0, cols).rsqrt_().mul_(grad_c).mul_(-learning_rate)
        self.W.index_add_(0, rows, step_w)
        self.C.index_add_(0, cols, step_c)
        self.gW.index_add_(0, rows, grad_w.square_())
        self.gC.index_add_(0, cols, grad_c.square_())
        return loss

    def total_loss(self, rows, cols, log_x, f_x, batch: int = 1 << 18) -> float:
        """The objective over all pairs, 0.5 * sum f (residual)^2 (for tests and reports)."""
        total = 0.0
        for start in range(0, len(rows), batch):
            sl = slice(start, start + batch)
            diff = self.residuals(self.W.index_select(0, rows[sl]), self.C.index_select(0, cols[sl]), log_x[sl])
            total += float((f_x[sl] * diff * diff).sum()) * 0.5
        return total

    def vectors(self):
        """W + W~ (without the bias columns), as float32 numpy."""
        return (self.W[:, : self.dim] + self.C[:, : self.dim]).cpu().numpy().astype("float32")


def train_glove_matrix(matrix, params: GloveParams, on_epoch: Callable[[int, float], None] | None = None):
    """Fit GloVe to a co-occurrence matrix; returns (W + W~ as float32 numpy, mean loss per epoch)."""
    import torch

    from nlpkit.device import resolve_device

    if params.dim < 1 or params.epochs < 1 or params.batch_size < 1:
        raise NlpkitError("--dim, --epochs and --batch-size must be at least 1")
    device = resolve_device(params.device)
    if device.type == "cpu" and params.threads > 0:
        torch.set_num_threads(params.threads)
    generator = torch.Generator().manual_seed(params.seed)
    coo = matrix.tocoo()
    if coo.nnz == 0:
        raise NlpkitError("no two vocabulary words ever occur within --window of each other; nothing to train on")
    rows = torch.from_numpy(coo.row.astype(np.int64)).to(device)
    cols = torch.from_numpy(coo.col.astype(np.int64)).to(device)
    x = torch.from_numpy(coo.data.astype(np.float32)).to(device)
    log_x, f_x = x.log(), weighting(x, params.x_max, params.alpha)
    del x
    model = GloveModel(matrix.shape[0], params.dim, device, generator)
    losses: list[float] = []
    nnz = len(rows)
    for epoch in range(params.epochs):
        order = torch.randperm(nnz, generator=generator).to(device)
        # shuffle once per epoch with one large gather each; the mini-batches are then views
        e_rows, e_cols, e_log_x, e_f_x = (t.index_select(0, order) for t in (rows, cols, log_x, f_x))
        total = 0.0
        for start in range(0, nnz, params.batch_size):
            sl = slice(start, start + params.batch_size)
            total += model.step(e_rows[sl], e_cols[sl], e_log_x[sl], e_f_x[sl], params.learning_rate)
        mean = total / nnz
        if not math.isfinite(mean):
            raise NlpkitError(f"GloVe training diverged at epoch {epoch + 1} (loss {mean}); lower --learning-rate")
        losses.append(mean)
        if on_epoch:
            on_epoch(epoch + 1, mean)
    vectors = model.vectors()
    return vectors, losses


def train_glove(corpus_file: str | os.PathLike, params: GloveParams | None = None,
                on_epoch: Callable[[int, float], None] | None = None) -> GloveResult:
    """Count co-occurrences in a LineSentence file, then train. See the module docstring."""
    params = params or GloveParams()
    started = time.perf_counter()
    words, counts = build_vocab(corpus_file, params.min_count, params.max_vocab)
    matrix = cooccurrence_matrix(corpus_file, words, params.window)
    counted = time.perf_counter()
    vectors, losses = train_glove_matrix(matrix, params, on_epoch)
    return GloveResult(
        words=words, counts=counts, vectors=vectors, losses=losses, nonzeros=int(matrix.nnz),
        seconds_counting=round(counted - started, 3), seconds_training=round(time.perf_counter() - counted, 3),
    )

"""The torch modules of the language models.

An encoder maps token ids (batch, time) to hidden states (batch, time, width);
:class:`LMHead` turns states into next-token log-probabilities. The classifier
kinds ``lm-lstm`` and ``lm-transformer`` reuse the encoders with a head of their own.

- :class:`LSTMEncoder`, after AWD-LSTM (Merity et al. 2018): embedding dropout
  (whole words dropped from the embedding matrix), locked (variational) dropout
  between layers, the last layer as wide as the embedding so that the output
  layer can share the embedding's weights (weight tying, Press & Wolf 2017).
- :class:`GPTEncoder`: a decoder-only transformer (pre-LayerNorm blocks, GELU),
  causal mask, learned or sinusoidal positions.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

IGNORE = -100  # target id of padding: no loss, not counted

ARCHS = ("lstm", "transformer")
POSITIONS = ("learned", "sinusoidal")


class LockedDropout(nn.Module):
    """One dropout mask per sequence, the same at every time step (Gal & Ghahramani 2016)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or not self.p:
            return x
        mask = x.new_empty((x.size(0), 1, x.size(2))).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


def embedding_dropout(embedding: nn.Embedding, ids, p: float, training: bool):
    """Drop whole words: rows of the embedding matrix are zeroed (and the rest rescaled) for this batch."""
    if not training or not p:
        return embedding(ids)
    mask = embedding.weight.new_empty((embedding.weight.size(0), 1)).bernoulli_(1 - p) / (1 - p)
    return F.embedding(ids, embedding.weight * mask, embedding.padding_idx)


class LSTMEncoder(nn.Module):
    def __init__(self, vocab_size: int, dim: int, hidden: int, layers: int, dropout: float, emb_dropout: float,
                 tie_weights: bool, pad_id: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.emb_dropout = emb_dropout
        self.width = dim if tie_weights else hidden  # tying needs the last layer as wide as the embedding
        sizes = [dim] + [hidden] * (layers - 1) + [self.width]
        self.rnns = nn.ModuleList(nn.LSTM(sizes[i], sizes[i + 1], batch_first=True) for i in range(layers))
        self.drop = LockedDropout(dropout)
        # torch's N(0, 1) embeddings, not AWD-LSTM's uniform(-0.1, 0.1): in one CPU epoch on IMDb
        # (benchmarks/bench_lm.py) the latter ended at validation perplexity 429.3 against 294.6

    def layer_groups(self) -> list[list[nn.Module]]:
        """Bottom to top: the embedding, then each LSTM layer (ULMFiT's discriminative rates and unfreezing)."""
        return [[self.embedding], *[[rnn] for rnn in self.rnns]]

    def forward(self, input_ids, attention_mask=None):
        x = self.drop(embedding_dropout(self.embedding, input_ids, self.emb_dropout, self.training))
        for rnn in self.rnns:
            x, _ = rnn(x)
            x = self.drop(x)
        return x


def sinusoidal_positions(length: int, dim: int):
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    scale = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * scale)
    table[:, 1::2] = torch.cos(position * scale)[:, : dim // 2]
    return table


class GPTEncoder(nn.Module):
    def __init__(self, vocab_size: int, dim: int, heads: int, layers: int, context: int, positions: str,
                 dropout: float, pad_id: int = 0):
        super().__init__()
        self.context, self.width = context, dim
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        if positions == "learned":
            self.positions = nn.Embedding(context, dim)
        else:
            self.register_buffer("sinusoids", sinusoidal_positions(context, dim), persistent=False)
            self.positions = None
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, activation="gelu", batch_first=True, norm_first=True)
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim)
        # GPT-2's init of the embeddings: N(0, 0.02) (torch's N(0, 1) starts a tied output layer at logits
        # of size sqrt(dim), a loss far above log(vocabulary))
        with torch.no_grad():
            for table in (self.embedding, self.positions):
                if table is not None:
                    table.weight.normal_(0.0, 0.02)
            self.embedding.weight[pad_id].zero_()

    def layer_groups(self) -> list[list[nn.Module]]:
        first = [self.embedding] + ([self.positions] if self.positions is not None else [])
        return [first, *[[block] for block in self.blocks[:-1]], [self.blocks[-1], self.norm]]

    def forward(self, input_ids, attention_mask=None):
        """States (batch, time, dim); position t sees positions <= t only. Post-padding needs no
        padding mask: a real position never sees the pads after it."""
        length = input_ids.size(1)
        if length > self.context:
            raise ValueError(f"{length} tokens do not fit the model's context of {self.context}")
        where = torch.arange(length, device=input_ids.device)
        pos = self.positions(where) if self.positions is not None else self.sinusoids[:length]
        x = self.drop(self.embedding(input_ids) + pos)
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=input_ids.device, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, src_mask=causal, is_causal=True)
        return self.norm(x)


class LMHead(nn.Module):
    """States -> next-token log-probabilities: a linear layer and softmax (its weights optionally the
    embedding's), or an adaptive softmax (Grave et al. 2017) that spends less on rare words."""

    def __init__(self, width: int, vocab_size: int, adaptive: bool, cutoffs: list[int] | None, tied: nn.Embedding | None):
        super().__init__()
        self.adaptive = adaptive
        if adaptive:
            self.softmax = nn.AdaptiveLogSoftmaxWithLoss(width, vocab_size, cutoffs or default_cutoffs(vocab_size), div_value=4.0)
        else:
            self.proj = nn.Linear(width, vocab_size)
            if tied is not None:
                self.proj.weight = tied.weight

    def loss(self, states, targets):
        """Mean negative log-likelihood of the targets that are not IGNORE."""
        states, targets = states.reshape(-1, states.size(-1)), targets.reshape(-1)
        keep = targets != IGNORE
        states, targets = states[keep], targets[keep]
        if self.adaptive:
            return self.softmax(states.float(), targets).loss
        return F.cross_entropy(self.proj(states).float(), targets)

    def target_log_probs(self, states, targets):
        """log P(target) at each position (0 where the target is IGNORE); the adaptive softmax computes
        only the clusters the targets are in, not the whole distribution."""
        shape, states, targets = targets.shape, states.reshape(-1, states.size(-1)), targets.reshape(-1)
        keep = targets != IGNORE
        out = torch.zeros(targets.shape, dtype=torch.float32, device=states.device)
        if self.adaptive:
            out[keep] = self.softmax(states[keep].float(), targets[keep]).output
        else:
            out[keep] = F.log_softmax(self.proj(states[keep]).float(), dim=-1).gather(-1, targets[keep].unsqueeze(-1)).squeeze(-1)
        return out.reshape(shape)

    def log_probs(self, states):
        """(..., vocab) log-probabilities."""
        if self.adaptive:
            flat = self.softmax.log_prob(states.reshape(-1, states.size(-1)).float())
            return flat.reshape(*states.shape[:-1], -1)
        return F.log_softmax(self.proj(states).float(), dim=-1)


def default_cutoffs(vocab_size: int) -> list[int]:
    """Cut-offs of the adaptive softmax's clusters for a frequency-ordered vocabulary."""
    cuts = [c for c in (2000, 10000, 50000) if c < vocab_size - 1]
    return cuts or [max(1, vocab_size // 2)]


class LanguageModelNet(nn.Module):
    """Encoder + head: the whole language model."""

    def __init__(self, shape: dict):
        super().__init__()
        self.encoder = build_encoder(shape)
        tied = self.encoder.embedding if shape["tie_weights"] and not shape["adaptive_softmax"] else None
        self.head = LMHead(self.encoder.width, shape["vocab_size"], shape["adaptive_softmax"], shape.get("cutoffs"), tied)

    def forward(self, input_ids):
        return self.encoder(input_ids)

    def loss(self, input_ids, targets):
        return self.head.loss(self.encoder(input_ids), targets)

    def token_log_probs(self, input_ids, targets):
        """log P(target_t | ids_<=t) for every position (0 where the target is IGNORE)."""
        return self.head.target_log_probs(self.encoder(input_ids), targets)

    def next_log_probs(self, input_ids):
        """(batch, vocab) log-probabilities of the token after each row."""
        return self.head.log_probs(self.encoder(input_ids)[:, -1])


def build_encoder(shape: dict) -> nn.Module:
    """The encoder a shape (lm.json) describes."""
    if shape["arch"] == "lstm":
        return LSTMEncoder(shape["vocab_size"], shape["dim"], shape["hidden"], shape["layers"], shape["dropout"],
                           shape["emb_dropout"], shape["tie_weights"] and not shape["adaptive_softmax"], shape["pad_id"])
    return GPTEncoder(shape["vocab_size"], shape["dim"], shape["heads"], shape["layers"], shape["context"],
                      shape["positions"], shape["dropout"], shape["pad_id"])

"""LSTM, BiLSTM and GRU text classifiers (model kinds ``lstm``, ``bilstm``, ``gru``).

Embedding (from the training vocabulary, optionally initialised from
pre-trained ``vectors`` and frozen) -> recurrent layers -> pooling over time
(``last`` state, ``max`` or ``mean``) -> dropout -> linear layer. Trained with
Adam and gradient clipping through the shared loop in ``loop.py``.

Files in the model directory: ``weights.safetensors`` (the torch module),
``vocab.json`` (the id of every token) and ``rnn.json`` (the module's shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpkit.files import read_json, read_safetensors, write_json
from nlpkit.models.base import ModelError
from nlpkit.training.embeddings import init_embeddings
from nlpkit.training.loop import SCHEDULES, warmup_then_decay
from nlpkit.models.neural import Collate, NeuralClassifier
from nlpkit.training.vocab import (
    PAD_ID,
    PADDING_CHOICES,
    TRUNCATE_CHOICES,
    Vocab,
    record_tokens,
    truncate,
)

POOLING_CHOICES = ("last", "max", "mean")


class RNNModule(nn.Module):
    """Embedding, LSTM/GRU, pooling, classifier. `padding` says how the batch is laid out."""

    def __init__(self, cell: str, bidirectional: bool, vocab_size: int, dim: int, hidden: int, layers: int,
                 dropout: float, pooling: str, padding: str, n_labels: int):
        super().__init__()
        self.cell, self.bidirectional, self.pooling, self.padding, self.hidden = cell, bidirectional, pooling, padding, hidden
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn_class(dim, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                             dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden * (2 if bidirectional else 1), n_labels)

    def forward(self, input_ids, lengths, attention_mask):
        embedded = self.dropout(self.embedding(input_ids))
        if self.padding == "packed":
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, final = self.rnn(packed)
            if self.pooling == "last":
                h_n = final[0] if self.cell == "lstm" else final  # (layers * directions, batch, hidden)
                pooled = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
                return self.classifier(self.dropout(pooled))
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=input_ids.size(1))
        else:
            outputs, _ = self.rnn(embedded)
        if self.pooling == "last":
            pooled = self._last_states(outputs, lengths)
        else:
            mask = attention_mask.unsqueeze(-1).bool()
            if self.pooling == "max":
                pooled = outputs.masked_fill(~mask, float("-inf")).max(dim=1).values
            else:
                pooled = (outputs * mask).sum(dim=1) / lengths.unsqueeze(1).to(outputs.dtype)
        return self.classifier(self.dropout(pooled))

    def _last_states(self, outputs, lengths):
        """Each direction's state after its last real token, in a padded (pre or post) batch."""
        rows = torch.arange(outputs.size(0), device=outputs.device)
        width = outputs.size(1)
        lengths = lengths.to(outputs.device)
        if self.padding == "pre":  # tokens sit at the end: forward ends at width-1, backward at the first token
            forward_end, backward_end = torch.full_like(lengths, width - 1), width - lengths
        else:
            forward_end, backward_end = lengths - 1, torch.zeros_like(lengths)
        forward = outputs[rows, forward_end, : self.hidden]
        if not self.bidirectional:
            return forward
        return torch.cat([forward, outputs[rows, backward_end, self.hidden :]], dim=1)


@dataclass(eq=False)
class RNNClassifier(NeuralClassifier):
    """Shared by the three kinds; they differ in cell and direction only. The loop's parameters
    (epochs, lr, batch_size, clip, ...) come from TrainLoopParams with its defaults."""

    cell = "lstm"
    bidirectional = False
    required_files = ("weights.safetensors", "vocab.json", "rnn.json")

    vocab_size: int = 30000
    min_count: int = 2
    dim: int = 100
    vectors: str | None = None
    freeze_embeddings: bool = False
    max_len: int = 256
    padding: str = "pre"
    truncate: str = "head"
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.3
    pooling: str = "last"
    schedule: str = "constant"  # the learning rate over the run: constant, or a linear/cosine decay to 0

    def _check_params(self) -> None:
        self.check_loop_params()
        for name, value, choices in (("padding", self.padding, PADDING_CHOICES), ("truncate", self.truncate, TRUNCATE_CHOICES),
                                     ("pooling", self.pooling, POOLING_CHOICES), ("schedule", self.schedule, SCHEDULES)):
            if value not in choices:
                raise ModelError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        for name in ("max_len", "hidden", "layers", "vocab_size", "min_count"):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be at least 1")

    # -- hooks of the loop

    def _build(self, records, labels) -> None:
        self.vocab_ = Vocab.build((record_tokens(r) for r in records), max_size=self.vocab_size, min_count=self.min_count)
        keyed_vectors = None
        if self.vectors:
            from nlpkit.embeddings.vectors import load_vectors

            keyed_vectors = load_vectors(self.vectors)
        self.shape_ = {
            "cell": self.cell, "bidirectional": self.bidirectional, "vocab_size": len(self.vocab_),
            "dim": keyed_vectors.vector_size if keyed_vectors is not None else self.dim,
            "hidden": self.hidden, "layers": self.layers, "dropout": self.dropout, "pooling": self.pooling,
            "padding": self.padding, "n_labels": len(self.labels_),
        }
        self.module_ = RNNModule(**self.shape_)
        if keyed_vectors is not None:
            self.vectors_found_ = init_embeddings(self.module_.embedding, self.vocab_, keyed_vectors)
        if self.freeze_embeddings:
            self.module_.embedding.weight.requires_grad_(False)

    def _encode(self, records):
        return [truncate(self.vocab_.encode(record_tokens(r)), self.max_len, self.truncate) for r in records]

    def _logits(self, module, batch):
        return module(batch["input_ids"], batch["lengths"], batch["attention_mask"])

    def _collate(self) -> Collate:
        return Collate(pad_id=PAD_ID, side=self.padding)

    def _make_optimizer(self, module):
        return torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=self.lr)

    def _make_scheduler(self, optimizer, total_steps: int):
        return None if self.schedule == "constant" else warmup_then_decay(optimizer, 0, total_steps, self.schedule)

    # -- files

    def _save_module_files(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().to("cpu").contiguous() for k, v in self.module_.state_dict().items()}
        save_file(state, str(directory / "weights.safetensors"))
        self.vocab_.save(directory / "vocab.json")
        write_json(directory / "rnn.json", self.shape_)

    def _load_module_state(self, directory: Path) -> None:
        self.module_.load_state_dict(read_safetensors(Path(directory) / "weights.safetensors"))

    def _restore_from(self, directory: Path, manifest: dict) -> None:
        self.vocab_ = Vocab.load(directory / "vocab.json")
        self.shape_ = read_json(directory / "rnn.json")
        self.module_ = RNNModule(**self.shape_)
        self._load_module_state(directory)
        if self.freeze_embeddings:
            self.module_.embedding.weight.requires_grad_(False)


class LSTMClassifier(RNNClassifier):
    kind = "lstm"
    cell, bidirectional = "lstm", False


class BiLSTMClassifier(RNNClassifier):
    kind = "bilstm"
    cell, bidirectional = "lstm", True


class GRUClassifier(RNNClassifier):
    kind = "gru"
    cell, bidirectional = "gru", False

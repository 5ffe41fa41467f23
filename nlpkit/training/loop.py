"""The training loop every torch model shares (the RNN and BERT classifiers, the language models).

Read :func:`train_loop` from top to bottom: it is the whole loop. What it trains
is a :class:`LoopTask`: the module, the examples and how to batch them, the
loss of a batch, validation, the optimizer and schedule, and how to write the
model. The loop does the rest:

- autocast on CUDA (bf16, else fp16 with a gradient scaler), pinned memory and
  DataLoader workers on CUDA;
- gradient accumulation, clipping (after backward, before the step);
- validation each epoch, early stopping on the monitored value, ``model-best/``
  and ``model-last/``, ``metrics.jsonl`` (see ``checkpoint.py``);
- a checkpoint after each epoch and every ``save_every`` optimizer steps, from
  which ``resume`` continues to the same result as an uninterrupted run (bit
  for bit on CPU);
- a progress bar on stderr with the loss and units (samples or tokens) per second,
  when asked for (off a terminal: a plain line a minute).

:class:`TrainLoopParams` declares the loop's parameters once; the model kinds
are dataclasses that inherit them (and may change a default), so that their
``__init__`` takes and stores them untouched, as scikit-learn expects.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nlpkit.modeldir import ModelError
from nlpkit.training.checkpoint import (
    BEST,
    LAST,
    LoopState,
    RunDirectory,
    Trainer,
    restore_trainer_state,
)

MONITORS = ("loss", "accuracy")


@dataclass(eq=False)
class TrainLoopParams:
    """The loop's parameters. device, threads, workers, resume and run_dir describe a run, not a model."""

    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    grad_accum: int = 1  # batches per optimizer step
    clip: float = 5.0  # gradient-norm clipping (0: off)
    patience: int = 0  # early stopping: epochs without a better monitored value (0: off)
    monitor: str = "loss"  # loss | accuracy (validation); the training loss without validation data
    device: str = "auto"
    seed: int = 0
    save_every: int = 0  # also checkpoint model-last/ every N optimizer steps
    workers: int | None = None  # DataLoader workers (None: 2 on CUDA, else 0)
    threads: int | None = None  # torch CPU threads
    resume: str | None = None  # "latest" (run_dir's model-last/) or a directory
    run_dir: str | None = None  # where snapshots go while training (None: nowhere)

    RUN_ONLY = ("device", "threads", "workers", "resume", "run_dir")

    def check_loop_params(self, monitors: tuple[str, ...] = MONITORS) -> None:
        if self.monitor not in monitors:
            raise ModelError(f"monitor must be one of {', '.join(monitors)}, not {self.monitor!r}")
        for name in ("epochs", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ModelError(f"{name} must be at least 1")


class LoopTask(Protocol):
    """What a model kind hands the loop."""

    name: str  # shown in the progress bar and the epoch lines
    unit: str  # what a batch's count counts: "samples" or "tokens"
    module: Any  # the torch module, already on its device
    dataset: Any  # a torch Dataset; batches are lists of its indices
    collate: Callable

    def epoch_batches(self, epoch: int) -> list[list[int]]: ...
    def start_epoch(self, epoch: int) -> None: ...  # before each epoch's first batch (and on resume)
    def loss(self, module, batch) -> tuple[Any, int]: ...  # (mean loss, units it is the mean over)
    def validate(self) -> dict: ...  # valid_* figures for the epoch's row; {} without validation data
    def make_optimizer(self, module): ...
    def make_scheduler(self, optimizer, total_steps: int): ...
    def load_module_state(self, snapshot: Path) -> None: ...


@dataclass
class LoopResult:
    history: list
    best_epoch: int | None


def train_loop(task: LoopTask, params: TrainLoopParams, device, run: RunDirectory, fingerprint: str,
               resume_from: Path | None = None, progress: bool = False,
               on_step: Callable[[LoopState], None] | None = None, time_budget: float | None = None) -> LoopResult:
    """Train `task.module` for `params.epochs` epochs; the module ends holding the best weights seen.

    `time_budget` (seconds) ends the run after the first optimizer step past it: the epoch
    in progress is cut there, validated and saved as any other (not repeatable bit for bit)."""
    import torch
    from torch.utils.data import DataLoader

    from nlpkit.device import amp_dtype, autocast

    module = task.module
    dtype = amp_dtype(device)
    on_cuda = device.type == "cuda"
    batches_per_epoch = len(task.epoch_batches(0))
    steps_per_epoch = math.ceil(batches_per_epoch / params.grad_accum)
    optimizer = task.make_optimizer(module)
    trainer = Trainer(optimizer, task.make_scheduler(optimizer, steps_per_epoch * params.epochs),
                      torch.amp.GradScaler("cuda", enabled=dtype == torch.float16), fingerprint)
    state, best_weights = LoopState(), None
    if resume_from is not None:
        state, best_weights = _resume(task, trainer, resume_from)
    workers = params.workers if params.workers is not None else (2 if on_cuda else 0)
    bar = Progress(progress, task.name, task.unit)
    started = time.perf_counter()

    while state.epoch < params.epochs and not state.stopped:
        epoch_started = time.perf_counter()
        batches = task.epoch_batches(state.epoch)
        loader = DataLoader(
            task.dataset, batch_sampler=batches[state.batch_in_epoch :], collate_fn=task.collate,
            num_workers=workers, pin_memory=on_cuda, generator=torch.Generator(),  # own generator: keeps the global RNG untouched
        )
        task.start_epoch(state.epoch)
        module.train()
        bar.start_epoch(state.epoch + 1, params.epochs, len(batches), state.batch_in_epoch)
        for i, batch in enumerate(loader, start=state.batch_in_epoch):
            batch = {k: v.to(device, non_blocking=on_cuda) for k, v in batch.items()}
            with autocast(device, dtype):
                loss, n = task.loss(module, batch)
            trainer.scaler.scale(loss.float() / params.grad_accum).backward()
            state.loss_sum += loss.item() * n
            state.seen += n
            if (i + 1) % params.grad_accum == 0 or i + 1 == len(batches):
                _optimizer_step(module, trainer, params.clip)
                state.step += 1
                state.batch_in_epoch = i + 1
                if params.save_every and state.step % params.save_every == 0 and i + 1 < len(batches):
                    run.save(LAST, state, trainer)
                if on_step is not None:
                    on_step(state)
            bar.advance(n, state.loss_sum / state.seen)
            if time_budget is not None and state.batch_in_epoch == i + 1 and time.perf_counter() - started >= time_budget:
                state.stopped = True
                break
        bar.end_epoch()

        # end of epoch: validate, log, keep the best, checkpoint, maybe stop
        row = {"epoch": state.epoch + 1, "step": state.step, "train_loss": state.loss_sum / max(1, state.seen)}
        row.update(task.validate())
        row["lr"] = optimizer.param_groups[0]["lr"]
        row["seconds"] = round(time.perf_counter() - epoch_started, 3)
        row[f"{task.unit}_per_s"] = round(state.seen / max(row["seconds"], 1e-9), 1)
        monitored_key = f"valid_{params.monitor}"
        monitored = row.get(monitored_key, row["train_loss"])  # no validation data: the lowest training loss
        higher_is_better = monitored_key in row and params.monitor == "accuracy"
        state.history.append(row)
        state.epoch, state.batch_in_epoch, state.loss_sum, state.seen = state.epoch + 1, 0, 0.0, 0
        if state.best is None or (monitored > state.best if higher_is_better else monitored < state.best):
            state.best, state.best_epoch, state.bad_epochs = monitored, state.epoch, 0
            best_weights = _cpu_copy(module.state_dict())
            run.save(BEST, state)
        else:
            state.bad_epochs += 1
            state.stopped = state.stopped or (bool(params.patience) and state.bad_epochs >= params.patience)
        run.save(LAST, state, trainer)
        bar.epoch_line(row)

    if best_weights is not None:  # the model that comes out is the best one seen
        module.load_state_dict(best_weights)
    module.eval()
    return LoopResult(state.history, state.best_epoch)


def adamw(module, lr: float, weight_decay: float):
    """AdamW with no weight decay on biases and LayerNorm weights (the BERT recipe)."""
    import torch

    decay, no_decay = [], []
    for p in module.parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


# what warmup_then_decay does after the warm-up
SCHEDULES = ("cosine", "linear", "constant")


def warmup_then_decay(optimizer, warmup_steps: int, total_steps: int, decay: str = "cosine"):
    """A linear warm-up to the optimizer's rate, then a cosine or linear decay to 0 (or none: constant)."""
    import torch

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        if decay == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        if decay == "linear":
            return max(0.0, 1.0 - progress)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _optimizer_step(module, trainer: Trainer, clip: float) -> None:
    import torch

    if clip:
        trainer.scaler.unscale_(trainer.optimizer)
        torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
    trainer.scaler.step(trainer.optimizer)
    trainer.scaler.update()
    trainer.optimizer.zero_grad(set_to_none=True)
    if trainer.scheduler is not None:
        trainer.scheduler.step()


def _resume(task: LoopTask, trainer: Trainer, snapshot: Path) -> tuple[LoopState, dict | None]:
    """The run's state and best weights so far; the module gets the snapshot's weights."""
    state = restore_trainer_state(snapshot, trainer)
    task.load_module_state(snapshot)
    best_weights = None
    best_dir = snapshot.parent / BEST
    if state.best_epoch is not None and (best_dir / "nlpkit.json").is_file():
        current = _cpu_copy(task.module.state_dict())
        task.load_module_state(best_dir)
        best_weights = _cpu_copy(task.module.state_dict())
        task.module.load_state_dict(current)
    return state, best_weights


def _cpu_copy(state_dict: dict) -> dict:
    return {k: v.detach().to("cpu").clone() for k, v in state_dict.items()}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:,.1f} min"


LINE_EVERY_S = 60.0  # off a terminal (a log file, nohup, CI): a plain progress line this often instead of a bar


class Progress:
    """A rich progress bar per epoch on stderr (loss, units/s, ETA), and one line per epoch.

    Off a terminal there is no bar: a plain line every :data:`LINE_EVERY_S` seconds says
    how far the epoch is, so a long run into a log is not silent until its epoch ends.
    Silent when disabled."""

    def __init__(self, enabled: bool, name: str, unit: str = "samples"):
        self.enabled, self.name, self.unit = enabled, name, unit
        self.bar = None
        self.lines = False

    def start_epoch(self, epoch: int, epochs: int, total: int, done: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.epoch, self.total, self.done, self.first = f"epoch {epoch}/{epochs}", total, done, done
        self.started = self.last_line = time.perf_counter()
        self.count = 0
        console = Console(stderr=True)
        if not console.is_terminal:  # -v into a file or pipe: a line now and then, and the epoch lines
            self.lines = True
            return
        self.bar = RichProgress(
            TextColumn(f"[bold]{self.name}[/] {self.epoch}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[rate]:,.1f} " + self.unit + "/s"),
            TimeRemainingColumn(), console=console, transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, completed=done, loss=float("nan"), rate=0.0)

    def advance(self, n: int, loss: float) -> None:
        if self.bar is None and not self.lines:
            return
        self.count += n
        self.done += 1
        now = time.perf_counter()
        rate = self.count / max(now - self.started, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, loss=loss, rate=rate)
        elif now - self.last_line >= LINE_EVERY_S:
            self.last_line = now
            left = (self.total - self.done) * (now - self.started) / (self.done - self.first)
            print(f"{self.name}: {self.epoch}, batch {self.done:,}/{self.total:,} "
                  f"({100 * self.done / self.total:.0f}%), loss {loss:.4f}, {rate:,.1f} {self.unit}/s, "
                  f"{_duration(left)} left", file=sys.stderr, flush=True)

    def end_epoch(self) -> None:
        self.lines = False
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def epoch_line(self, row: dict) -> None:
        if not self.enabled:
            return
        parts = [f"{k} {v:.4f}" if k.endswith(("loss", "accuracy")) else f"{k} {v:g}" for k, v in row.items()]
        print(f"{self.name}: " + ", ".join(parts), file=sys.stderr)

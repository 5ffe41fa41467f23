"""Checkpoints of the shared training loop: where a run is, stored as safetensors plus JSON.

A run directory holds ``model-best/`` and ``model-last/`` (each a complete model
directory, written atomically), and ``metrics.jsonl`` (one row per epoch).
``model-last/trainer/`` adds what continuing the run needs: the optimizer,
scheduler and gradient-scaler states, every RNG state and the :class:`LoopState`
(``tensors.safetensors`` for the tensors, ``state.json`` for the rest). Nothing
here is ever pickled or unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.files import AtomicDirectory, atomic_write_bytes, read_json, read_safetensors, reseal, write_json
from nlpkit.modeldir import MANIFEST, ModelError

BEST, LAST, METRICS, TRAINER = "model-best", "model-last", "metrics.jsonl", "trainer"


@dataclass
class LoopState:
    """Where a run is: enough, with the weights and optimizer, to continue it exactly."""

    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches of the current epoch already trained on
    step: int = 0  # optimizer steps so far
    loss_sum: float = 0.0  # running training loss of the current epoch (sum over units: examples or tokens)
    seen: int = 0  # units of the current epoch so far
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped: bool = False  # early stopping ended the run
    history: list = field(default_factory=list)  # one metrics row per epoch

    def snapshot_metrics(self) -> dict:
        """What a snapshot's manifest says about the run so far."""
        return {"epochs": self.epoch, "steps": self.step, "best_epoch": self.best_epoch,
                **({"history": self.history} if self.history else {})}


@dataclass
class Trainer:
    """The optimizer side of a run, saved with model-last/ so that it can be resumed."""

    optimizer: object
    scheduler: object | None
    scaler: object
    fingerprint: str  # of the training data: a run resumes on the data it started with


# --------------------------------------------------------------------------- state without pickle


def flatten_state(obj, tensors: dict, prefix: str = "t"):
    """A JSON-able skeleton of `obj`, its tensors moved into `tensors` (for safetensors)."""
    import torch

    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().to("cpu").clone().contiguous()
        return {"__tensor__": prefix}
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


def write_trainer_state(directory: Path, state: LoopState, trainer: Trainer) -> None:
    from safetensors.torch import save_file

    from nlpkit.device import rng_state

    tensors: dict = {}
    skeleton = {
        "state": asdict(state),
        "fingerprint": trainer.fingerprint,
        "optimizer": flatten_state(trainer.optimizer.state_dict(), tensors, "optimizer"),
        "scheduler": flatten_state(trainer.scheduler.state_dict() if trainer.scheduler is not None else None, tensors, "scheduler"),
        "scaler": flatten_state(trainer.scaler.state_dict(), tensors, "scaler"),
        "rng": flatten_state(rng_state(), tensors, "rng"),
    }
    directory.mkdir()
    save_file(tensors, str(directory / "tensors.safetensors"))
    write_json(directory / "state.json", skeleton)


def restore_trainer_state(snapshot: Path, trainer: Trainer) -> LoopState:
    """Load optimizer, scheduler, scaler and RNG states from `snapshot`/trainer; return where the run was."""
    from nlpkit.device import set_rng_state

    state_path = snapshot / TRAINER / "state.json"
    skeleton = read_json(state_path)
    if not isinstance(skeleton, dict) or skeleton.get("fingerprint") != trainer.fingerprint:
        if isinstance(skeleton, dict) and "fingerprint" in skeleton:
            raise ModelError(f"{snapshot}: cannot resume: the training data differs from the interrupted run's")
        raise ModelError(f"{state_path}: damaged trainer state (no fingerprint)")
    tensors = read_safetensors(snapshot / TRAINER / "tensors.safetensors")
    try:  # a checkpoint written before checksums may be damaged in ways only loading shows
        trainer.optimizer.load_state_dict(unflatten_state(skeleton["optimizer"], tensors))
        if trainer.scheduler is not None:
            trainer.scheduler.load_state_dict(unflatten_state(skeleton["scheduler"], tensors))
        trainer.scaler.load_state_dict(unflatten_state(skeleton["scaler"], tensors))
        set_rng_state(unflatten_state(skeleton["rng"], tensors))
        return LoopState(**skeleton["state"])
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
        raise ModelError(f"{state_path}: damaged trainer state ({type(e).__name__}: {e})") from None


def resume_dir(resume: str | None, run_dir: str | None) -> Path | None:
    """The snapshot `resume` names: "latest" is run_dir/model-last; a run directory means its model-last/."""
    if not resume:
        return None
    if resume == "latest":
        if run_dir is None:
            raise ModelError("--resume without a directory needs the output directory of the interrupted run (-o)")
        where = Path(run_dir) / LAST
    else:
        where = Path(resume)
        if (where / LAST).is_dir():  # the run's directory rather than its model-last/
            where = where / LAST
    if not (where / TRAINER / "state.json").is_file():
        raise ModelError(f"{where}: no checkpoint to resume from (expected {where / TRAINER / 'state.json'})")
    return where


# --------------------------------------------------------------------------- the run directory


class RunDirectory:
    """Writes a run's snapshots and metrics.jsonl; writes nothing when `root` is None (library use).

    `write_model(tmp, metrics)` fills a temporary directory with a complete model
    directory (its files and manifest); the snapshot is then renamed into place.
    """

    def __init__(self, root: str | os.PathLike | None, write_model: Callable[[Path, dict], None]):
        self.root = Path(root) if root is not None else None
        self.write_model = write_model

    def save(self, name: str, state: LoopState, trainer: Trainer | None = None) -> None:
        if self.root is None:
            return
        with AtomicDirectory(self.root / name) as tmp:
            self.write_model(tmp, state.snapshot_metrics())
            if trainer is not None:
                write_trainer_state(tmp / TRAINER, state, trainer)
            reseal(tmp, MANIFEST)  # the trainer state too: --resume checks it like the weights
        lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in state.history)
        atomic_write_bytes(self.root / METRICS, lines.encode())


def carry_run_files(run_dir: str | os.PathLike | None, directory: Path) -> None:
    """Put a run's model-best/, model-last/ and metrics.jsonl into the final model directory being written."""
    if run_dir is None:
        return
    for name in (BEST, LAST, METRICS):
        source = Path(run_dir) / name
        if source.exists():
            _link_tree(source, Path(directory) / name)


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

"""Devices, mixed precision and random seeds for the torch stages.

``resolve_device("auto")`` picks CUDA, then Apple's MPS, then the CPU; naming a
device that is not there is an error, never a silent fall-back. Mixed precision
is used on CUDA only: bf16 where the GPU supports it (no loss scaling needed),
else fp16 with a gradient scaler. RNG states are captured as tensors and plain
JSON so that a checkpoint can restore them without unpickling anything.

torch is imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import os
import random
import re
from contextlib import nullcontext

from nlpkit.errors import NlpkitError
from nlpkit.params import param

DEVICE_HELP = "auto|cpu|cuda|cuda:N|mps (auto: cuda, then mps, then cpu)."


def device_param(default: str | None = "auto", help: str = DEVICE_HELP):
    """`--device`, as the neural stages and commands declare it."""
    return param(default, type=str, show_default=default is not None, metavar="DEVICE", help=help)


def threads_param(help: str = "torch CPU threads."):
    """`--threads`: torch's CPU threads (None: torch's own choice)."""
    return param(None, type=int, min=1, help=help)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(?::(\d+))?)$")


class DeviceError(NlpkitError):
    """A device that was asked for and is not available."""


# Availability probes, separate so that tests can stand in for hardware this machine lacks.
def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count()


def mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(spec: str = "auto"):
    """`auto|cpu|cuda|cuda:N|mps` -> torch.device, or a DeviceError saying what is missing."""
    import torch

    spec = (spec or "auto").strip().lower()
    match = _DEVICE_RE.match(spec)
    if not match:
        raise DeviceError(f"unknown device {spec!r}; use one of: {', '.join(DEVICE_CHOICES)}")
    if spec == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not mps_available():
            raise DeviceError("device 'mps' asked for, but MPS is not available (it needs Apple silicon and a torch build with MPS); use --device cpu or auto")
        return torch.device("mps")
    if not cuda_available():
        raise DeviceError(
            f"device {spec!r} asked for, but CUDA is not available (torch {torch.__version__}, "
            f"{'a CPU-only build' if torch.version.cuda is None else 'no GPU visible'}); use --device cpu or auto"
        )
    index = int(match.group(2) or 0)
    count = cuda_device_count()
    if index >= count:
        raise DeviceError(f"device {spec!r} asked for, but only {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1})")
    return torch.device("cuda", index)


def amp_dtype(device):
    """The autocast dtype for a device: bf16 or fp16 on CUDA, None (full precision) elsewhere."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device, dtype):
    """Mixed-precision context for a forward pass (a no-op when dtype is None)."""
    import torch

    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def set_threads(threads: int | None) -> None:
    """CPU threads for torch's kernels (None: $NLPKIT_THREADS, else torch's default, one per core).

    On a machine that other jobs keep busy, fewer threads can be much faster: idle
    OpenMP threads spin waiting for cores that are taken.
    """
    threads = threads or os.environ.get("NLPKIT_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all CUDA devices too)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def rng_state() -> dict:
    """Every global RNG state: tensors and plain values (no pickle needed to store it)."""
    import numpy as np
    import torch

    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    state = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached": float(np_cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

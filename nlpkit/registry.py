"""Names resolved on first use: ``"module:attribute"`` strings, the one way a lower module names a higher one.

Registries (stages, model kinds, commands, input and output formats, remote executors) hold
such strings, so that importing a registry imports nothing it lists, and no import cycle
forms where a lower layer must name a higher one.
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(target: str) -> Any:
    """The attribute a ``"package.module:attribute"`` string names (imported now)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{target!r} is not 'module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)

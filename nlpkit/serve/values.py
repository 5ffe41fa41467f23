"""Values that JSON parsing lets through but no JSON answer can carry.

Python's ``json`` (which FastAPI parses bodies with) reads ``NaN``, ``Infinity`` and
``-Infinity``, reads ``1e400`` as infinity, and keeps a lone surrogate (``"\\ud800"``) in a
string; none of them can be written back as JSON (the answer would fail as a 500). The
command line's reader refuses the same input (orjson), so the server refuses it too:
:func:`unanswerable` names the first such value, in document order, by its field.
"""

from __future__ import annotations

import math
from typing import Any


def unanswerable(value: Any, where: str = "body") -> str | None:
    """``"records[0].score: NaN is not a JSON number ..."`` for the first bad value, or None."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:  # iterative, in document order: nesting depth costs no recursion
        item, at = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            name = "NaN" if math.isnan(item) else "Infinity" if item > 0 else "-Infinity"
            return (f"{at}: {name} is not a JSON number (a number too large for a double, like 1e400, reads as "
                    "Infinity); send a finite number, a string or null")
        if isinstance(item, str):
            problem = _lone_surrogate(item)
            if problem:
                return f"{at}: {problem}"
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                problem = _lone_surrogate(key) if isinstance(key, str) else None
                if problem:
                    return f"{at}: a key {problem}"
                children.append((child, f"{at}.{key}" if at != "body" else str(key)))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{at}[{i}]") for i, child in enumerate(item)]))
    return None


def _lone_surrogate(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"holds a lone surrogate ({ascii(text[e.start])[1:-1]}), which is not a character (send UTF-8 text)"
    return None

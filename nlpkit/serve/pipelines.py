"""What ``POST /v1/run`` lets a client run: record stages, with no option that names a file, within bounds.

A client's pipeline string is checked against the stages' parameter declarations
(nlpkit.params) before the core builds it:

- No parameter declared as naming a file or directory (``path=`` or ``reads_disk``:
  ``--checkpoint``, ``--idf``, ``--list``, ``--apply``, a spaCy ``--model``, ...) is taken
  from a client, whatever its value: the refusal never tells whether a path exists.
- Except the served ones (:data:`SERVED`): models, language models and vectors are those
  the server was started with, named by their served name (``predict --model lr``, ``lm
  generate --model lm``, ``embed docvec --vectors w2v``); the name is replaced by the served
  path, and a served path in an error message by its name.
- What the server sets for every request (:data:`SERVER_CHOSEN`: the device, torch's
  threads) is not a client's to choose.
- Numbers are bounded (:data:`BOUNDS`): ``--max-new-tokens`` at most :data:`MAX_NEW_TOKENS`,
  ``--beam-width`` at most :data:`MAX_BEAM_WIDTH`; values the decoder cannot take at all
  (a ``--temperature`` or ``--top-p`` so small that no token is left, a ``--seed`` past 64
  bits) are outside their declared ranges (nlpkit.lm.decoding), here as everywhere; a request holds at most
  :data:`MAX_RECORDS` records of at most :data:`MAX_CHARS` characters each.

:class:`PipelinePool` keeps built pipelines, each with its own lock (one request at a time
runs a given pipeline: spaCy and the stages keep state), waited for no longer than the
request's own deadline; :func:`run_records` runs one record at a time and stops between two
when the request is cancelled (its deadline passed, or the client went away).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nlpkit.errors import NlpkitError

MAX_PIPELINE_CHARS = 1_000
MAX_STAGES = 8
MAX_RECORDS = 1_000
MAX_CHARS = 20_000  # also bounds one record's work: spaCy parses 20,000 characters in about 2 s
MAX_NEW_TOKENS = 256
MAX_BEAM_WIDTH = 8
PIPELINE_CACHE = 16  # built pipelines kept (spaCy models are slow to load)

#: path parameters a client names by a served name: (stage, parameter) -> the kind served
SERVED = {("predict", "model_dir"): "model", ("lm generate", "model_dir"): "lm", ("lm perplexity", "model_dir"): "lm",
          ("embed docvec", "vectors"): "vectors"}
#: parameters the server sets for every request (its device and threads are shared)
SERVER_CHOSEN = frozenset({"device", "threads"})
#: parameter -> (the values a client may give, as words): within the declaration's own range too
BOUNDS: dict[str, tuple[Callable[[float], bool], str]] = {
    "max_new_tokens": (lambda n: n <= MAX_NEW_TOKENS, f"0 to {MAX_NEW_TOKENS}"),
    "beam_width": (lambda n: n <= MAX_BEAM_WIDTH, f"1 to {MAX_BEAM_WIDTH}"),
}
_KINDS = {"model": "model", "lm": "language model", "vectors": "vector"}


class RunRefused(NlpkitError):
    """A pipeline this server does not run as asked (HTTP 400)."""


class Busy(NlpkitError):
    """The pipeline is running another request past this one's deadline (HTTP 503, Retry-After)."""


class Cancelled(NlpkitError):
    """The request's deadline passed, or its client went away, between two records."""


class Stop:
    """Set by the request's handler when its work must stop, with the reason ("timeout", "client gone")."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass
class Served:
    """What the server was started with, by served name: classifiers, language models, vectors."""

    model: dict[str, str] = field(default_factory=dict)
    lm: dict[str, str] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)

    def hide_paths(self, message: str) -> str:
        """A served path in a message becomes its served name (longest paths first). The paths are
        absolute (see :func:`served_path`), so no shorter word of the message is taken for one."""
        pairs = [(path, name) for kind in (self.model, self.lm, self.vectors) for name, path in kind.items()]
        for path, name in sorted(pairs, key=lambda p: -len(p[0])):
            if os.path.isabs(path):
                message = message.replace(path, name)
        return message


def served_path(spec: str) -> str:
    """What a served name stands for: an existing path made absolute, else the spec as it is
    (vectors may be named by a package's name)."""
    return os.path.abspath(spec) if os.path.exists(spec) else spec


def check_pipeline(text: str, served: Served) -> list[list[str]]:
    """The pipeline's segments as words for the core to build, served names replaced by their paths;
    a :class:`RunRefused` naming the stage and the option for what a client may not choose. Words
    this check does not know (an unknown stage or option) are left for the core to refuse."""
    from nlpkit.pipeline import PipelineError, split_pipeline

    if len(text) > MAX_PIPELINE_CHARS:
        raise RunRefused(f"the pipeline is {len(text):,} characters, over this server's bound ({MAX_PIPELINE_CHARS:,})")
    try:
        segments = split_pipeline(text)
    except PipelineError as e:
        raise RunRefused(str(e)) from None
    if len(segments) > MAX_STAGES:
        raise RunRefused(f"{len(segments)} stages, over this server's bound ({MAX_STAGES})")
    return [_check_segment(words, i, served) for i, words in enumerate(segments, 1)]


def _check_segment(words: list[str], position: int, served: Served) -> list[str]:
    from nlpkit.params import VALUE, declared, path_params
    from nlpkit.stages import STAGES, stage_options

    name = next((" ".join(words[:n]) for n in (2, 1) if len(words) >= n and " ".join(words[:n]) in STAGES), None)
    if name is None:
        return words  # the core says what is wrong with it
    where = f"stage {position} ({name})"
    options_class = stage_options(name)
    paths = {p.name for p in path_params(options_class)}
    by_flag = {flag: p for p in declared(options_class) for flag in (*p.flags, *filter(None, [p.negative_flag]))}
    out, rest, given = name.split(), words[len(name.split()):], set()
    i = 0
    while i < len(rest):
        word = rest[i]
        flag, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        declaration = by_flag.get(flag)
        i += 1
        if declaration is None or declaration.style != VALUE:
            out.append(word)
            continue
        if not eq:
            if i >= len(rest):
                out.append(word)  # the core: "requires an argument"
                continue
            value, i = rest[i], i + 1
        given.add(declaration.name)
        kind = SERVED.get((name, declaration.name))
        if kind is not None:
            value = _served(served, kind, flag, value, where)
        elif declaration.name in paths:
            raise RunRefused(f"{where}: {flag} names a file or directory, which a client cannot choose: "
                             "the server uses what it was started with (docs/serving.md, Security)")
        elif declaration.name in SERVER_CHOSEN:
            raise RunRefused(f"{where}: {flag} is the server's to choose, not a client's")
        elif declaration.name in BOUNDS:
            _check_bound(declaration, flag, value, where)
        out += [flag, value]
    for (stage, parameter), kind in SERVED.items():
        if stage == name and parameter not in given:
            names = getattr(served, kind)
            flag = next(p.long_flag for p in declared(options_class) if p.name == parameter)
            if len(names) != 1:
                raise RunRefused(f"{where}: name one of the served {_KINDS[kind]}s with {flag} ({_served_list(names)})")
            out += [flag, next(iter(names.values()))]  # the only one served is the default
    return out


def _served(served: Served, kind: str, flag: str, value: str, where: str) -> str:
    names = getattr(served, kind)
    if value not in names:
        raise RunRefused(f"{where}: {flag} {value!r} is not a served {_KINDS[kind]} name ({_served_list(names)})")
    return names[value]


def _served_list(names: dict[str, str]) -> str:
    return f"served: {', '.join(names)}" if names else "none is served"


def _check_bound(declaration, flag: str, value: str, where: str) -> None:
    try:
        number = declaration.convert(value)
    except ValueError:
        return  # the core says why
    within, text = BOUNDS[declaration.name]
    if not (math.isfinite(number) and within(number)):
        raise RunRefused(f"{where}: {flag} {value} is outside this server's bounds ({text})")


class PipelinePool:
    """Built pipelines by their checked words, least recently used dropped past PIPELINE_CACHE; each
    with its own lock, so that requests for other pipelines never wait for it."""

    def __init__(self, build: Callable[[list[list[str]]], Any], size: int = PIPELINE_CACHE):
        self.build, self.size = build, size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # the table only: never held while building or running

    def run(self, segments: list[list[str]], deadline: float, work: Callable[[Any], Any]) -> Any:
        """`work(pipeline)` under the pipeline's lock, waited for until `deadline` (time.monotonic)."""
        key = "\0".join("\1".join(words) for words in segments)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)  # a request running it keeps its own reference
            self._entries.move_to_end(key)
        if not entry.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise Busy("this pipeline is running other requests; retry")
        try:
            if entry.pipeline is None:
                entry.pipeline = self.build(segments)
            return work(entry.pipeline)
        finally:
            entry.lock.release()


@dataclass
class _Entry:
    pipeline: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_records(pipeline, records: list[dict], cancelled: Stop) -> tuple[list, list[tuple[int, str]]]:
    """The pipeline on each record in turn (a record is the unit of work a request can be stopped
    after); the outputs, and (index, problem) for each record that failed."""
    from nlpkit.runner import process_batch

    outputs, failures = [], []
    for i, record in enumerate(records):
        if cancelled.is_set():
            raise Cancelled("the request was stopped")
        out, failed = process_batch(pipeline, [record])
        outputs += out
        failures += [(i, problem) for _, problem in failed]
    return outputs, failures


def check_records(records: list[dict], text_field: str) -> None:
    """At most MAX_RECORDS records, each text at most MAX_CHARS characters (a RunRefused naming the record)."""
    if len(records) > MAX_RECORDS:
        raise RunRefused(f"{len(records):,} records in one request is over this server's bound ({MAX_RECORDS:,})")
    for i, record in enumerate(records):
        for key in (text_field, "text"):
            value = record.get(key)
            if isinstance(value, str) and len(value) > MAX_CHARS:
                raise RunRefused(f"records[{i}]: {key} of {len(value):,} characters is over this server's bound "
                                 f"({MAX_CHARS:,})")
        tokens = record.get("tokens")
        if isinstance(tokens, list) and sum(len(t) for t in tokens if isinstance(t, str)) > MAX_CHARS:
            raise RunRefused(f"records[{i}]: tokens of more than {MAX_CHARS:,} characters is over this server's bound")

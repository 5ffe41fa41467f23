"""What ``POST /v1/run`` lets a client run: record stages, with options that name no file, within bounds.

A client's pipeline string is checked against :data:`ALLOWED`, one table of the options
each stage takes over HTTP, before any command parses it:

- No option that names a file or directory is accepted (``--checkpoint``, ``--idf``,
  ``--list``, ``--apply``, ``--npy``, a spaCy ``--model`` path, ...), nor any option the
  table does not list (``--help``, ``--device``, ``--threads``, inputs, the run's own
  options). The refusal is the same whatever the value: it never tells whether a path
  exists.
- Models, language models and vectors are those the server was started with, named by
  their served name (``predict --model lr``, ``lm generate --model lm``, ``embed docvec
  --vectors w2v``); the name is replaced by the served directory, and a served path in an
  error message by its name.
- Numbers are bounded: ``--max-new-tokens`` at most :data:`MAX_NEW_TOKENS`,
  ``--beam-width`` at most :data:`MAX_BEAM_WIDTH`; a request holds at most
  :data:`MAX_RECORDS` records of at most :data:`MAX_CHARS` characters each.

The table is written by hand, here, because the commands' parameters do not yet say which
of them name files; a stage or option missing from it is simply not served.

:class:`PipelinePool` keeps built pipelines, each with its own lock (one request at a time
runs a given pipeline: spaCy and the stages keep state), waited for no longer than the
request's own deadline; :func:`run_records` runs one record at a time and stops between two
when the request is cancelled (its deadline passed, or the client went away).
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class Option:
    """How a stage option is checked: ``flag`` (no value), ``choice``, ``int`` / ``float`` in
    [low, high], ``word`` (letters, digits, ``_`` and ``-``: a language, never a path),
    ``text`` (any words), or ``served`` (the name of a served ``model``, ``lm`` or ``vectors``)."""

    kind: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    served: str = ""


FLAG = Option("flag")
TEXT = Option("text")
WORD = Option("word")


def _flags(*names: str, negatable: bool = True) -> dict[str, Option]:
    return {f"--{prefix}{name}": FLAG for name in names for prefix in (("", "no-") if negatable else ("",))}


def _choice(*values: str) -> Option:
    return Option("choice", choices=values)


_SPACY_STAGE = _flags("retokenize", negatable=False)

#: stage -> option -> how it is checked. What is not here is refused.
ALLOWED: dict[str, dict[str, Option]] = {
    "clean": {**_flags("lower", "html", "urls", "emails", "punct", "digits", "whitespace"),
              "--unicode": _choice("NFKC", "NFC", "NFKD", "NFD", "none")},
    "tokenize": {"--engine": _choice("nltk", "spacy", "regex", "wordpiece"), **_flags("sentences", negatable=False)},
    "stopwords": {"--lang": WORD, "--add": TEXT, "--keep": TEXT},
    "stem": {"--algorithm": _choice("porter", "snowball", "lancaster"),
             "--porter-mode": _choice("nltk", "original", "martin"), "--lang": WORD},
    "lemmatize": {"--engine": _choice("wordnet", "spacy"), "--pos": _choice("n", "v", "a", "r")},
    "tag": {"--engine": _choice("spacy", "nltk"), **_SPACY_STAGE},
    "ner": {"--labels": TEXT, **_SPACY_STAGE},
    "parse": dict(_SPACY_STAGE),
    "annotate": {"--layers": TEXT, **_SPACY_STAGE},
    "svo": dict(_SPACY_STAGE),
    "embed docvec": {"--vectors": Option("served", served="vectors"), "--pool": _choice("mean"),
                     **_flags("lower", "tokenize", negatable=False)},
    "predict": {"--model": Option("served", served="model"), "--quantize": _choice("int8"),
                "--runtime": _choice("torch", "onnx")},
    "lm perplexity": {"--model": Option("served", served="lm"), **_flags("per-record", negatable=False)},
    "lm generate": {"--model": Option("served", served="lm"), "--prompt": TEXT,
                    "--strategy": _choice("greedy", "sample", "beam"),
                    "--temperature": Option("float", low=0.01, high=100.0), "--top-k": Option("int", low=0, high=100_000),
                    "--top-p": Option("float", low=0.0, high=1.0), "--beam-width": Option("int", low=1, high=MAX_BEAM_WIDTH),
                    "--max-new-tokens": Option("int", low=0, high=MAX_NEW_TOKENS),
                    "--seed": Option("int", low=0, high=2**32 - 1)},
}
_WORD = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Served:
    """What the server was started with, by served name: classifiers, language models, vectors."""

    model: dict[str, str] = field(default_factory=dict)
    lm: dict[str, str] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)

    def hide_paths(self, message: str) -> str:
        """A served path in a message becomes its served name (longest paths first)."""
        pairs = [(path, name) for kind in (self.model, self.lm, self.vectors) for name, path in kind.items()]
        for path, name in sorted(pairs, key=lambda p: -len(p[0])):
            message = message.replace(path, name)
        return message


def check_pipeline(text: str, served: Served) -> list[list[str]]:
    """The pipeline's segments as words for the commands to parse, served names replaced by paths;
    a :class:`RunRefused` naming the stage and the option for anything this server does not run."""
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
    label = " ".join(words[:2]) if " ".join(words[:2]) in ALLOWED else words[0]
    allowed = ALLOWED.get(label)
    if allowed is None:
        raise RunRefused(f"stage {position}: {label!r} is not a stage this server runs (it runs: {', '.join(ALLOWED)})")
    out = label.split()
    rest = words[len(out):]
    where = f"stage {position} ({label})"
    i = 0
    while i < len(rest):
        word = rest[i]
        name, has_value, value = word.partition("=") if word.startswith("--") else (word, False, "")
        option = allowed.get(name)
        if option is None:
            what = f"{name!r}: an argument" if not word.startswith("-") else f"{name} is not an option"
            raise RunRefused(f"{where}: {what} this server accepts (options that name files never are; "
                             f"accepted: {', '.join(allowed) or 'none'})")
        if option.kind == "flag":
            if has_value:
                raise RunRefused(f"{where}: {name} takes no value")
            out.append(name)
            i += 1
            continue
        if not has_value:
            if i + 1 >= len(rest):
                raise RunRefused(f"{where}: {name} needs a value")
            value = rest[i + 1]
            i += 1
        i += 1
        out += [name, _check_value(option, name, value, where, served)]
    for name, option in allowed.items():
        if option.kind == "served" and name not in out:
            names = getattr(served, option.served)
            if len(names) == 1:  # the only one served is the default
                out += [name, next(iter(names.values()))]
            else:
                raise RunRefused(f"{where}: name one of the served {_KINDS[option.served]}s with {name} "
                                 f"({_served_list(names)})")
    return out


_KINDS = {"model": "model", "lm": "language model", "vectors": "vector"}


def _served_list(names: dict[str, str]) -> str:
    return f"served: {', '.join(names)}" if names else "none is served"


def _check_value(option: Option, name: str, value: str, where: str, served: Served) -> str:
    if option.kind == "served":
        names = getattr(served, option.served)
        if value not in names:
            raise RunRefused(f"{where}: {name} {value!r} is not a served {_KINDS[option.served]} name "
                             f"({_served_list(names)})")
        return names[value]
    if option.kind == "choice" and value not in option.choices:
        raise RunRefused(f"{where}: {name} {value!r} is not one of: {', '.join(option.choices)}")
    if option.kind == "word" and not _WORD.fullmatch(value):
        raise RunRefused(f"{where}: {name} {value!r} is not a name (letters, digits, _ and -)")
    if option.kind in ("int", "float"):
        try:
            number = int(value) if option.kind == "int" else float(value)
        except ValueError:
            raise RunRefused(f"{where}: {name} {value!r} is not {'a whole number' if option.kind == 'int' else 'a number'}") from None
        assert option.low is not None and option.high is not None
        if not option.low <= number <= option.high:  # NaN fails this too
            raise RunRefused(f"{where}: {name} {value} is outside this server's bounds ({option.low:g} to {option.high:g})")
    return value


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

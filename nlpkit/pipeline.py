"""Fused pipelines: several stages run as one, batch by batch, in one process (or one Ray worker).

A pipeline is written as the shell pipeline it replaces, ``"clean | tokenize --engine regex | lemmatize"``,
or as a YAML file (see :func:`load_pipeline_file`). Each segment is parsed by that command's
own click parser and built by the command's own code: the command runs with
:data:`nlpkit.cli._common.STAGE_COLLECTOR` set, so its ``run_stage`` call hands back the
Stage instead of running it. No option is defined twice.

:class:`Pipeline` is itself a :class:`~nlpkit.stage.Stage`, so the local runner (with
``--jobs``) and the Ray executor run it like any single stage: a record that fails in any
stage is isolated by ``process_batch`` and skipped or reported as for one stage.
"""

from __future__ import annotations

import io as _io
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlpkit.errors import NlpkitError, RecordError
from nlpkit.io import Record
from nlpkit.stage import Stage


class Pipeline(Stage):
    """Stages fused: each batch goes through every stage in turn; per-stage time is kept."""

    def __init__(self, stages: Sequence[tuple[str, Stage]]):
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        self.stages = _unique_names(stages)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.stages]

    # batch_size, main_field and num_gpus follow from the stages (properties, not class attributes)
    @property  # type: ignore[override]
    def batch_size(self) -> int:
        return max(stage.batch_size for _, stage in self.stages)

    @property  # type: ignore[override]
    def main_field(self) -> str | None:
        return self.stages[-1][1].main_field

    @property  # type: ignore[override]
    def num_gpus(self) -> float:
        return max(stage.num_gpus for _, stage in self.stages)

    def setup(self) -> None:
        for _, stage in self.stages:
            stage.ensure_setup()
        self._seconds = {name: 0.0 for name in self.names}

    def process(self, records: list[Record]) -> list[Record]:
        for name, stage in self.stages:
            started = time.perf_counter()
            try:
                records = stage.process(records)
            except RecordError as e:
                # say which stage refused the record: the location alone does not tell
                raise RecordError(f"{name}: {e}") from None
            finally:
                self._seconds[name] += time.perf_counter() - started
        return records

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent in each stage in this process so far (empty before setup)."""
        return dict(self.__dict__.get("_seconds", {}))

    def split(self) -> list[Pipeline]:
        """Consecutive stages that ask for the same GPUs, fused: one Ray map step each."""
        segments: list[list[tuple[str, Stage]]] = []
        for name, stage in self.stages:
            if segments and segments[-1][-1][1].num_gpus == stage.num_gpus:
                segments[-1].append((name, stage))
            else:
                segments.append([(name, stage)])
        return [Pipeline(segment) for segment in segments]

    def __repr__(self) -> str:
        return f"Pipeline({' | '.join(self.names)})"


def _unique_names(stages: Sequence[tuple[str, Stage]]) -> list[tuple[str, Stage]]:
    """`stem | stem` -> names stem, stem#2: per-stage times are keyed by name."""
    seen: dict[str, int] = {}
    named = []
    for name, stage in stages:
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name}#{seen[name]}", stage))
    return named


# --------------------------------------------------------------------------- parsing


class PipelineError(NlpkitError):
    """A pipeline string or file that cannot be built; exit 2 like any usage error."""

    exit_code = 2


def split_pipeline(text: str) -> list[list[str]]:
    """``"clean | tokenize --engine regex"`` -> ``[["clean"], ["tokenize", "--engine", "regex"]]``.

    Shell quoting applies (a quoted ``|`` is an argument); a leading ``nlpkit`` on a
    segment is dropped, so a shell pipeline can be pasted as it is.
    """
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as e:
        raise PipelineError(f"pipeline {text!r}: {e}") from None
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            segments.append([])
        elif set(token) == {"|"}:
            raise PipelineError(f"pipeline {text!r}: {token!r} is not a pipe between stages")
        else:
            segments[-1].append(token)
    for i, segment in enumerate(segments):
        if segment[:1] == ["nlpkit"]:
            segments[i] = segment = segment[1:]
        if not segment:
            raise PipelineError(f"pipeline {text!r}: stage {i + 1} is empty")
    return segments


@dataclass
class PipelineSpec:
    """What a pipeline string or file says: the stages, and (files only) stream options."""

    stages: list[list[str] | tuple[str, dict[str, Any]]]
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "--pipeline"


def load_pipeline_file(path: str | Path) -> PipelineSpec:
    """Read a pipeline from YAML.

    .. code-block:: yaml

        stages:                       # run in this order, fused
          - clean --no-punct          # a command line, as in a shell pipeline
          - tokenize: {engine: regex} # or a command and its options by name
          - lemmatize
        executor: ray                 # optional: any `nlpkit run` option by its long name
        output: out/

    A list of stages alone (no ``stages:`` key) is accepted too.
    """
    import yaml

    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such pipeline file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PipelineError(f"{path}: cannot read: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise PipelineError(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if isinstance(data, list):
        data = {"stages": data}
    if not isinstance(data, dict) or "stages" not in data:
        raise PipelineError(f"{path}: expected a `stages:` list (or a list of stages)")
    options = {k.replace("-", "_"): v for k, v in data.items() if k != "stages"}
    raw = data["stages"]
    if not isinstance(raw, list) or not raw:
        raise PipelineError(f"{path}: `stages` must be a non-empty list")
    stages: list[list[str] | tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(raw, 1):
        if isinstance(entry, str):
            segments = split_pipeline(entry)
            stages.extend(segments)
        elif isinstance(entry, dict) and len(entry) == 1:
            ((command, value),) = entry.items()
            if value is None:
                stages.append(str(command).split())
            elif isinstance(value, str):
                stages.append([*str(command).split(), *shlex.split(value)])
            elif isinstance(value, dict):
                stages.append((str(command), {str(k).replace("-", "_"): v for k, v in value.items()}))
            else:
                raise PipelineError(f"{path}: stage {i}: options must be a mapping or a command-line string")
        else:
            raise PipelineError(f"{path}: stage {i}: expected `command --options` or `command: {{option: value}}`")
    return PipelineSpec(stages, options, source=path)


def parse_pipeline(text: str) -> PipelineSpec:
    return PipelineSpec(split_pipeline(text), source="--pipeline")


# --------------------------------------------------------------------------- building


# Stream options belong to the whole run, not to one stage of it (--field is passed down).
_RUN_ONLY_OPTIONS = (
    "inputs", "lines", "input_format", "output", "output_format", "jobs", "on_error", "batch_size",
    "executor", "address", "ordered",
)


def is_stage_command(command) -> bool:
    """A record-to-record command: it takes the shared stage options (see cli/_common.py)."""
    names = {p.name for p in getattr(command, "params", ())}
    return {"executor", "on_error", "inputs"} <= names


def build_pipeline(spec: PipelineSpec | str, field: str = "text") -> Pipeline:
    """Stages from a spec (or a pipeline string), each built by its own command."""
    if isinstance(spec, str):
        spec = parse_pipeline(spec)
    return Pipeline([build_stage(entry, field=field, position=i) for i, entry in enumerate(spec.stages, 1)])


def build_stage(entry: Iterable[str] | tuple[str, dict[str, Any]], field: str = "text", position: int = 1) -> tuple[str, Stage]:
    """One stage from ``["tokenize", "--engine", "regex"]`` or ``("tokenize", {"engine": "regex"})``."""
    import click
    from click.core import ParameterSource

    from nlpkit.cli import cli
    from nlpkit.cli._common import STAGE_COLLECTOR

    if isinstance(entry, tuple):
        words, by_name = entry[0].split(), entry[1]
    else:
        words, by_name = list(entry), {}
    root = click.Context(cli, info_name="nlpkit", obj=_root_obj())
    command, ctx_parent, path = cli, root, []
    # walk down groups: `embed docvec --vectors V` names the group, then its subcommand
    while isinstance(command, click.Group):
        if not words:
            raise PipelineError(f"stage {position}: `{' '.join(path)}` needs a subcommand")
        name = words.pop(0)
        sub = command.get_command(ctx_parent, name)
        if sub is None:
            raise PipelineError(f"stage {position}: no such command {' '.join([*path, name])!r}")
        path.append(name)
        if isinstance(sub, click.Group):
            ctx_parent = click.Context(sub, info_name=name, parent=ctx_parent)
        command = sub
    label = " ".join(path)
    if not is_stage_command(command):
        raise PipelineError(f"stage {position}: `{label}` is not a record stage, so it cannot be part of a pipeline")
    known = {p.name for p in command.params}
    unknown = sorted(set(by_name) - known)
    if unknown:
        raise PipelineError(f"stage {position} ({label}): no such option(s): {', '.join(unknown)}")
    collected: list[tuple[str, Stage, Any]] = []
    token = STAGE_COLLECTOR.set(lambda name, stage, stream: collected.append((name, stage, stream)))
    try:
        try:
            ctx = command.make_context(path[-1], ["--field", field, *words], parent=ctx_parent, default_map=by_name)
        except click.UsageError as e:
            raise PipelineError(f"stage {position} ({label}): {e.format_message()}") from None
        given = [n for n in _RUN_ONLY_OPTIONS if ctx.get_parameter_source(n) in (ParameterSource.COMMANDLINE, ParameterSource.DEFAULT_MAP)]
        if given:
            flags = ", ".join(_flag(command, n) for n in given)
            raise PipelineError(
                f"stage {position} ({label}): {flags} belong(s) to the whole run (`nlpkit run ...`), not to one stage"
            )
        # the command runs up to its run_stage call; with no inputs of its own it would read
        # stdin, so stdin is empty meanwhile: a command that is not a record stage finds nothing
        with ctx, _empty_stdin():
            command.invoke(ctx)
    except (click.UsageError, NlpkitError) as e:
        if isinstance(e, PipelineError):
            raise
        message = e.format_message() if isinstance(e, click.UsageError) else str(e)
        raise PipelineError(f"stage {position} ({label}): {message}") from None
    finally:
        STAGE_COLLECTOR.reset(token)
    if len(collected) != 1:
        raise PipelineError(f"stage {position}: `{label}` did not build a stage")
    return label, collected[0][1]


@contextmanager
def _empty_stdin():
    saved = sys.stdin
    sys.stdin = _io.TextIOWrapper(_io.BytesIO(b""))
    try:
        yield
    finally:
        sys.stdin = saved


def _flag(command, name: str) -> str:
    for p in command.params:
        if p.name == name:
            return "INPUTS" if name == "inputs" else max(p.opts, key=len)
    return name


def _root_obj() -> dict:
    import click

    ctx = click.get_current_context(silent=True)
    return dict((ctx.find_root().obj if ctx else None) or {})

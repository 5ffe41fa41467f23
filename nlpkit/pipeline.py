"""Fused pipelines: several stages run as one, batch by batch, in one process (or one Ray worker).

A pipeline is written as the shell pipeline it replaces, ``"clean | tokenize --engine regex | lemmatize"``,
or as a YAML file (see :func:`load_pipeline_file`). This module splits it into segments,
parses each segment's options against the stage's own declaration (nlpkit.params, the same
one its command's click options come from) and builds the stage from the registry
(:mod:`nlpkit.stages`): :func:`build_pipeline`. No click is involved, so the library and
the server build pipelines exactly as ``nlpkit run --pipeline`` does.

:class:`Pipeline` is itself a :class:`~nlpkit.stage.Stage`, so the local runner (with
``--jobs``) and the Ray executor run it like any single stage: a record that fails in any
stage is isolated by :func:`nlpkit.runner.process_batch` and skipped or reported as for one stage.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlpkit.errors import RecordError, UsageError
from nlpkit.io import Record
from nlpkit.stage import Expanded, Stage, expansion, flatten


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
        counts: list[int] | None = None  # records now held per input record, once a stage split some (chunk)
        for name, stage in self.stages:
            started = time.perf_counter()
            try:
                records = stage.process(records)
            except RecordError as e:
                # say which stage refused the record: the location alone does not tell
                raise RecordError(f"{name}: {e}") from None
            finally:
                self._seconds[name] += time.perf_counter() - started
            split = expansion(records)
            if split is not None:
                records = flatten(records)
                counts = split if counts is None else _regroup(split, counts, sum)
        if counts is None:
            return records
        return [Expanded(group) for group in _regroup(records, counts, list)]

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


def _regroup(items: list, counts: list[int], combine) -> list:
    """`items` cut into consecutive groups of `counts`, each group combined (`sum`, `list`)."""
    out, at = [], 0
    for n in counts:
        out.append(combine(items[at:at + n]))
        at += n
    return out


def _unique_names(stages: Sequence[tuple[str, Stage]]) -> list[tuple[str, Stage]]:
    """`stem | stem` -> names stem, stem#2: per-stage times are keyed by name."""
    seen: dict[str, int] = {}
    named = []
    for name, stage in stages:
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name}#{seen[name]}", stage))
    return named


# --------------------------------------------------------------------------- parsing


class PipelineError(UsageError):
    """A pipeline string or file that cannot be built; exit 2 like any usage error."""


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


def build_pipeline(spec: PipelineSpec | str, field: str = "text", *, commands: Collection[str] = (),
                   allow_paths: bool = True) -> Pipeline:
    """The fused Pipeline a spec (or a pipeline string) describes; a PipelineError (exit 2) names the bad stage.

    `commands`: the names of the commands that exist, so that ``train`` in a pipeline is
    "not a record stage" rather than "no such command". With ``allow_paths=False`` (a
    server's client) an option that names a file or directory is refused.
    """
    if isinstance(spec, str):
        spec = parse_pipeline(spec)
    return Pipeline([build_segment(entry, field=field, position=i, commands=commands, allow_paths=allow_paths)
                     for i, entry in enumerate(spec.stages, 1)])


def build_segment(entry: list[str] | tuple[str, dict[str, Any]], field: str = "text", position: int = 1, *,
                  commands: Collection[str] = (), allow_paths: bool = True) -> tuple[str, Stage]:
    """One stage from ``["tokenize", "--engine", "regex"]`` or ``("tokenize", {"engine": "regex"})``."""
    from nlpkit.errors import NlpkitError
    from nlpkit.params import build, declared, parse_words
    from nlpkit.runner import RunOptions
    from nlpkit.stages import STAGES, stage_options

    if isinstance(entry, tuple):
        words, by_name = entry[0].split(), dict(entry[1])
    else:
        words, by_name = list(entry), {}
    name, words = _stage_name(words, position, commands, STAGES)
    where = f"stage {position} ({name}): "
    options_class = stage_options(name)
    run_wide = {flag: p for p in declared(RunOptions) for flag in (*p.flags, *filter(None, [p.negative_flag]))}
    words, given_run_wide = _take_run_wide(words, run_wide)
    field = given_run_wide.pop("field", field)
    given_run_wide.update({k: v for k, v in by_name.items() if k in {p.name for p in declared(RunOptions)} and k != "field"})
    field = by_name.pop("field", field)
    if given_run_wide:
        flags = ", ".join(dict.fromkeys(p.long_flag for p in declared(RunOptions) if p.name in given_run_wide))
        raise PipelineError(f"{where}{flags} belong(s) to the whole run (`nlpkit run ...`), not to one stage")
    unknown = sorted(set(by_name) - {p.name for p in declared(options_class)})
    if unknown:
        raise PipelineError(f"{where}no such option(s): {', '.join(unknown)}")
    if not allow_paths:  # before anything is converted: a conversion may look at the path
        _refuse_paths(options_class, words, by_name, where)
    try:
        values = {**by_name, **parse_words(options_class, words, where)}
        return name, build(options_class, values, where).build(field)
    except PipelineError:
        raise
    except NlpkitError as e:
        message = str(e)
        raise PipelineError(message if message.startswith(where) else f"{where}{message}") from None


def _stage_name(words: list[str], position: int, commands: Collection[str], stages: Collection[str]) -> tuple[str, list[str]]:
    """(the registered stage the segment names, the words after its name); `embed docvec` is two words."""
    for length in (2, 1):
        name = " ".join(words[:length])
        if len(words) >= length and name in stages:
            return name, words[length:]
    head = words[0]
    groups = {s.split()[0] for s in stages if " " in s}
    if head in groups:
        if len(words) < 2 or words[1].startswith("-"):
            raise PipelineError(f"stage {position}: `{head}` needs a subcommand")
        if f"{head} {words[1]}" in commands:
            raise PipelineError(f"stage {position}: `{head} {words[1]}` is not a record stage, so it cannot be part of a pipeline")
        raise PipelineError(f"stage {position}: no such command {head + ' ' + words[1]!r}")
    if head in commands:
        raise PipelineError(f"stage {position}: `{head}` is not a record stage, so it cannot be part of a pipeline")
    raise PipelineError(f"stage {position}: no such command {head!r} (record stages: {', '.join(sorted(stages))})")


def _take_run_wide(words: list[str], run_wide: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(the segment's words without the run's own options, those options by name with their values)."""
    from nlpkit.params import VALUE

    kept: list[str] = []
    taken: dict[str, Any] = {}
    i = 0
    while i < len(words):
        flag = words[i].partition("=")[0] if words[i].startswith("--") else words[i]
        declaration = run_wide.get(flag)
        if declaration is None:
            kept.append(words[i])
            i += 1
            continue
        has_value = declaration.style == VALUE and "=" not in words[i]
        taken[declaration.name] = words[i + 1] if has_value and i + 1 < len(words) else True
        i += 2 if has_value else 1
    return kept, taken


def _refuse_paths(options_class: Any, words: list[str], by_name: dict[str, Any], where: str) -> None:
    from nlpkit.params import path_params

    given = {w.partition("=")[0] for w in words} | set(by_name)
    named = [p.long_flag for p in path_params(options_class) if given & {*p.flags, p.name}]
    if named:
        raise PipelineError(f"{where}{', '.join(named)} name(s) a file or directory, which a client cannot choose: "
                            "the server uses what it was started with")

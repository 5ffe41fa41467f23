"""Pipelines built from command lines: each segment parsed by its command's click parameters, built by the registry.

``"clean --no-punct | tokenize --engine regex"`` -> for each segment, find the command
(``embed docvec`` walks into a group), parse the segment's words with
``command.make_context`` (so every option, type and default is the command's own), drop
the run-wide options, and call the stage's builder in :mod:`nlpkit.stages` with what is
left: exactly what the command itself does when it runs alone.
"""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from nlpkit.pipeline import Pipeline, PipelineError, PipelineSpec, parse_pipeline
from nlpkit.runner import option_names
from nlpkit.stage import Stage

# options of the whole run (`nlpkit run ...`), not of one stage; --field is passed down
_RUN_ONLY_OPTIONS = tuple(name for name in option_names() if name != "field")


def build_pipeline(spec: PipelineSpec | str, field: str = "text") -> Pipeline:
    """Stages from a spec (or a pipeline string), each parsed by its own command."""
    if isinstance(spec, str):
        spec = parse_pipeline(spec)
    return Pipeline([build_segment(entry, field=field, position=i) for i, entry in enumerate(spec.stages, 1)])


def build_segment(entry: list[str] | tuple[str, dict[str, Any]], field: str = "text", position: int = 1) -> tuple[str, Stage]:
    """One stage from ``["tokenize", "--engine", "regex"]`` or ``("tokenize", {"engine": "regex"})``."""
    from nlpkit.cli import cli
    from nlpkit.cli._common import split_engine
    from nlpkit.errors import NlpkitError
    from nlpkit.stages import STAGES, build_stage

    if isinstance(entry, tuple):
        words, by_name = entry[0].split(), entry[1]
    else:
        words, by_name = list(entry), {}
    command, parent, path = _find_command(cli, words, position)
    label = " ".join(path)
    if label not in STAGES:
        raise PipelineError(f"stage {position}: `{label}` is not a record stage, so it cannot be part of a pipeline")
    unknown = sorted(set(by_name) - {p.name for p in command.params})
    if unknown:
        raise PipelineError(f"stage {position} ({label}): no such option(s): {', '.join(unknown)}")
    try:
        ctx = command.make_context(path[-1], ["--field", field, *words], parent=parent, default_map=by_name)
    except click.UsageError as e:
        raise PipelineError(f"stage {position} ({label}): {e.format_message()}") from None
    given = [n for n in _RUN_ONLY_OPTIONS if ctx.get_parameter_source(n) in (ParameterSource.COMMANDLINE, ParameterSource.DEFAULT_MAP)]
    options, executor = split_engine(command, {k: v for k, v in ctx.params.items() if k not in option_names()})
    flags = [_flag(command, n) for n in given] + ([f"--engine {executor}"] if executor is not None else [])
    if flags:
        flags = ", ".join(flags)
        raise PipelineError(f"stage {position} ({label}): {flags} belong(s) to the whole run (`nlpkit run ...`), not to one stage")
    try:
        return label, build_stage(label, field=field, jobs=1, **options)
    except NlpkitError as e:
        if isinstance(e, PipelineError):
            raise
        raise PipelineError(f"stage {position} ({label}): {e}") from None


def _find_command(root: click.Group, words: list[str], position: int) -> tuple[click.Command, click.Context, list[str]]:
    """Walk down groups (`embed docvec --vectors V` names the group, then its subcommand); consumes `words`."""
    parent = click.Context(root, info_name="nlpkit", obj=_root_obj())
    command: click.Command = root
    path: list[str] = []
    while isinstance(command, click.Group):
        if not words:
            raise PipelineError(f"stage {position}: `{' '.join(path)}` needs a subcommand")
        name = words.pop(0)
        sub = command.get_command(parent, name)
        if sub is None:
            raise PipelineError(f"stage {position}: no such command {' '.join([*path, name])!r}")
        path.append(name)
        if isinstance(sub, click.Group):
            parent = click.Context(sub, info_name=name, parent=parent)
        command = sub
    return command, parent, path


def _flag(command: click.Command, name: str) -> str:
    for p in command.params:
        if p.name == name:
            return "INPUTS" if name == "inputs" else max(p.opts, key=len)
    return name


def _root_obj() -> dict:
    ctx = click.get_current_context(silent=True)
    return dict((ctx.find_root().obj if ctx else None) or {})

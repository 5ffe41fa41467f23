"""Pipelines for the commands that build them (run, serve): the core's builder, told which commands exist.

The core (nlpkit.pipeline.build_pipeline) parses every segment against its stage's
declaration; the CLI adds only the names of its commands, so that ``train`` in a
pipeline is "not a record stage" rather than an unknown word.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from nlpkit.pipeline import Pipeline, PipelineSpec, build_pipeline as build_core_pipeline


class CommandNames:
    """``"train" in CommandNames()``, ``"lm train" in ...``: the commands of nlpkit, groups loaded only when asked."""

    def __contains__(self, name: object) -> bool:
        from nlpkit.cli import cli

        command: click.Command | None = cli
        ctx = click.Context(cli)
        for word in str(name).split():
            if not isinstance(command, click.Group):
                return False
            command = command.get_command(ctx, word)
            if command is None:
                return False
        return True

    def __iter__(self) -> Iterator[str]:
        from nlpkit.cli import COMMANDS

        return iter(COMMANDS)

    def __len__(self) -> int:
        from nlpkit.cli import COMMANDS

        return len(COMMANDS)


def build_pipeline(spec: PipelineSpec | str, field: str = "text", allow_paths: bool = True) -> Pipeline:
    return build_core_pipeline(spec, field, commands=CommandNames(), allow_paths=allow_paths)

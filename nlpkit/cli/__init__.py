"""The `nlpkit` command: a click group whose subcommands load only when called.

Each command lives in its own module under nlpkit/cli/ and imports nothing
heavy at module level, so `nlpkit --help` answers without torch or spaCy.
"""

from __future__ import annotations

import os
import sys

import click

from nlpkit import __version__
from nlpkit.errors import NlpkitError, describe_os_error

#: the command of a registered stage, made from the stage's declaration (nlpkit.cli._common.stage_command)
STAGE = "stage"
# command name -> "module:attribute", or STAGE. One line a command; keep it sorted by ladder rung. A stage left
# out of this table still has its command (listed after these).
COMMANDS = {
    "clean": STAGE,
    "tokenize": STAGE,
    "stopwords": STAGE,
    "stem": STAGE,
    "lemmatize": STAGE,
    "tag": STAGE,
    "ner": STAGE,
    "parse": STAGE,
    "annotate": STAGE,
    "svo": STAGE,
    "evaluate-conllu": "nlpkit.cli.evaluate_conllu:evaluate_conllu",
    "evaluate-ner": "nlpkit.cli.evaluate_ner:evaluate_ner",
    "vectorize": "nlpkit.cli.vectorize:vectorize",
    "embed": "nlpkit.cli.embed:embed",
    "lm": "nlpkit.cli.lm:lm",
    "train": "nlpkit.cli.train:train",
    "predict": STAGE,
    "evaluate": "nlpkit.cli.evaluate:evaluate",
    "inspect": "nlpkit.cli.inspect:inspect",
    "export": "nlpkit.cli.export:export",
    "chunk": STAGE,
    "encode": "nlpkit.cli.encode:encode",
    "index": "nlpkit.cli.index:index",
    "search": "nlpkit.cli.search:search",
    "serve": "nlpkit.cli.serve:serve",
    "bench": "nlpkit.cli.bench:bench",
    "run": "nlpkit.cli.run:run",
    "corpora": "nlpkit.cli.corpora:corpora",
    "doctor": "nlpkit.cli.doctor:doctor",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that command is used."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, stage_commands: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}
        #: also a command for each registered stage (the top-level group)
        self.stage_commands = stage_commands

    def _stages(self) -> list[str]:
        return _stage_commands() if self.stage_commands else []

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands) | set(self._stages()), key=self._order)

    def _order(self, name):
        names = list(self.lazy_commands)
        return (names.index(name) if name in names else len(names), name)

    def get_command(self, ctx, name):
        from nlpkit.registry import resolve

        if name in self.lazy_commands and self.lazy_commands[name] != STAGE:
            return resolve(self.lazy_commands[name])
        if name in self.lazy_commands or name in self._stages():
            from nlpkit.cli._common import stage_command

            return stage_command(name)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        debug = ctx.params.get("debug") or os.environ.get("NLPKIT_DEBUG") == "1"
        try:
            return super().invoke(ctx)
        except NlpkitError as e:
            if debug:
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            _quiet_broken_pipe()
            ctx.exit(0)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except OSError as e:  # disk full, no permission, a path under a file: the system's refusal, not a bug
            if debug:
                raise
            click.echo(f"Error: {describe_os_error(e)}", err=True)
            ctx.exit(1)
        except Exception as e:  # a bug: one line, the traceback behind --debug
            if debug:
                raise
            click.echo(
                f"Error: unexpected {type(e).__name__}: {e} (run with --debug for the traceback)", err=True
            )
            ctx.exit(1)


def _stage_commands() -> list[str]:
    """Registered stages with no command file of their own: their command is made from the stage's declaration."""
    from nlpkit.stages import STAGES

    return [name for name in STAGES if " " not in name and name not in COMMANDS]


def _quiet_broken_pipe() -> None:
    # The reader went away (`| head`): point stdout at /dev/null so the final flush is silent.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, stage_commands=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nlpkit")
@click.option("-v", "--verbose", is_flag=True, help="Progress and summaries on stderr even when it is not a terminal.")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx, verbose, debug):
    """nlpkit: the classic NLP ladder as composable Unix filters.

    Every stage reads JSON Lines records (or plain text, files, directories,
    globs) and writes JSON Lines to stdout, so a shell pipeline is the program:

        nlpkit clean reviews.txt | nlpkit tokenize | nlpkit stem --format text
    """
    ctx.obj = {"verbose": verbose, "debug": debug}


def main() -> None:
    try:
        cli(prog_name="nlpkit")
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(0)

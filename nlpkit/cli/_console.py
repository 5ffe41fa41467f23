"""The rich console for tables on stdout: a closed pipe (`| head`) ends the command quietly with exit 0.

rich's own broken-pipe handler exits 1, which breaks `set -o pipefail` scripts;
this one hands the BrokenPipeError to the top-level handler (nlpkit.cli), as every
other command's output does.
"""

from __future__ import annotations


def stdout_console(min_width: int | None = None):
    from rich.console import Console

    class _PipeQuietConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    console = _PipeQuietConsole()
    if min_width is not None and console.width < min_width:
        console = _PipeQuietConsole(width=min_width)
    return console

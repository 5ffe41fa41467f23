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


def print_table(table, min_width: int = 100) -> None:
    """A report's Table (title, headers, rows: nlpkit.bench.linguistic_report.Table) on stdout, first column left."""
    from rich.table import Table

    shown = Table(title=table.title)
    for i, header in enumerate(table.headers):
        shown.add_column(header, justify="left" if i == 0 else "right")
    for row in table.rows:
        shown.add_row(*row)
    stdout_console(min_width=min_width).print(shown)

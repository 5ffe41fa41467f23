"""`nlpkit --help` and every subcommand's --help must not import the heavy libraries."""

import json
import subprocess
import sys

HEAVY = ["torch", "spacy", "transformers", "gensim", "sklearn", "ray", "matplotlib", "fasttext", "pandas"]

PROBE = """
import json, sys
import click
from nlpkit.cli import cli

def walk(command, path, parent):
    ctx = click.Context(command, info_name=path[-1], parent=parent)
    command.get_help(ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            walk(command.get_command(ctx, name), path + [name], ctx)

try:
    cli(["--help"], prog_name="nlpkit")
except SystemExit:
    pass
walk(cli, ["nlpkit"], None)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)))
"""


def test_help_of_every_command_imports_no_heavy_library():
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}"], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"--help imported: {loaded}"

"""Print docs/cli.md: every command's --help, generated so the docs cannot drift (tests/test_docs.py)."""

import click

from nlpkit.cli import cli

WIDTH = 100


def walk(command: click.Command, path: list[str], parent: click.Context | None):
    # The command's own context_settings (e.g. the root's `-h`), as click applies them in make_context; without
    # them the help text would depend on which context first built click's cached help option.
    settings = {"terminal_width": WIDTH, "max_content_width": WIDTH, **command.context_settings}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, command.get_help(ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), [*path, name], ctx)


def render() -> str:
    parts = [
        "# nlpkit command reference\n",
        "Generated from `--help` by `make docs` (scripts/gen_cli_docs.py); tests/test_docs.py fails when it drifts.\n",
    ]
    sections = list(walk(cli, ["nlpkit"], None))
    parts.append("\n".join(f"- [`{' '.join(p)}`](#{'-'.join(p)})" for p, _ in sections[1:]) + "\n")
    for path, text in sections:
        parts.append(f'<a id="{"-".join(path)}"></a>\n\n## {" ".join(path)}\n\n```\n{text}\n```\n')
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")

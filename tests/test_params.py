"""Each parameter is declared once, in the core: the commands, pipelines, the server and the library agree."""

from __future__ import annotations

import dataclasses

import click
import pytest

from nlpkit.errors import UsageError
from nlpkit.params import FLAG, SWITCH, Param, build, declared, nested, param, parse_words, values
from nlpkit.runner import RunOptions
from nlpkit.stages import STAGES, stage_options


def _command(path: str) -> click.Command:
    from nlpkit.cli import cli

    ctx = click.Context(cli)
    command: click.Command = cli
    for word in path.split():
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, word)
    return command


def _option(command: click.Command, name: str) -> click.Option:
    found = [p for p in command.params if p.name == name]
    assert found, f"{command.name}: no click option for the declared parameter {name!r}"
    return found[0]


def _declared_commands():
    """(command path, declaration class) for every command whose options come from a core declaration."""
    for name in STAGES:
        yield name, stage_options(name)
        yield name, RunOptions


@pytest.mark.parametrize("path, declaration", list(_declared_commands()), ids=lambda x: getattr(x, "__name__", x))
def test_every_option_matches_its_core_declaration(path, declaration):
    """Default, type, choices, range, flags and help of each option are those of its declaration."""
    command = _command(path)
    ctx = click.Context(command)
    for p in declared(declaration):
        option = _option(command, p.name)
        default = option.type_cast_value(ctx, option.get_default(ctx)) if option.get_default(ctx) is not None else None
        if p.style == FLAG or p.multiple:
            assert (default or type(p.default)()) == (p.default or type(p.default)()), (path, p.name)
        else:
            assert default == p.default, (path, p.name, default, p.default)
        assert p.long_flag in option.opts
        assert set(p.short) <= set(option.opts)
        if (declaration, p.name) != (RunOptions, "output"):  # a command may say what its -o holds (vectorize: a directory)
            assert option.help == (p.help or None)
        assert option.required == p.required
        if p.style == SWITCH:
            assert option.secondary_opts == [p.negative_flag]
        if p.choices is not None:
            assert list(option.type.choices) == [str(c) for c in p.choices]
        if p.min is not None or p.max is not None:
            assert (option.type.min, option.type.max) == (p.min, p.max)
            assert (option.type.min_open, option.type.max_open) == (p.min_open, p.max_open)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_library_cli_and_pipeline_defaults_agree(name, tmp_path):
    """The stage the library builds with no options has the options the command's defaults give."""
    command = _command(name)
    ctx = click.Context(command)
    run_wide = {p.name for p in declared(RunOptions)} | {"inputs"}
    click_defaults = {p.name: p.type_cast_value(ctx, p.get_default(ctx)) for p in command.params
                      if p.name not in run_wide and p.name in {d.name for d in declared(stage_options(name))}}
    options_class = stage_options(name)
    required = {p.name: str(tmp_path) for p in declared(options_class) if p.required}
    from_cli = values(build(options_class, {**click_defaults, **required}))
    from_library = values(options_class(**required))
    from_words = values(build(options_class, {**parse_words(options_class, []), **required}))
    assert from_cli == from_library == from_words


def test_max_new_tokens_is_one_default_everywhere(tmp_path):
    """lm generate: the command, `run --pipeline`, the server's pipeline builder and the library decode alike."""
    from nlpkit.cli.serve import pipeline_builder
    from nlpkit.lm.decoding import Decoding
    from nlpkit.pipeline import build_pipeline
    from nlpkit.stages import build_stage

    model = str(tmp_path)
    command = _command("lm generate")
    ctx = click.Context(command)
    declared_names = {p.name for p in declared(stage_options("lm generate"))}
    click_defaults = {p.name: p.type_cast_value(ctx, p.get_default(ctx)) for p in command.params if p.name in declared_names}
    by_cli = build_stage("lm generate", **{**click_defaults, "model_dir": model}).decoding
    by_pipeline = build_pipeline(f"lm generate --model {model}").stages[0][1].decoding
    by_server = pipeline_builder(f"lm generate --model {model}", "text").stages[0][1].decoding
    by_library = Decoding()
    assert by_cli == by_pipeline == by_server == by_library
    assert by_library.max_new_tokens == 30


@dataclasses.dataclass
class _Inner:
    depth: int = param(2, min=1, max=8, help="How deep.")


@dataclasses.dataclass
class _Outer:
    name: str = param("a", choices=("a", "b"), help="A name.")
    loud: bool = param(False, style=SWITCH, help="Shout.")
    path: str | None = param(None, path="file", help="A file.")
    inner: _Inner = nested(_Inner)


def test_parse_words_types_checks_and_routes_nested_values():
    given = parse_words(_Outer, ["--name", "b", "--no-loud", "--depth=3"])
    assert given == {"name": "b", "loud": False, "depth": 3}
    built = build(_Outer, given)
    assert built == _Outer(name="b", loud=False, inner=_Inner(depth=3))
    assert [p.name for p in declared(_Outer)] == ["name", "loud", "path", "depth"]


@pytest.mark.parametrize(
    "words, message",
    [
        (["--name", "c"], "Invalid value for '--name': 'c' is not one of 'a', 'b'."),
        (["--depth", "9"], "Invalid value for '--depth': 9 is not in the range 1<=x<=8."),
        (["--depth", "two"], "Invalid value for '--depth': 'two' is not a valid integer"),
        (["--depth"], "option '--depth' requires an argument."),
        (["--colour", "red"], "no such option: --colour"),
        (["--loud=yes"], "option --loud does not take a value"),
        (["extra"], "got unexpected extra argument (extra)"),
        (["--help"], "--help is not an option of a pipeline stage: run `nlpkit COMMAND --help`"),
    ],
)
def test_parse_words_refuses_with_clicks_words(words, message):
    with pytest.raises(UsageError) as caught:
        build(_Outer, parse_words(_Outer, words, where="stage 1 (x): "))
    assert str(caught.value) == "stage 1 (x): " + message


def test_a_declaration_knows_its_paths():
    from nlpkit.params import path_params

    assert [p.name for p in path_params(_Outer)] == ["path"]
    assert {p.name for p in path_params(stage_options("lm generate"))} == {"model_dir"}
    assert {p.name for p in path_params(stage_options("predict"))} == {"model_dir"}


def test_mutable_defaults_are_refused():
    with pytest.raises(TypeError):
        param([1, 2])


def test_param_range_text_reads_as_clicks():
    assert Param(min=0, max=1, min_open=True).range_text() == "0<x<=1"
    assert Param(min=1).range_text() == "x>=1"

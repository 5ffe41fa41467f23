"""click options derived from the core's parameter declarations (nlpkit.params), and the shared click types."""

from __future__ import annotations

import click

from nlpkit.params import count_or_fraction, ngram_range


class Parsed(click.ParamType):
    """A value read by a core parser (nlpkit.params: raises ValueError with the reason)."""

    def __init__(self, parse, name: str):
        self.parse = parse
        self.name = name

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


NGRAMS = Parsed(ngram_range, "MIN,MAX")
COUNT_OR_FRACTION = Parsed(count_or_fraction, "N|FRACTION")


# --------------------------------------------------------------------------- options derived from core declarations


def click_type(declaration):
    """The click type of a declared parameter: choices, a range, a path, a parser, or the plain type."""
    if declaration.parse is not None:
        return Parsed(declaration.parse, declaration.type_name or "TEXT")
    if declaration.choices is not None:
        return click.Choice([str(c) for c in declaration.choices])
    if declaration.path is not None:
        return click.Path(exists=declaration.exists, file_okay=declaration.path != "dir",
                          dir_okay=declaration.path != "file", allow_dash=declaration.dash)
    if declaration.min is not None or declaration.max is not None:
        make = click.IntRange if declaration.type is int else click.FloatRange
        return make(min=declaration.min, max=declaration.max, min_open=declaration.min_open, max_open=declaration.max_open)
    return click.types.convert_type(declaration.type)


def click_option(declaration):
    """The click option for one declared parameter (nlpkit.params.Param)."""
    from nlpkit.params import FLAG, SWITCH

    names = [*declaration.flags]
    # a default with a text of its own (1,1 for the tuple (1, 1)) is given as that text: click shows it and parses it
    default = declaration.default if declaration.default_text is None else declaration.default_text
    kwargs = dict(default=default, help=declaration.help or None, show_default=declaration.show_default,
                  hidden=declaration.hidden, metavar=declaration.metavar, required=declaration.required)
    if declaration.style == SWITCH:
        names = [f"{declaration.long_flag}/{declaration.negative_flag}", *declaration.short]
    elif declaration.style == FLAG:
        kwargs["is_flag"] = True
    else:
        kwargs["type"] = click_type(declaration)
        kwargs["multiple"] = declaration.multiple
        if declaration.flag_value is not None:
            kwargs.update(is_flag=False, flag_value=declaration.flag_value)
        if declaration.multiple and declaration.default is None:
            kwargs["default"] = ()
    if declaration.long_flag[2:].replace("-", "_") != declaration.name:
        names.append(declaration.name)
    return click.option(*names, **kwargs)


def declared_options(options_class):
    """Add a click option for every parameter `options_class` declares, in the declared order."""
    from nlpkit.params import declared

    def decorate(f):
        for declaration in reversed(declared(options_class)):
            f = click_option(declaration)(f)
        return f

    return decorate

"""Typed parameter declarations: each parameter of a stage, a run or a decoding is declared once, here in the core.

A set of parameters is a dataclass whose fields are made with :func:`param`::

    @dataclass
    class StemOptions:
        algorithm: str = param("porter", choices=("porter", "snowball", "lancaster"), help="...")
        lang: str = param("english", help="Language for Snowball.")

Each field carries its default, its type, its choices or range and its help text. From that
one declaration come

- the library's defaults (the dataclass itself: ``StemOptions()``);
- the click options of the command (``nlpkit.cli._params.declared_options``), so ``--help``,
  choices and ranges are the declaration's;
- the parsing of a pipeline segment (:func:`parse_words`: ``run --pipeline``, PIPELINE.yaml,
  ``serve``'s ``/v1/run``), without click;
- values given by name, as YAML mappings or ``bench --set`` give them (:func:`convert`, :func:`build`).

Every way in converts a value with the same :meth:`Param.convert`, so a value the command
refuses is refused everywhere with the same words. A parameter that names a file or a
directory says so (``path=...``): a server refuses it from a client.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nlpkit.errors import UsageError

#: how a parameter is given on a command line
VALUE, FLAG, SWITCH = "value", "flag", "switch"
#: what a path parameter may name
PATH_KINDS = ("file", "dir", "any")


@dataclass(frozen=True)
class Param:
    """One parameter's declaration (kept in the dataclass field's metadata; see :func:`param`)."""

    name: str = ""
    type: type = str
    help: str = ""
    #: VALUE (``--x V``), FLAG (``--x`` sets True) or SWITCH (``--x/--no-x``)
    style: str = VALUE
    #: the long option (default ``--`` + name with dashes) and any short ones, e.g. ("-k",)
    flag: str | None = None
    short: tuple[str, ...] = ()
    #: a SWITCH's off flag, where it is not ``--no-`` + the flag (``--train-embeddings``)
    negative: str | None = None
    #: the value of a VALUE option given without one (``--resume`` alone is ``--resume latest``)
    flag_value: Any = None
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    #: the bound itself is outside the range (``0 < x``)
    min_open: bool = False
    max_open: bool = False
    #: None, or what the value names on disk: "file", "dir" or "any"
    path: str | None = None
    #: the value may name something on disk (a path, or "a name or a path"), even when not typed as a path
    reads_disk: bool = False
    #: "-" (stdin or stdout) is a valid path
    dash: bool = False
    #: a path that must exist when the command line is parsed
    exists: bool = False
    required: bool = False
    multiple: bool = False
    metavar: str | None = None
    show_default: bool = False
    hidden: bool = False
    #: a parser from the command-line string (raises ValueError with the reason), for composite values
    parse: Callable[[str], Any] | None = None
    #: what --help calls a `parse` value (e.g. "MIN,MAX")
    type_name: str | None = None
    #: how --help shows the default, where its value would read otherwise ("1,1", not "(1, 1)")
    default_text: str | None = None
    default: Any = None

    @property
    def long_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        return (*self.short, self.long_flag)

    @property
    def negative_flag(self) -> str | None:
        if self.style != SWITCH:
            return None
        return self.negative or "--no-" + self.long_flag[2:]

    def convert(self, value: Any) -> Any:
        """The typed, checked value; ValueError with the reason (without the option's name)."""
        if value is None:
            return None
        if self.multiple:
            items = [value] if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) else list(value)
            return tuple(self._convert_one(v) for v in items)
        return self._convert_one(value)

    def _convert_one(self, value: Any) -> Any:
        if self.exists and self.path is not None and isinstance(value, str) and not os.path.exists(value):
            raise ValueError(f"{'File' if self.path == 'file' else 'Path'} {value!r} does not exist.")
        if self.parse is not None:
            return self.parse(value) if isinstance(value, str) else value
        if self.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on", "t", "y"):
                return True
            if text in ("0", "false", "no", "off", "f", "n"):
                return False
            raise ValueError(f"{value!r} is not a valid boolean")
        if self.type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{value!r} is not a valid integer")
            try:
                number: Any = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{value!r} is not a valid integer") from None
        elif self.type is float:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{value!r} is not a valid float") from None
            if math.isnan(number):
                raise ValueError(f"{value!r} is not a number")
        else:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not text")
            number = value
        if self.choices is not None and number not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(repr(c) for c in self.choices)}.")
        low = self.min is not None and (number < self.min or self.min_open and number == self.min)
        high = self.max is not None and (number > self.max or self.max_open and number == self.max)
        if low or high:
            raise ValueError(f"{number} is not in the range {self.range_text()}.")
        return number

    def range_text(self) -> str:
        """As click writes a range: ``0<x<=1``, ``x>=1``."""
        low = "" if self.min is None else f"{_num(self.min)}{'<' if self.min_open else '<='}"
        high = "" if self.max is None else f"{'<' if self.max_open else '<='}{_num(self.max)}"
        if self.min is not None and self.max is None:
            return f"x{'>' if self.min_open else '>='}{_num(self.min)}"
        return f"{low}x{high}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def param(default: Any = None, *, help: str = "", type: type | None = None, **declaration: Any) -> Any:
    """A dataclass field declaring a parameter: its default, type, choices/range and help (see :class:`Param`).

    The type is the default's when not given (``str`` for a None default).
    """
    if type is None:
        type = builtins_type(default)
    if "choices" in declaration and declaration["choices"] is not None:
        declaration["choices"] = tuple(declaration["choices"])
    declared = Param(type=type, help=help, default=default, **declaration)
    if isinstance(default, (list, dict, set)):
        raise TypeError("a parameter's default must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={"param": declared})


def builtins_type(default: Any) -> type:
    if isinstance(default, bool):
        return bool
    if isinstance(default, (int, float, str)):
        return type(default)
    if isinstance(default, tuple):
        return str
    return str


def nested(options_class: type) -> Any:
    """A field holding another declared dataclass (``decoding: Decoding = nested(Decoding)``).

    Its parameters count as the outer class's own, flat, at the field's place: a command line
    gives ``--temperature``, and :func:`build` routes it into the nested instance.
    """
    return dataclasses.field(default_factory=options_class, metadata={"nested": options_class})


def declared(options: Any) -> list[Param]:
    """The declared parameters of a dataclass (or instance), in order, each named; nested ones flattened."""
    found = []
    for f in dataclasses.fields(options):
        declaration = f.metadata.get("param")
        if declaration is not None:
            found.append(dataclasses.replace(declaration, name=f.name, default=f.default))
        elif "nested" in f.metadata:
            found.extend(declared(f.metadata["nested"]))
    return found


def declaration_of(options: Any, name: str) -> Param:
    for p in declared(options):
        if p.name == name:
            return p
    raise KeyError(name)


def convert(options: Any, name: str, value: Any, where: str = "") -> Any:
    """``value`` for the parameter ``name`` of ``options``, typed and checked; UsageError naming the option."""
    try:
        declaration = declaration_of(options, name)
    except KeyError:
        known = ", ".join(p.long_flag for p in declared(options))
        raise UsageError(f"{where}no such option: {name!r} (known: {known or 'none'})") from None
    try:
        return declaration.convert(value)
    except ValueError as e:
        raise UsageError(f"{where}Invalid value for '{declaration.long_flag}': {e}") from None


def build(options_class: Any, values: dict[str, Any] | None = None, where: str = "") -> Any:
    """An instance of ``options_class`` from values by name (dashes or underscores), each converted and checked.

    Values of nested parameters (see :func:`nested`) go into the nested instance.
    """
    given = {str(k).replace("-", "_"): v for k, v in (values or {}).items()}
    typed = {name: convert(options_class, name, value, where) for name, value in given.items()}
    arguments = {}
    for f in dataclasses.fields(options_class):
        if "nested" in f.metadata:
            inner = {p.name for p in declared(f.metadata["nested"])}
            arguments[f.name] = build(f.metadata["nested"], {k: typed.pop(k) for k in list(typed) if k in inner}, where)
    missing = [p.long_flag for p in declared(options_class) if p.required and typed.get(p.name) is None]
    if missing:
        raise UsageError(f"{where}Missing option '{missing[0]}'.")
    return options_class(**arguments, **typed)


def parse_words(options_class: Any, words: Sequence[str], where: str = "") -> dict[str, Any]:
    """The values a command line gives (``["--engine", "regex", "--no-lower"]``), by parameter name.

    Only what the words give is returned; the dataclass holds the rest. Raises UsageError
    with the words click would use: no such option, a missing value, an invalid value.
    """
    by_flag: dict[str, tuple[Param, Any]] = {}
    for p in declared(options_class):
        for flag in p.flags:
            by_flag[flag] = (p, True)
        if p.negative_flag:
            by_flag[p.negative_flag] = (p, False)
    values: dict[str, Any] = {}
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        flag, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if not flag.startswith("-") or flag == "-":
            raise UsageError(f"{where}got unexpected extra argument ({word})")
        if flag in ("--help", "-h"):
            raise UsageError(f"{where}--help is not an option of a pipeline stage: run `nlpkit COMMAND --help`")
        if flag not in by_flag:
            raise UsageError(f"{where}no such option: {flag}")
        declaration, positive = by_flag[flag]
        if declaration.style in (FLAG, SWITCH):
            if eq:
                raise UsageError(f"{where}option {flag} does not take a value")
            values[declaration.name] = positive
            continue
        if eq:
            text = inline
        elif i < len(words) and not (declaration.flag_value is not None and words[i].startswith("-")):
            text, i = words[i], i + 1
        elif declaration.flag_value is not None:
            text = declaration.flag_value
        else:
            raise UsageError(f"{where}option '{flag}' requires an argument.")
        try:
            value = declaration._convert_one(text)
        except ValueError as e:
            raise UsageError(f"{where}Invalid value for '{declaration.long_flag}': {e}") from None
        if declaration.multiple:
            values[declaration.name] = (*values.get(declaration.name, ()), value)
        else:
            values[declaration.name] = value
    return values


def path_params(options_class: Any) -> list[Param]:
    """The parameters that name a file or a directory (a server takes none of them from a client)."""
    return [p for p in declared(options_class) if p.path is not None or p.reads_disk]


def values(options: Any) -> dict[str, Any]:
    """The parameters of a dataclass instance by name (shallow: no copies, unlike dataclasses.asdict)."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def comma_list(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a, b,"`` -> ``("a", "b")``: options that take several words in one flag."""
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    return tuple(w.strip() for w in parts if w.strip())


def ngram_range(text: str) -> tuple[int, int]:
    """``"1,2"`` -> ``(1, 2)``; ``"3"`` -> ``(1, 3)`` (an n-gram range, as scikit-learn's ngram_range)."""
    try:
        parts = [int(p) for p in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{text!r} is not MIN,MAX (two whole numbers, e.g. 1,2)") from None
    if len(parts) == 1:
        parts = [1, parts[0]]
    if len(parts) != 2 or parts[0] < 1 or parts[1] < parts[0]:
        raise ValueError(f"{text!r}: need 1 <= MIN <= MAX, e.g. 1,2")
    return parts[0], parts[1]


def count_or_fraction(text: str) -> int | float:
    """A document count (``"2"``) or a fraction of documents (``"0.5"``), as scikit-learn's min_df/max_df."""
    try:
        number: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a count nor a fraction") from None
    if isinstance(number, float) and not 0.0 <= number <= 1.0:
        raise ValueError(f"{text!r}: a fraction must be between 0 and 1")
    if isinstance(number, int) and number < 1:
        raise ValueError(f"{text!r}: a count must be at least 1")
    return number

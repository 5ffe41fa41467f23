"""The record stream: read records from files, directories, globs and stdin; write them back.

A record is one JSON object (a dict); a stream of records is JSON Lines. Readers
yield *items*: ``(location, record)`` pairs, where ``location`` is ``FILE:LINE``
(or the file's path for a whole-file document) so that errors can name the
place they came from. A line that cannot be read yields a :class:`BadInput` in
place of the record, and the caller decides whether to stop or skip.

Everything here streams: at no point is a whole input held in memory.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import orjson

from nlpkit.errors import InputError, MissingInput, RecordError

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
STDIN_NAME = "stdin"
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
# what a damaged or cut gzip raises while it is read: bad deflate data, a bad CRC or length, an early end
DAMAGED_GZIP_ERRORS = (zlib.error, gzip.BadGzipFile, EOFError)


@dataclass(frozen=True)
class BadInput:
    """Stands in for a record that could not be read (malformed JSON, bad bytes, ...)."""

    problem: str


Record = dict
Item = tuple[str, Union[Record, BadInput]]


# --------------------------------------------------------------------------- JSON


def dumps(record: Any) -> bytes:
    """One record as compact UTF-8 JSON bytes (numpy arrays and scalars allowed)."""
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def loads(line: bytes | str) -> Any:
    return orjson.loads(line)


# --------------------------------------------------------------------------- opening


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a file for reading bytes, gunzipping it when it is gzip (by content, not name)."""
    raw = open(path, "rb")
    if raw.peek(2)[:2] == GZIP_MAGIC:
        unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
        unzipped.myfileobj = raw  # type: ignore[assignment]  # so that closing it closes the file too
        return io.BufferedReader(_Read1(unzipped), 1 << 20)
    return raw


class _Read1(io.RawIOBase):
    """A raw stream over a GzipFile's read1: a full read would lose the data before a damaged block."""

    def __init__(self, stream):
        self.stream = stream

    def readable(self):
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self.stream.close()
        super().close()


def stdin_binary() -> IO[bytes]:
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode())
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == GZIP_MAGIC:
        return gzip.open(stream, "rb")  # type: ignore[return-value]
    return stream


@dataclass(frozen=True)
class _ReadFailure:
    """Stands in for the rest of a stream that broke while it was read (a damaged or cut gzip)."""

    problem: str


def _gzip_problem(e: BaseException) -> str:
    if isinstance(e, EOFError):
        return "the gzip data ends early (a truncated file)"
    return f"damaged gzip data ({e})"


# byte lines, where a stream that broke ends with a _ReadFailure (see safe_lines)
Lines = Iterable[Union[bytes, _ReadFailure]]


def safe_lines(stream: Lines) -> Iterator[bytes | _ReadFailure]:
    """A stream's byte lines without a leading UTF-8 BOM; a read that breaks ends them with a _ReadFailure.

    Every line read before the break is yielded first, so a truncated gzip keeps what it holds.
    """
    lines = iter(stream)
    try:
        for line in lines:
            yield line[len(UTF8_BOM):] if isinstance(line, bytes) and line.startswith(UTF8_BOM) else line
            break
        yield from lines
    except DAMAGED_GZIP_ERRORS as e:
        yield _ReadFailure(f"{_gzip_problem(e)}; the lines before this one were read")


def _decode(raw: bytes, location: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(location, f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None


# --------------------------------------------------------------------------- readers


def read_jsonl_lines(lines: Lines, name: str, first_lineno: int = 1) -> Iterator[Item]:
    """Parse JSON Lines. Blank lines are skipped; each record must be a JSON object.

    A stream that breaks (see :func:`safe_lines`) ends with one BadInput at the line it broke on.
    """
    for lineno, raw in enumerate(safe_lines(lines), first_lineno):
        if isinstance(raw, _ReadFailure):
            yield f"{name}:{lineno}", BadInput(raw.problem)
            return
        if not raw.strip():
            continue
        location = f"{name}:{lineno}"
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as ue:
                yield location, BadInput(f"not valid UTF-8 (byte 0x{raw[ue.start]:02x} at offset {ue.start})")
                continue
            yield location, BadInput(f"malformed JSON: {e}")
            continue
        if not isinstance(record, dict):
            yield location, BadInput(f"expected a JSON object, got {type(record).__name__}")
            continue
        yield location, record


def read_text_lines(lines: Lines, name: str, field: str = "text", first_lineno: int = 1) -> Iterator[Item]:
    """Plain text, one document per non-blank line; ``id`` is ``NAME:LINE``."""
    for lineno, raw in enumerate(safe_lines(lines), first_lineno):
        location = f"{name}:{lineno}"
        if isinstance(raw, _ReadFailure):
            yield location, BadInput(raw.problem)
            return
        try:
            text = _decode(raw, location).rstrip("\r\n")
        except InputError as e:
            yield location, BadInput(e.problem)
            continue
        if text.strip():
            yield location, {"id": location, field: text}


def read_text_document(path: str, field: str = "text") -> Iterator[Item]:
    """A whole file as one document; ``id`` is its path."""
    with open_binary(path) as f:
        try:
            raw = f.read()
        except DAMAGED_GZIP_ERRORS as e:
            yield path, BadInput(_gzip_problem(e))
            return
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        text = _decode(raw, path)
    except InputError as e:
        yield path, BadInput(e.problem)
        return
    yield path, {"id": path, field: text}


def _jsonl_file(path: str, field: str, lines: bool) -> Iterator[Item]:
    with open_binary(path) as f:
        yield from read_jsonl_lines(f, path)


def _text_file(path: str, field: str, lines: bool) -> Iterator[Item]:
    if lines:
        with open_binary(path) as f:
            yield from read_text_lines(f, path, field)
    else:
        yield from read_text_document(path, field)


# name -> reader(path, field, lines) -> items. Other modules register formats here
# (for example `conllu`), so that every stage's --input-format accepts them.
INPUT_FORMATS: dict[str, Callable[[str, str, bool], Iterator[Item]]] = {
    "jsonl": _jsonl_file,
    "text": _text_file,
}
# file-name endings that select a format under --input-format auto (longest first)
SUFFIX_FORMATS: dict[str, str] = {suffix: "jsonl" for suffix in JSONL_SUFFIXES}


def format_for_path(path: str) -> str:
    name = path.lower()
    for suffix, fmt in SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return "text"


def _has_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _walk_sorted(directory: str, seen: set[tuple[int, int]] | None = None) -> Iterator[str]:
    """Files under a directory in path order (a/, then b/1.txt, then c.txt), hidden ones skipped.

    Only regular files are read (a FIFO or a device in the tree would block or never end), and a
    directory reached twice through symlinks (a cycle) is walked once.
    """
    seen = set() if seen is None else seen
    info = os.stat(directory)
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    entries = sorted((e for e in os.scandir(directory) if not e.name.startswith(".")), key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir():
            yield from _walk_sorted(entry.path, seen)
        elif entry.is_file():
            yield entry.path


def expand_inputs(inputs: Iterable[str]) -> Iterator[str]:
    """Paths in input order: directories walked (sorted, hidden files skipped), globs expanded.

    ``-`` stands for stdin. A path that does not exist and matches nothing is an error.
    """
    for spec in inputs:
        if spec == "-":
            yield spec
        elif os.path.isdir(spec):
            yield from _walk_sorted(spec)
        elif os.path.exists(spec):
            yield spec
        elif _has_glob(spec):
            matches = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            if not matches:
                raise MissingInput(spec, "no files match this pattern")
            yield from matches
        else:
            raise MissingInput(spec, "no such file or directory")


def read_stdin(field: str = "text", input_format: str = "auto", stream: IO[bytes] | None = None) -> Iterator[Item]:
    """stdin is JSON Lines when its first non-blank line is a JSON object, else text lines."""
    stream = stream if stream is not None else stdin_binary()
    lines = safe_lines(stream)  # read once more by the readers below: harmless, a BOM is gone and a break is kept
    lineno = 0
    first: bytes | _ReadFailure = b""
    for first in lines:
        lineno += 1
        if isinstance(first, _ReadFailure):
            yield f"{STDIN_NAME}:{lineno}", BadInput(first.problem)
            return
        if first.strip():
            break
    else:
        return
    assert isinstance(first, bytes)
    fmt = input_format
    if fmt == "auto":
        fmt = "jsonl" if first.lstrip().startswith(b"{") else "text"
    rest = _chain_first(first, lines)
    if fmt == "jsonl":
        yield from read_jsonl_lines(rest, STDIN_NAME, lineno)
    elif fmt == "text":
        yield from read_text_lines(rest, STDIN_NAME, field, lineno)
    else:
        reader = input_reader(fmt)
        yield from reader(_StdinAsPath(rest), field, True)


class _StdinAsPath(str):
    """Lets a registered file reader take stdin's remaining lines in place of a path."""

    def __new__(cls, lines: Lines):
        obj = super().__new__(cls, STDIN_NAME)
        obj.lines = lines  # type: ignore[attr-defined]
        return obj


def open_lines(path: str) -> "IO[bytes] | _NullContext":
    """Byte lines of a path, or of stdin when a reader was handed stdin (see _StdinAsPath)."""
    if isinstance(path, _StdinAsPath):
        return _NullContext(path.lines)  # type: ignore[attr-defined]
    return open_binary(path)


class _NullContext:
    def __init__(self, lines):
        self.lines = lines

    def __enter__(self):
        return self.lines

    def __exit__(self, *exc):
        return False


def _chain_first(first: bytes, rest: Lines) -> Iterator[bytes | _ReadFailure]:
    yield first
    yield from rest


def read_items(
    inputs: Iterable[str] = ("-",),
    *,
    field: str = "text",
    lines: bool = False,
    input_format: str = "auto",
    stdin: IO[bytes] | None = None,
) -> "ItemStream":
    """Every item of every input, in input order. See the module docstring.

    The iterator knows what it reads (``.source``), so that a consumer that finds no
    records can name the inputs in its error.
    """
    inputs = list(inputs) or ["-"]
    return ItemStream(inputs, _read_items(inputs, field, lines, input_format, stdin))


class ItemStream:
    """An iterator over items that names its inputs: ``source`` is "a.jsonl", "a.jsonl, b.jsonl" or "stdin"."""

    def __init__(self, inputs: list[str], items: Generator[Item, None, None]):
        names = [STDIN_NAME if spec == "-" else spec for spec in inputs]
        self.source = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"
        self._items = items

    def __iter__(self) -> "ItemStream":
        return self

    def __next__(self) -> Item:
        return next(self._items)

    def close(self) -> None:
        self._items.close()


def source_of(items: Iterable) -> str | None:
    """The inputs an item iterator reads (see ItemStream), for "no records" errors; None when unknown."""
    return getattr(items, "source", None)


def _read_items(inputs: list[str], field: str, lines: bool, input_format: str,
                stdin: IO[bytes] | None) -> Generator[Item, None, None]:
    if input_format != "auto" and input_format not in INPUT_FORMATS:
        raise InputError(None, f"unknown input format {input_format!r}")
    for path in expand_inputs(inputs):
        if path == "-":
            yield from read_stdin(field, input_format, stdin)
            continue
        fmt = format_for_path(path) if input_format == "auto" else input_format
        try:
            yield from input_reader(fmt)(path, field, lines)
        except (IsADirectoryError, PermissionError, FileNotFoundError) as e:
            raise InputError(path, e.strerror or str(e)) from None
        except (*DAMAGED_GZIP_ERRORS, OSError) as e:
            raise InputError(path, f"cannot read: {e}") from None


def read_records(inputs: Iterable[str] | str = ("-",), **options: Any) -> Iterator[Record]:
    """Records only, for library use: raises :class:`InputError` on the first bad line."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    for _, record in iter_records(read_items(inputs, **options)):
        yield record


def iter_records(items: Iterable[Item], on_error: str = "fail", skipped: Any = None,
                 read: Callable[[Record], Any] | None = None) -> Iterator[tuple[str, Any]]:
    """``(location, record)`` for each readable item, or ``(location, read(record))``: the one loop over records with --on-error.

    An unreadable line, or a RecordError that `read` raises, stops with an InputError naming
    the location; with ``on_error="skip"`` it is counted in `skipped` (a
    :class:`nlpkit.records.Skipped`) and left out instead.
    """
    for location, record in items:
        try:
            if isinstance(record, BadInput):
                raise RecordError(record.problem)
            value = record if read is None else read(record)
        except RecordError as e:
            if on_error != "skip" or skipped is None:
                raise InputError(location, str(e)) from None
            skipped.add(location, str(e))
            continue
        yield location, value


# --------------------------------------------------------------------------- writers


def main_text(record: Record, field: str = "text", main_field: str | None = None) -> str:
    """What `--format text` prints for a record: tokens space-joined, else the text field."""
    if main_field is not None and main_field in record:
        value = record[main_field]
    elif "tokens" in record:
        value = record["tokens"]
    else:
        value = record.get(field, "")
    if isinstance(value, list):
        value = " ".join(v if isinstance(v, str) else orjson.dumps(v).decode() for v in value)
    elif not isinstance(value, str):
        value = orjson.dumps(value).decode()
    # one record per line, whatever the text holds
    return value.replace("\r", " ").replace("\n", " ")


class Writer:
    """Writes records to a binary stream. Subclasses choose the format."""

    def __init__(self, stream: IO[bytes], *, field: str = "text", main_field: str | None = None):
        self.stream = stream
        self.field = field
        self.main_field = main_field

    def write(self, records: Iterable[Record]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class JsonlWriter(Writer):
    def write(self, records: Iterable[Record]) -> None:
        self.stream.write(b"".join(dumps(r) + b"\n" for r in records))


class TextWriter(Writer):
    def write(self, records: Iterable[Record]) -> None:
        self.stream.write(
            "".join(main_text(r, self.field, self.main_field) + "\n" for r in records).encode("utf-8")
        )


# name -> Writer class; other modules register formats here (for example `conllu`).
OUTPUT_FORMATS: dict[str, type[Writer]] = {"jsonl": JsonlWriter, "text": TextWriter}


def open_output(path: str | None) -> IO[bytes]:
    """stdout for None or '-', else the file (gzip when it ends in .gz)."""
    if path in (None, "-"):
        return sys.stdout.buffer if hasattr(sys.stdout, "buffer") else _TextToBytes(sys.stdout)  # type: ignore[return-value]
    parent = Path(path).parent
    parent.mkdir(parents=True, exist_ok=True)
    if str(path).endswith(".gz"):
        return gzip.open(path, "wb")  # type: ignore[return-value]
    return open(path, "wb")


class _TextToBytes(io.RawIOBase):
    """Adapts a text stream that has no .buffer (as in some test harnesses) to bytes."""

    def __init__(self, text_stream):
        self.text_stream = text_stream

    def writable(self):
        return True

    def write(self, b):
        self.text_stream.write(bytes(b).decode("utf-8"))
        return len(b)

    def flush(self):
        self.text_stream.flush()


def make_writer(fmt: str, stream: IO[bytes], **options: Any) -> Writer:
    return writer_class(fmt)(stream, **options)


def write_records(records: Iterable[Record], path: str | None = None, fmt: str = "jsonl", **options: Any) -> None:
    """Library helper: write records to a path (or stdout) in one format."""
    stream = open_output(path)
    writer = make_writer(fmt, stream, **options)
    try:
        writer.write(records)
    finally:
        writer.close()
        if path not in (None, "-"):
            stream.close()


# --------------------------------------------------------------------------- batching


def batched(items: Iterable[Item], size: int = 256, max_chars: int = 2_000_000) -> Iterator[list[Item]]:
    """Group items into lists of at most `size` items and roughly `max_chars` of text.

    The character cap keeps memory bounded when documents are long (whole files).
    """
    batch: list[Item] = []
    chars = 0
    for item in items:
        batch.append(item)
        record = item[1]
        if isinstance(record, dict):
            text = record.get("text")
            chars += len(text) if isinstance(text, str) else 64
        if len(batch) >= size or chars >= max_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


# --------------------------------------------------------------------------- formats of other modules
# A format another module implements is registered here as "module:attribute" and imported on
# first use, as commands and model kinds are: nlpkit.linguistic.conllu builds on this module, never the reverse.

INPUT_FORMATS["conllu"] = "nlpkit.linguistic.conllu:read_conllu_file"  # type: ignore[assignment]
OUTPUT_FORMATS["conllu"] = "nlpkit.linguistic.conllu:ConlluWriter"  # type: ignore[assignment]
SUFFIX_FORMATS[".conllu"] = SUFFIX_FORMATS[".conllu.gz"] = "conllu"
# token<TAB>tag NER files (IOB1/IOB2/BIOES, CoNLL-2003, Universal NER): one sentence a record, its `ents`
INPUT_FORMATS["iob"] = "nlpkit.linguistic.ner_eval:read_iob_file"  # type: ignore[assignment]
SUFFIX_FORMATS[".iob2"] = SUFFIX_FORMATS[".iob"] = "iob"


def _resolve(target):
    """A registered reader or writer: itself, or the attribute a "module:attribute" string names."""
    if isinstance(target, str):
        from nlpkit.registry import resolve

        return resolve(target)
    return target


def input_reader(fmt: str) -> Callable[[str, str, bool], Iterator[Item]]:
    """The reader of an input format (`INPUT_FORMATS`), imported if need be."""
    try:
        return _resolve(INPUT_FORMATS[fmt])
    except KeyError:
        raise InputError(None, f"unknown input format {fmt!r}") from None


def writer_class(fmt: str) -> type[Writer]:
    """The writer of an output format (`OUTPUT_FORMATS`), imported if need be."""
    try:
        return _resolve(OUTPUT_FORMATS[fmt])
    except KeyError:
        raise InputError(None, f"unknown output format {fmt!r}") from None

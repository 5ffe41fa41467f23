"""CoNLL-U in and out: one sentence per record (stdlib only).

CoNLL-U (https://universaldependencies.org/format.html) has one word a line in
ten tab-separated columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC),
comment lines starting with ``#``, and a blank line after each sentence.

A sentence is read as the record

    {"id": SENT_ID, "text": TEXT, "tokens": [FORM...], "lemma": [...], "upos": [...],
     "pos": [XPOS...], "feats": [...], "deps": [{"head": I, "dep": DEPREL}...], "misc": [...]}

where ``head`` is the 0-based index of the head word and a root points at
itself (spaCy's convention, so `deps` means the same whichever way it came).
A column that is ``_`` on every word is left out. Multiword-token ranges
(``1-2``) and empty nodes (``8.1``) are skipped: records hold syntactic words.

The writer does the reverse, one block per sentence with ``# sent_id`` and
``# text``; a record that holds several sentences (a parsed review) is split
where its dependency tree says sentences end.

It builds on :mod:`nlpkit.io`; io registers the ``conllu`` formats by name and
imports this module only when one is used, so the two never import each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from nlpkit.errors import InputError
from nlpkit.io import BadInput, iter_records, open_lines
from nlpkit.linguistic.align import sentence_starts, spaces_after, token_offsets

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
# record field -> CoNLL-U column index, for the per-word string columns
FIELD_COLUMNS = {"lemma": 2, "upos": 3, "pos": 4, "feats": 5, "misc": 9}

WORD_ID = re.compile(r"[1-9][0-9]*\Z")
RANGE_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*\Z")
EMPTY_ID = re.compile(r"[0-9]+\.[1-9][0-9]*\Z")
HEAD = re.compile(r"(0|[1-9][0-9]*)\Z")


class _BadLine(Exception):
    def __init__(self, lineno: int, problem: str):
        self.lineno = lineno
        self.problem = problem


# --------------------------------------------------------------------------- reading


def read_conllu(lines: Iterable[bytes | str], name: str, field: str = "text") -> Iterator[tuple[str, Any]]:
    """Items ``(FILE:LINE, record)`` from CoNLL-U lines; a bad sentence yields a BadInput at its bad line."""
    block: list[tuple[int, str]] = []
    lineno = 0
    for lineno, raw in enumerate(lines, 1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                line = None
                problem = f"not valid UTF-8 (byte {e.start} is 0x{raw[e.start]:02x})"
        else:
            line = raw
        if line is None:
            block.append((lineno, "\x00" + problem))  # reported when the sentence is parsed
            continue
        line = line.rstrip("\r\n")
        if line.strip():
            block.append((lineno, line))
        elif block:
            yield _sentence_item(block, name, field, BadInput)
            block = []
    if block:
        yield _sentence_item(block, name, field, BadInput)


def _sentence_item(block, name, field, bad_input_class):
    location = f"{name}:{block[0][0]}"
    try:
        return location, parse_sentence(block, location, field)
    except _BadLine as e:
        return f"{name}:{e.lineno}", bad_input_class(e.problem)


def add_comment(line: str, comments: dict[str, str]) -> bool:
    """Keep a ``# key = value`` line's first value in `comments`; whether the line was a comment."""
    if not line.startswith("#"):
        return False
    key, sep, value = line[1:].partition("=")
    if sep:
        comments.setdefault(key.strip(), value.strip())
    return True


def parse_sentence(block: list[tuple[int, str]], default_id: str, field: str = "text") -> dict:
    """One sentence (its numbered non-blank lines) as a record. Raises _BadLine."""
    comments: dict[str, str] = {}
    words: list[list[str]] = []
    word_lines: list[int] = []
    for lineno, line in block:
        if line.startswith("\x00"):
            raise _BadLine(lineno, line[1:])
        if add_comment(line, comments):
            continue
        columns = line.split("\t")
        if len(columns) != 10:
            raise _BadLine(lineno, f"expected 10 tab-separated columns, got {len(columns)}")
        word_id = columns[0]
        if RANGE_ID.match(word_id) or EMPTY_ID.match(word_id):
            continue  # multiword-token ranges and empty nodes are not syntactic words
        if not WORD_ID.match(word_id):
            raise _BadLine(lineno, f"bad word ID {word_id!r}")
        if int(word_id) != len(words) + 1:
            raise _BadLine(lineno, f"word ID {word_id} out of sequence (expected {len(words) + 1})")
        if not columns[1]:
            raise _BadLine(lineno, "empty FORM")
        head = columns[6]
        if head != "_" and not HEAD.match(head):
            raise _BadLine(lineno, f"bad HEAD {head!r}")
        words.append(columns)
        word_lines.append(lineno)
    if not words:
        raise _BadLine(block[-1][0], "sentence has no words")

    tokens = [w[1] for w in words]
    record: dict[str, Any] = {"id": comments.get("sent_id") or default_id}
    text = comments.get("text")
    if text is None:
        misc = [w[9] for w in words]
        text = _join_tokens(tokens, misc)
    record[field] = text
    record["tokens"] = tokens
    for name, index in FIELD_COLUMNS.items():
        values = [w[index] for w in words]
        if any(v != "_" for v in values):
            record[name] = values
    heads = [w[6] for w in words]
    if any(h != "_" for h in heads):
        deps = []
        for i, (w, lineno) in enumerate(zip(words, word_lines)):
            if w[6] == "_":
                raise _BadLine(lineno, "HEAD is missing (other words of this sentence have one)")
            head = int(w[6])
            if head > len(words):
                raise _BadLine(lineno, f"HEAD {head} is beyond the sentence's {len(words)} words")
            deps.append({"head": i if head == 0 else head - 1, "dep": w[7]})
        record["deps"] = deps
    return record


def _join_tokens(tokens: list[str], misc: list[str] | None = None) -> str:
    """Sentence text from its words, honouring SpaceAfter=No when MISC has it."""
    parts = []
    for i, token in enumerate(tokens):
        parts.append(token)
        no_space = misc is not None and "SpaceAfter=No" in misc[i].split("|")
        if i < len(tokens) - 1 and not no_space:
            parts.append(" ")
    return "".join(parts)


def read_conllu_file(path: str, field: str = "text", lines: bool = False) -> Iterator[tuple[str, Any]]:
    """The reader registered as io.INPUT_FORMATS['conllu'] (`lines` does not apply)."""
    with open_lines(path) as f:
        yield from read_conllu(f, str(path), field)


def read_conllu_records(path: str, field: str = "text") -> Iterator[dict]:
    """Records of a CoNLL-U file, for library use: raises InputError at the first bad line."""
    for _, record in iter_records(read_conllu_file(path, field)):
        yield record


# --------------------------------------------------------------------------- writing


def _clean(value: Any) -> str:
    """A CoNLL-U cell: never empty, no tabs or newlines."""
    text = str(value) if value is not None else "_"
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text if text.strip() else "_"


def _column(record: dict, name: str, n: int, where: str) -> list | None:
    values = record.get(name)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != n:
        size = len(values) if isinstance(values, list) else type(values).__name__
        raise InputError(where, f"field {name!r} has {size} values for {n} tokens")
    return values


def sentence_blocks(record: dict, field: str = "text", sent_number: int = 1) -> list[str]:
    """A record as CoNLL-U sentence blocks (each ending in a blank line)."""
    where = f"record {record.get('id', sent_number)!s}"
    tokens = record.get("tokens")
    text = record.get(field)
    if tokens is None:
        tokens = text.split() if isinstance(text, str) else []
    n = len(tokens)
    if not n:
        return []
    columns = {name: _column(record, name, n, where) for name in FIELD_COLUMNS}
    deps = _column(record, "deps", n, where)
    heads = [d.get("head") if isinstance(d, dict) else None for d in deps] if deps else None

    if heads is not None and all(isinstance(h, int) for h in heads):
        starts = sentence_starts(heads)
    elif _sents_fit(record.get("sents"), n):
        starts = [False] * n
        i = 0
        for sent in record["sents"]:
            if sent:
                starts[i] = True
            i += len(sent)
    else:
        starts = [i == 0 for i in range(n)]
    bounds = [i for i, s in enumerate(starts) if s] + [n]

    offsets = token_offsets(text, tokens) if isinstance(text, str) else None
    misc = columns["misc"]
    if misc is None and offsets is not None:
        # SpaceAfter=No where the text has no space after a word, as UD writes it
        follows = spaces_after(text, offsets)
        misc = ["_" if follows[i] or i == n - 1 else "SpaceAfter=No" for i in range(n)]

    record_id = record.get("id")
    blocks = []
    for k, (start, end) in enumerate(zip(bounds, bounds[1:]), 1):
        if record_id is None:
            sent_id = str(sent_number + k - 1)
        else:
            sent_id = str(record_id) if len(bounds) == 2 else f"{record_id}-{k}"
        if offsets is not None:
            sent_text = text[offsets[start][0]: offsets[end - 1][1]]
        else:
            sent_text = _join_tokens(tokens[start:end], misc[start:end] if misc else None)
        lines = [f"# sent_id = {_clean(sent_id)}", f"# text = {' '.join(sent_text.split())}"]
        for i in range(start, end):
            row = ["_"] * 10
            row[0] = str(i - start + 1)
            row[1] = _clean(tokens[i])
            for name, index in FIELD_COLUMNS.items():
                values = misc if name == "misc" else columns[name]
                if values is not None:
                    row[index] = _clean(values[i])
            if heads is not None and isinstance(heads[i], int):
                is_root = heads[i] == i
                row[6] = "0" if is_root else str(heads[i] - start + 1)
                dep = deps[i].get("dep") if isinstance(deps[i], dict) else None
                row[7] = "root" if is_root and dep in (None, "ROOT") else _clean(dep)
            lines.append("\t".join(row))
        blocks.append("\n".join(lines) + "\n\n")
    return blocks


def _sents_fit(sents: Any, n: int) -> bool:
    return isinstance(sents, list) and all(isinstance(s, list) for s in sents) and sum(map(len, sents)) == n


class ConlluWriter:
    """The `--format conllu` writer (io's Writer interface: write(records), close())."""

    def __init__(self, stream: IO[bytes], *, field: str = "text", main_field: str | None = None):
        self.stream = stream
        self.field = field
        self.main_field = main_field
        self.sentences = 0

    def write(self, records: Iterable[dict]) -> None:
        out = []
        for record in records:
            blocks = sentence_blocks(record, self.field, self.sentences + 1)
            self.sentences += len(blocks)
            out.extend(blocks)
        if out:
            self.stream.write("".join(out).encode("utf-8"))

    def close(self) -> None:
        self.stream.flush()

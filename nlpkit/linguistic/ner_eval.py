"""Entity-level NER scores: exact span and type, as conlleval and seqeval's default mode count them.

An entity is correct when a predicted one has the same type, the same first
token and the same last token as a gold one. Precision = correct / predicted,
recall = correct / gold, F1 their harmonic mean; per type, micro (over all
entities) and macro (the mean over types).

Both files are read as sentences, one after the other (they must hold as many
sentences, and each the same number of tokens). Formats, told apart by content:

- tagged tokens, one a line, a blank line after each sentence: ``TOKEN TAG``
  (IOB1, IOB2 or BIOES; the tag is the last column, so CoNLL-2003's 4-column
  files work as they are, and their ``-DOCSTART-`` lines are skipped);
  Universal NER's files (``ID TOKEN TAG - -``) and their ``#`` comment lines too;
- nlpkit JSON Lines, one sentence a record: ``ents`` as ``{"start", "end",
  "label"}`` token offsets (end exclusive) over the gold tokens, ``tokens`` optional.

Tags are decoded with conlleval's chunk rules (an ``I-`` after ``O`` or after
another type starts an entity), so IOB1, IOB2 and BIOES need no flag. Predicted
labels can be mapped onto the gold's (``PERSON=PER``); a predicted label the
gold never uses is then counted in ``ignored`` and left out of the scores.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from nlpkit.errors import InputError, UsageError

TAG = re.compile(r"([BIES])-(\S+)\Z")
DOCSTART = "-DOCSTART-"
# ID TOKEN TAG MISC MISC: the columns of Universal NER's .iob2 files
UNER_COLUMNS = 5


@dataclass
class Sentence:
    location: str  # FILE:LINE of its first line
    n_tokens: int | None  # None: a JSONL record without tokens
    entities: list[tuple[str, int, int]]  # (label, start, end exclusive)
    tokens: list[str] | None = None
    tags: list[str] | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- tags <-> entities


def _split_tag(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    match = TAG.match(tag)
    if match is None:
        raise ValueError(tag)
    return match.group(1), match.group(2)


def tags_to_entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """(label, start, end exclusive) of each entity in a tag sequence, by conlleval's rules.

    >>> tags_to_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "S-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5), ('ORG', 5, 6)]
    """
    entities = []
    prev_prefix, prev_label, start = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, label = _split_tag(tag)
        ends = (prev_prefix in "ES" or (prev_prefix in "BI" and prefix in "BSO")
                or (prev_prefix != "O" and prev_label != label))
        if ends and prev_prefix != "O":
            entities.append((prev_label, start, i))
        starts = (prefix in "BS" or (prev_prefix in "ESO" and prefix in "EI")
                  or (prefix != "O" and prev_label != label))
        if starts:
            start = i
        prev_prefix, prev_label = prefix, label
    return entities


def entities_to_tags(n_tokens: int, entities: Iterable[tuple[str, int, int]]) -> list[str]:
    """IOB2 tags for `n_tokens` tokens (entities must not overlap; a later overlapping one is dropped)."""
    tags = ["O"] * n_tokens
    for label, start, end in sorted(entities, key=lambda e: (e[1], e[2])):
        if start < end <= n_tokens and all(t == "O" for t in tags[start:end]):
            tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return tags


# --------------------------------------------------------------------------- reading


def _decoded(stream: Iterable[bytes], name: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of byte lines; a bad byte or a broken gzip stream is one error at its line."""
    from nlpkit.io import safe_lines

    for lineno, raw in enumerate(safe_lines(stream), 1):
        if not isinstance(raw, bytes):
            raise InputError(f"{name}:{lineno}", raw.problem)
        try:
            yield lineno, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise InputError(f"{name}:{lineno}", f"not valid UTF-8 (byte 0x{raw[e.start]:02x})") from None


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a file or of stdin (``-``), gzip or not."""
    from nlpkit.io import open_binary, stdin_binary

    try:
        stream = stdin_binary() if path == "-" else open_binary(path)
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    with stream:
        yield from _decoded(stream, "stdin" if path == "-" else path)


def read_iob_file(path: str, field: str = "text", lines: bool = False) -> Iterator[tuple[str, object]]:
    """The ``--input-format iob`` reader: one record per sentence, ``{"id", TEXT, "tokens", "ents"}``
    (the file's entities, token offsets, end exclusive); a malformed line ends the file with a BadInput."""
    from nlpkit.io import BadInput, open_lines

    name = str(path)
    with open_lines(path) as stream:
        try:
            for sentence in read_tagged(_decoded(stream, name), name):
                tokens = sentence.tokens or []
                ents = [{"text": " ".join(tokens[s:e]), "label": label, "start": s, "end": e}
                        for label, s, e in sentence.entities]
                yield sentence.location, {"id": sentence.location, field: " ".join(tokens), "tokens": tokens,
                                          "ents": ents}
        except InputError as e:
            yield e.location or name, BadInput(e.problem)


def read_sentences(path: str) -> list[Sentence]:
    """The sentences of a tagged-token file or of an nlpkit JSONL file (told apart by the first line)."""
    lines = _lines(path)
    first = next(((n, line) for n, line in lines if line.strip()), None)
    if first is None:
        return []
    name = "stdin" if path == "-" else path

    def all_lines():
        yield first
        yield from lines

    reader = read_jsonl if first[1].lstrip().startswith("{") else read_tagged
    return list(reader(all_lines(), name))


def read_tagged(lines: Iterable[tuple[int, str]], name: str) -> Iterator[Sentence]:
    """Sentences of ``TOKEN ... TAG`` lines (or Universal NER's ``ID TOKEN TAG - -``)."""
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    for lineno, line in lines:
        if not line.strip():
            if tokens:
                yield _tagged_sentence(tokens, tags, name, first_line)
            tokens, tags = [], []
            continue
        if line.startswith("#") and "\t" not in line:
            continue  # a comment (# sent_id = ..., # text = ...); a token "#" has its tag after a tab
        columns = line.split("\t") if "\t" in line else line.split()
        if columns[0] == DOCSTART:
            continue
        if len(columns) < 2:
            raise InputError(f"{name}:{lineno}", f"expected a token and a tag, got {line.strip()!r}")
        if len(columns) == UNER_COLUMNS and columns[0].isdigit():
            token, tag = columns[1], columns[2]
        else:
            token, tag = columns[0], columns[-1]
        try:
            _split_tag(tag)
        except ValueError:
            raise InputError(f"{name}:{lineno}", f"bad tag {tag!r} (expected O, or B-, I-, E-, S- and a type)") from None
        if not tokens:
            first_line = lineno
        tokens.append(token)
        tags.append(tag)
    if tokens:
        yield _tagged_sentence(tokens, tags, name, first_line)


def _tagged_sentence(tokens: list[str], tags: list[str], name: str, first_line: int) -> Sentence:
    return Sentence(f"{name}:{first_line}", len(tokens), tags_to_entities(tags), tokens, tags)


def read_jsonl(lines: Iterable[tuple[int, str]], name: str) -> Iterator[Sentence]:
    """Sentences of nlpkit records: ``ents`` with token ``start``/``end`` (end exclusive), ``tokens`` optional."""
    for lineno, line in lines:
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            record = json.loads(line)
        except ValueError as e:
            raise InputError(where, f"not a JSON object ({e})") from None
        if not isinstance(record, dict):
            raise InputError(where, "not a JSON object")
        tokens = record.get("tokens")
        if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            raise InputError(where, "field 'tokens' must be a list of strings")
        ents = record.get("ents", [])
        if not isinstance(ents, list):
            raise InputError(where, "field 'ents' must be a list")
        entities = []
        for k, ent in enumerate(ents):
            start, end, label = (ent.get(key) for key in ("start", "end", "label")) if isinstance(ent, dict) else (None,) * 3
            if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label
                    and 0 <= start < end):
                raise InputError(where, f"entity {k + 1} needs integer 'start' < 'end' (token offsets) and a 'label'")
            if tokens is not None and end > len(tokens):
                raise InputError(where, f"entity {k + 1} ends at token {end} but the record has {len(tokens)} tokens")
            entities.append((label, start, end))
        yield Sentence(where, len(tokens) if tokens is not None else None, entities, tokens)


# --------------------------------------------------------------------------- scoring


def parse_mapping(spec: str | None) -> dict[str, str]:
    """``"PERSON=PER,GPE=LOC"`` -> {"PERSON": "PER", "GPE": "LOC"}."""
    mapping: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        source, sep, target = part.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise UsageError(f"--map: expected LABEL=GOLD_LABEL pairs separated by commas, got {part.strip()!r}")
        mapping[source.strip()] = target.strip()
    return mapping


def _prf(correct: int, gold: int, pred: int) -> dict:
    precision = correct / pred if pred else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def align_sentences(gold: list[Sentence], pred: list[Sentence], gold_name: str, pred_name: str) -> None:
    """Raise InputError where the two files stop holding the same sentences and token counts."""
    for k, (g, p) in enumerate(zip(gold, pred), 1):
        if p.n_tokens is not None and g.n_tokens is not None and p.n_tokens != g.n_tokens:
            raise InputError(p.location, f"sentence {k} has {p.n_tokens} tokens, but {g.n_tokens} in the gold "
                                         f"({g.location})")
        if g.n_tokens is not None:
            beyond = [e for e in p.entities if e[2] > g.n_tokens]
            if beyond:
                raise InputError(p.location, f"sentence {k}: an entity ends at token {beyond[0][2]}, but the gold "
                                             f"sentence ({g.location}) has {g.n_tokens} tokens")
    if len(gold) != len(pred):
        shorter = min(len(gold), len(pred))
        extra = (pred if len(pred) > len(gold) else gold)[shorter]
        raise InputError(extra.location, f"sentence {shorter + 1} has no counterpart: {gold_name} has {len(gold)} "
                                         f"sentences, {pred_name} has {len(pred)}")


def score_entities(gold: list[Sentence], pred: list[Sentence], mapping: dict[str, str] | None = None) -> dict:
    """Per-type, micro and macro precision/recall/F1 of `pred` against `gold` (aligned sentence lists)."""
    mapping = mapping or {}
    gold_set = {(k, *e) for k, s in enumerate(gold) for e in s.entities}
    gold_labels = {e[1] for e in gold_set}
    ignored: Counter = Counter()
    pred_set = set()
    for k, s in enumerate(pred):
        for label, start, end in s.entities:
            mapped = mapping.get(label, label)
            if mapped in gold_labels:
                pred_set.add((k, mapped, start, end))
            else:
                ignored[label] += 1  # by the label the prediction used
    correct = gold_set & pred_set
    types = {}
    for label in sorted(gold_labels):
        counts = {"gold": sum(e[1] == label for e in gold_set), "pred": sum(e[1] == label for e in pred_set),
                  "correct": sum(e[1] == label for e in correct)}
        types[label] = {**counts, **_prf(counts["correct"], counts["gold"], counts["pred"])}
    macro = {m: sum(t[m] for t in types.values()) / len(types) if types else 0.0 for m in ("precision", "recall", "f1")}
    return {
        "sentences": len(gold),
        "tokens": sum(s.n_tokens or 0 for s in gold),
        "gold_entities": len(gold_set),
        "pred_entities": len(pred_set),
        "correct": len(correct),
        "micro": _prf(len(correct), len(gold_set), len(pred_set)),
        "macro": macro,
        "types": types,
        "mapping": mapping,
        "ignored": dict(sorted(ignored.items())),
    }


def evaluate_ner(gold_path: str, pred_path: str, mapping: dict[str, str] | None = None) -> dict:
    """Scores of the prediction file against the gold file (see the module docstring)."""
    gold = read_sentences(gold_path)
    pred = read_sentences(pred_path)
    if not gold:
        raise InputError(gold_path, "no sentences")
    align_sentences(gold, pred, gold_path, pred_path)
    return {"gold": gold_path, "pred": pred_path, **score_entities(gold, pred, mapping)}


def summary_line(scores: dict) -> str:
    return (f"{scores['sentences']:,} sentences, {scores['tokens']:,} tokens, {scores['gold_entities']:,} gold and "
            f"{scores['pred_entities']:,} predicted entities")


def scores_table(scores: dict, title: str | None = None):
    """A rich table: one row per type, then micro and macro (percentages), with the entity counts."""
    from rich.table import Table

    table = Table(title=title)
    for header in ("type", "precision %", "recall %", "F1 %", "gold", "pred", "correct"):
        table.add_column(header, justify="left" if header == "type" else "right")

    def row(name, s, gold, pred, correct, style=None):
        table.add_row(name, *(f"{100 * s[m]:.2f}" for m in ("precision", "recall", "f1")),
                      f"{gold:,}", f"{pred:,}", "" if correct is None else f"{correct:,}", style=style)

    for label, s in scores["types"].items():
        row(label, s, s["gold"], s["pred"], s["correct"])
    row("micro", scores["micro"], scores["gold_entities"], scores["pred_entities"], scores["correct"], "bold")
    row("macro", scores["macro"], scores["gold_entities"], scores["pred_entities"], None)
    return table

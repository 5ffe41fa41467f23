"""The benchmark's data: load the splits, take seeded balanced subsets, slice validation, preprocess once.

Every method gets the same records: ``{"id", "text", "tokens", "label"}``
where ``text`` is the cleaned review and ``tokens`` its tokens (see
:data:`PREPROCESSING`), so that each kind reads what it needs and none does
its own preprocessing. The prepared splits are written once per settings to
``OUT/data/`` and read by every method's process.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

from nlpkit.corpora import read_split

VALID_FRACTION = 0.1
# The preprocessing every method sees: clean's defaults (NFKC, HTML and URLs and
# e-mails removed, lowercase, punctuation removed, whitespace collapsed), then the
# regex tokenizer: on cleaned text it splits words like nltk would, at a fraction
# of nltk's time on 50,000 reviews.
PREPROCESSING = {"clean": {}, "tokenize": {"engine": "regex"}}


def describe_preprocessing() -> str:
    return ("nlpkit clean (defaults: NFKC, HTML tags and entities, URLs and e-mails removed, lowercase, "
            "punctuation removed, whitespace collapsed) | nlpkit tokenize --engine regex")


def load_split(directory: str | Path, split: str) -> list[dict]:
    """Labelled records of a split, with only the fields the benchmark uses; none at all is an error naming the file."""
    records = [{"id": r.get("id"), "text": r["text"], "label": str(r["label"])}
               for r in read_split(directory, split) if r.get("label") is not None]
    if not records:
        from nlpkit.corpora import split_path
        from nlpkit.errors import InputError

        raise InputError(str(split_path(directory, split) or directory), f"no labelled records in the {split} split")
    return records


def load_file(path: str | Path) -> list[dict]:
    """Labelled records of a JSONL file (`bench corpus --train/--test`); a record without text or label is an error."""
    records = _read_texts(path, labelled=True)
    if not records:
        from nlpkit.errors import InputError

        raise InputError(str(path), "no records")
    return records


def load_unlabelled(path: str | Path) -> list[dict]:
    """Texts for the run's vectors (labels, if any, are dropped: only the text is read)."""
    return _read_texts(path, labelled=False)


def _read_texts(path: str | Path, labelled: bool) -> list[dict]:
    from nlpkit.errors import InputError
    from nlpkit.io import iter_records, read_items

    records = []
    for location, record in iter_records(read_items([str(path)])):
        if not isinstance(record.get("text"), str) or (labelled and record.get("label") is None):
            raise InputError(location, "not a labelled record (needs a 'text' string and a 'label')" if labelled
                             else "not a text record (needs a 'text' string)")
        kept = {"id": record.get("id"), "text": record["text"]}
        if labelled:
            kept["label"] = str(record["label"])
        records.append(kept)
    return records


def balanced_subset(records: list[dict], n: int | None, seed: int) -> list[dict]:
    """A seeded subset of `n` records with the labels as balanced as they can be, in input order."""
    if n is None or n >= len(records):
        return list(records)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_label[r["label"]].append(i)
    labels = sorted(by_label)
    rng = random.Random(seed)
    chosen: list[int] = []
    # share out n as evenly as the classes allow (a small class gives its all, the rest go to the others)
    remaining, left = n, len(labels)
    for label in sorted(labels, key=lambda lab: len(by_label[lab])):
        take = min(len(by_label[label]), remaining // left)
        chosen += rng.sample(by_label[label], take)
        remaining -= take
        left -= 1
    return [records[i] for i in sorted(chosen)]


def split_validation(records: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """A seeded stratified slice of `records` for validation; the rest, shuffled with the seed, to train on."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_label[r["label"]].append(i)
    rng = random.Random(seed)
    valid_idx: set[int] = set()
    for label in sorted(by_label):
        idx = by_label[label]
        valid_idx.update(rng.sample(idx, max(1, round(len(idx) * fraction))))
    train = [r for i, r in enumerate(records) if i not in valid_idx]
    valid = [r for i, r in enumerate(records) if i in valid_idx]
    # the corpus is sorted by label; order-sensitive learners must not see all "pos" first
    rng.shuffle(train)
    return train, valid


def preprocess(records: list[dict]) -> list[dict]:
    from nlpkit.text import CleanStage, TokenizeStage

    cleaned = CleanStage(**PREPROCESSING["clean"])(records)
    return list(TokenizeStage(**PREPROCESSING["tokenize"])(cleaned))


def settings_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]

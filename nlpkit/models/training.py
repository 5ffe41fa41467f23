"""Training any registered model kind on labelled records: the core behind ``nlpkit train``.

Generic over the registry (nlpkit/models/__init__.py): a kind is chosen by
name, its parameters are checked against its ``__init__``, and the data are
read and validated here, once, for every kind. The validation data are either
a file or a seeded stratified slice of the training data; the test set never
enters.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.errors import InputError, NlpkitError, RecordError, UsageError
from nlpkit.io import iter_records, read_items
from nlpkit.records import model_input
from nlpkit.models.base import Classifier, fingerprint, model_class, save_model

DEFAULT_VALID_FRACTION = 0.1


class ParamError(UsageError):
    """A parameter the chosen kind does not take (a usage error)."""

    def __init__(self, kind: str, name: str):
        self.kind = kind
        self.name = name
        super().__init__(f"{name!r} does not apply to model kind {kind!r}")


def record_label(record: dict, label_field: str = "label") -> str:
    """The record's label as a string (whole numbers and booleans become their JSON text)."""
    if label_field not in record:
        raise RecordError(f"record has no {label_field!r} field (use --label-field to choose another)")
    label = record[label_field]
    if isinstance(label, bool):
        return "true" if label else "false"
    if isinstance(label, (str, int)):
        return str(label)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    raise RecordError(f"label field {label_field!r} holds {type(label).__name__} {label!r}, not a string")


def read_labelled(inputs: Iterable[str] | str, field: str = "text", label_field: str = "label") -> Iterator[tuple[str, dict, str]]:
    """(location, model input, label) for each record of `inputs`; a bad record raises InputError there."""
    if isinstance(inputs, (str, Path)):
        inputs = [str(inputs)]
    def read(record: dict) -> tuple[dict, str]:
        return model_input(record, field), record_label(record, label_field)

    for location, (model_record, label) in iter_records(read_items(list(inputs), field=field), read=read):
        yield location, model_record, label


@dataclass
class Dataset:
    """Labelled records in memory (models need them there), with where they came from."""

    source: str
    records: list[dict] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def subset(self, indices: Sequence[int], source: str) -> "Dataset":
        return Dataset(source, [self.records[i] for i in indices], [self.labels[i] for i in indices])


def load_dataset(path: str, field: str = "text", label_field: str = "label", need_classes: int = 2) -> Dataset:
    """Read a labelled file into memory, refusing an empty one or one with too few labels."""
    data = Dataset(path)
    for _, record, label in read_labelled(path, field, label_field):
        data.records.append(record)
        data.labels.append(label)
    if not data.records:
        raise InputError(path, "no records: cannot train or validate on an empty file")
    classes = sorted(set(data.labels))
    if len(classes) < need_classes:
        raise InputError(
            path,
            f"all {len(data):,} records have the label {classes[0]!r}: a classifier needs at least two labels",
        )
    return data


def stratified_split(labels: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded split of indices into (train, valid): `fraction` of each label goes to valid
    (at least one record of a label that has two or more, never all of them)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    valid: list[int] = []
    for label in sorted(by_label):
        indices = np.array(by_label[label])
        rng.shuffle(indices)
        n_valid = min(max(int(round(fraction * len(indices))), 1), len(indices) - 1)
        valid.extend(indices[:n_valid].tolist())
    valid_set = set(valid)
    return [i for i in range(len(labels)) if i not in valid_set], sorted(valid)


# --------------------------------------------------------------------------- parameters


def kind_parameters(kind: str) -> dict[str, inspect.Parameter]:
    """The ``__init__`` parameters of a model kind, by name."""
    signature = inspect.signature(model_class(kind).__init__)
    return {
        name: p
        for name, p in signature.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def build_model(kind: str, params: dict, seed: int | None = None) -> Classifier:
    """Instantiate `kind` with `params` (only names its ``__init__`` takes, else ParamError);
    `seed` fills the kind's ``seed`` parameter unless `params` sets it."""
    accepted = kind_parameters(kind)
    for name in params:
        if name not in accepted:
            raise ParamError(kind, name)
    params = dict(params)
    if seed is not None and "seed" in accepted:
        params.setdefault("seed", seed)
    try:
        return model_class(kind)(**params)
    except ValueError as e:  # a kind's own check of a parameter's value
        raise NlpkitError(f"--model {kind}: {e}") from None


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    model: Classifier
    metrics: dict
    n_train: int
    n_valid: int
    valid_source: str
    fit_seconds: float
    fingerprint: str


def train_model(
    kind: str,
    params: dict,
    train: str | Dataset,
    valid: str | Dataset | None = None,
    *,
    field: str = "text",
    label_field: str = "label",
    seed: int = 0,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    on_phase: Callable[[str], None] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Fit `kind` on `train` (a path or a Dataset) and score it on the validation data.

    Without `valid`, a seeded stratified `valid_fraction` of `train` is held out
    (and not fitted on); `valid_fraction=0` fits on everything and skips validation.
    `progress` lets a kind with a training loop show its progress on stderr.
    """
    from nlpkit.models.evaluation import classification_metrics

    say = on_phase or (lambda message: None)
    model = build_model(kind, params, seed)  # before reading: a bad parameter fails fast
    if hasattr(model, "show_progress"):
        model.show_progress = progress
    train_data = train if isinstance(train, Dataset) else None
    if train_data is None:
        say(f"reading {train}")
        train_data = load_dataset(train, field, label_field)
    if valid is not None:
        valid_data = valid if isinstance(valid, Dataset) else load_dataset(valid, field, label_field, need_classes=1)
        unknown = sorted(set(valid_data.labels) - set(train_data.labels))
        if unknown:
            raise InputError(valid_data.source, f"label(s) {', '.join(map(repr, unknown))} do not occur in the training data")
    elif valid_fraction > 0:
        train_idx, valid_idx = stratified_split(train_data.labels, valid_fraction, seed)
        valid_source = f"{train_data.source} (stratified {valid_fraction:g} slice, seed {seed})"
        train_data, valid_data = train_data.subset(train_idx, train_data.source), train_data.subset(valid_idx, valid_source)
    else:
        valid_data = None

    say(f"fitting on {len(train_data):,} records")
    started = time.perf_counter()
    model.fit(train_data.records, train_data.labels,
              valid=(valid_data.records, valid_data.labels) if valid_data is not None else None)
    fit_seconds = time.perf_counter() - started

    metrics: dict = {}
    if valid_data is not None:
        say(f"validating on {len(valid_data):,} records")
        metrics = classification_metrics(valid_data.labels, model.predict(valid_data.records), model.labels_)
    return TrainResult(
        model=model,
        metrics=metrics,
        n_train=len(train_data),
        n_valid=len(valid_data) if valid_data is not None else 0,
        valid_source=valid_data.source if valid_data is not None else "none",
        fit_seconds=fit_seconds,
        fingerprint=fingerprint(train_data.records, train_data.labels),
    )


def save_trained(result: TrainResult, directory: str | Path, *, field: str = "text", label_field: str = "label",
                 seed: int = 0) -> Path:
    """Write the model directory; the manifest records how the model was trained."""
    model = result.model
    return save_model(
        model,
        directory,
        metrics={"valid": result.metrics} if result.metrics else {},
        data_fingerprint=result.fingerprint,
        libraries=getattr(model, "libraries", ()),
        extra={
            "training": {
                "n_train": result.n_train,
                "n_valid": result.n_valid,
                "valid": result.valid_source,
                "field": field,
                "label_field": label_field,
                "seed": seed,
                "fit_seconds": round(result.fit_seconds, 3),
            }
        },
    )

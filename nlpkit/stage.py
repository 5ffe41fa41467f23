"""The Stage: one rung of the ladder as a record-to-record function.

A :class:`Stage` holds its parameters in ``__init__`` (plain, picklable values), heavy state (models,
taggers) loaded by :meth:`Stage.setup` once per process, and
:meth:`Stage.process` mapping a batch of records to the same number of
records. Stages never mutate the records they are given: they return new
dicts, so that a failed batch can be re-run record by record to find the bad
one.

Stages are built by name from the registry in :mod:`nlpkit.stages` and run over
files by :mod:`nlpkit.runner`; ``stage(records)`` runs one over records in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from nlpkit.records import Record


class Stage:
    """Base class: see the module docstring."""

    #: records per batch handed to :meth:`process`
    batch_size: int = 256
    #: the field `--format text` prints (None: tokens when present, else the text field)
    main_field: str | None = None
    #: GPUs each Ray worker of this stage asks for (--executor ray); a neural stage sets it,
    #: e.g. in __init__ from its --device, so that Ray schedules it on GPU workers
    num_gpus: float = 0
    #: True when the stage runs its own worker processes (spaCy's n_process): the runner
    #: then feeds it from one process instead of starting --jobs workers itself
    runs_own_workers: bool = False

    def setup(self) -> None:
        """Load models and data. Called once per process, before the first batch."""

    def process(self, records: list[Record]) -> list[Record]:
        """Return one new record per input record, in order.

        A stage that splits a record (``chunk``) returns an :class:`Expanded` list of
        records in its place (possibly empty); the runner writes them in order.
        """
        return [self.process_record(r) for r in records]

    def process_record(self, record: Record) -> Record:
        raise NotImplementedError

    # -- helpers for subclasses

    def ensure_setup(self) -> None:
        if not self.__dict__.get("_ready"):
            self.setup()
            self._ready = True

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        """Library use: ``for r in CleanStage()(records): ...`` (stops on the first bad record)."""
        self.ensure_setup()
        for batch in _chunks(records, self.batch_size):
            yield from flatten(self.process(batch))

    def __getstate__(self):
        # Loaded state (attributes starting with "_") stays behind: each process sets up its own.
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Expanded(list):
    """The records one input record became, returned by :meth:`Stage.process` in that record's place."""


def flatten(outputs: Iterable[Record | None]) -> list[Record]:
    """Records as they are written: each :class:`Expanded` in place of the one it stands for, None left out."""
    out: list[Record] = []
    for record in outputs:
        if isinstance(record, Expanded):
            out.extend(record)
        elif record is not None:
            out.append(record)
    return out


def expansion(outputs: list[Record]) -> list[int] | None:
    """How many records each output stands for (see :class:`Expanded`), or None when each is one."""
    if not any(isinstance(r, Expanded) for r in outputs):
        return None
    return [len(r) if isinstance(r, Expanded) else 1 for r in outputs]


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

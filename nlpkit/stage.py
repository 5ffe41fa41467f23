"""Stages and the runner that drives them over a record stream.

A :class:`Stage` is one rung of the ladder as a record-to-record function:
parameters in ``__init__`` (plain, picklable values), heavy state (models,
taggers) loaded by :meth:`Stage.setup` once per process, and
:meth:`Stage.process` mapping a batch of records to the same number of
records. Stages never mutate the records they are given: they return new
dicts, so that a failed batch can be re-run record by record to find the bad
one.

:func:`run` drives a stage over items from :mod:`nlpkit.io`: it batches, fans
batches out to ``jobs`` processes while keeping the input order, turns
per-record failures into ``FILE:LINE: problem`` errors (or skips them), and
writes results as they come, so memory stays bounded by a few batches.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from nlpkit.errors import InputError, RecordError
from nlpkit.io import BadInput, Item, Record, Writer, batched


class Stage:
    """Base class: see the module docstring."""

    #: records per batch handed to :meth:`process`
    batch_size: int = 256
    #: the field `--format text` prints (None: tokens when present, else the text field)
    main_field: str | None = None
    #: GPUs each Ray worker of this stage asks for (--executor ray); a neural stage sets it,
    #: e.g. in __init__ from its --device, so that Ray schedules it on GPU workers
    num_gpus: float = 0

    def setup(self) -> None:
        """Load models and data. Called once per process, before the first batch."""

    def process(self, records: list[Record]) -> list[Record]:
        """Return one new record per input record, in order."""
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
            yield from self.process(batch)

    def __getstate__(self):
        # Loaded state (attributes starting with "_") stays behind: each process sets up its own.
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------- running


@dataclass
class RunReport:
    """What a run did, for the summary line and for tests."""

    stage: str
    records_in: int = 0
    records_out: int = 0
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)  # "LOCATION: problem", the first few
    seconds: float = 0.0

    MAX_EXAMPLES = 20

    def skip(self, location: str, problem: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < self.MAX_EXAMPLES:
            self.skipped_examples.append(f"{location}: {problem}")


def process_batch(stage: Stage, records: list[Record]) -> tuple[list[Record | None], list[tuple[int, str]]]:
    """Run a stage on a batch; on a RecordError, isolate the bad records one by one.

    Returns the outputs (None where a record failed) and (index, problem) per failure.
    """
    stage.ensure_setup()
    try:
        return list(stage.process(records)), []
    except RecordError as e:
        if len(records) == 1:
            return [None], [(0, str(e))]
    outputs: list[Record | None] = []
    failures: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        try:
            outputs.extend(stage.process([record]))
        except RecordError as e:
            outputs.append(None)
            failures.append((i, str(e)))
    return outputs, failures


_worker_stage: Stage | None = None


def _init_worker(stage: Stage) -> None:
    global _worker_stage
    _worker_stage = stage


def _worker_process_batch(records: list[Record]):
    assert _worker_stage is not None
    return process_batch(_worker_stage, records)


def _pool_context():
    # fork starts workers fastest and shares the parent's imported modules; elsewhere spawn.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run(
    stage: Stage,
    items: Iterable[Item],
    writer: Writer,
    *,
    jobs: int = 1,
    on_error: str = "fail",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunReport:
    """Drive `stage` over `items`, writing to `writer`. See the module docstring.

    With ``on_error="fail"`` the first bad record raises :class:`InputError`
    (after everything before it has been written); with ``"skip"`` bad records
    are counted in the report and left out of the output.
    """
    report = RunReport(stage=type(stage).__name__)
    started = time.perf_counter()
    batches = batched(items, batch_size or stage.batch_size)

    def handle(batch: list[Item], result) -> None:
        outputs, failures = result
        failed = dict(failures)
        good: list[Record] = []
        for i, ((location, _), out) in enumerate(zip(batch, outputs)):
            if i in failed:
                if on_error == "skip":
                    report.skip(location, failed[i])
                    continue
                writer.write(good)
                raise InputError(location, failed[i])
            if out is not None:
                good.append(out)
        writer.write(good)
        report.records_out += len(good)

    def split_bad(batch: list[Item]) -> tuple[list[Item], InputError | None]:
        """Drop unreadable input lines before the stage sees the batch.

        With on_error="fail" the batch is cut at the first bad line, which is returned
        as an error to raise once the good lines before it are written.
        """
        kept: list[Item] = []
        for location, record in batch:
            report.records_in += 1
            if isinstance(record, BadInput):
                if on_error == "skip":
                    report.skip(location, record.problem)
                    continue
                return kept, InputError(location, record.problem)
            kept.append((location, record))
        return kept, None

    error: InputError | None = None
    if jobs <= 1:
        for batch in batches:
            kept, error = split_bad(batch)
            if kept:
                handle(kept, process_batch(stage, [r for _, r in kept]))
            if progress:
                progress(report.records_in)
            if error:
                break
    else:
        ctx = _pool_context()
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(stage,)) as pool:
            pending: deque = deque()
            # a sliding window of in-flight batches keeps memory bounded and order intact
            window = jobs * 2
            try:
                for batch in batches:
                    kept, error = split_bad(batch)
                    if kept:
                        records = [r for _, r in kept]
                        pending.append((kept, pool.apply_async(_worker_process_batch, (records,))))
                    while len(pending) >= window or (error and pending):
                        done_batch, result = pending.popleft()
                        handle(done_batch, result.get())
                        if progress:
                            progress(report.records_in)
                    if error:
                        break
                while pending:
                    done_batch, result = pending.popleft()
                    handle(done_batch, result.get())
                    if progress:
                        progress(report.records_in)
            except BaseException:
                pool.terminate()
                raise
    if error:
        writer.close()
        raise error
    writer.close()
    report.seconds = time.perf_counter() - started
    return report


def summary_line(report: RunReport) -> str:
    rate = report.records_in / report.seconds if report.seconds > 0 else 0.0
    line = f"{report.records_in:,} records in, {report.records_out:,} out in {report.seconds:.2f} s ({rate:,.0f} records/s)"
    if report.skipped:
        line += f"; skipped {report.skipped:,} bad record(s)"
    return line


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()

"""Run a stage (or a fused pipeline) over inputs to an output: the library entry point behind every stage command.

::

    from nlpkit.runner import RunOptions, run_stage
    from nlpkit.stages import build_stage

    stage = build_stage("tokenize", engine="regex")
    report = run_stage(stage, RunOptions(inputs=("reviews/",), output="tokens.jsonl.gz", jobs=2))

:func:`run_stage` reads the inputs (:mod:`nlpkit.io`), drives the stage batch by batch
(:func:`drive`: here, or in ``jobs`` worker processes with the input order kept, or on
Ray with ``executor="ray"``), and writes the output. Records in, records out without
files: ``stage(records)`` (see :class:`nlpkit.stage.Stage`).

What it promises (docs/reliability.md):

* ``-o FILE`` is written to a temporary name and renamed into place at the end, so a
  bad record, Ctrl-C or a kill leaves the old file whole. An output that is also an
  input is refused before anything is read (a usage error, exit 2).
* A bad record stops the run with ``FILE:LINE: problem`` (exit 1) after everything
  before it went to stdout; with ``on_error="skip"`` it is counted in the report.
* A worker process that dies ends the run at once with one line naming the stage and
  the batch (exit 1); Ctrl-C stops the workers quietly (exit 130 from the CLI).

The CLI (nlpkit/cli/_common.py) only turns flags into :class:`RunOptions`, shows
progress and prints the report: nothing here knows about click.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nlpkit import io
from nlpkit.errors import InputError, NlpkitError, OutputError, RecordError, UsageError, describe_os_error
from nlpkit.files import AtomicFile
from nlpkit.io import BadInput, Item, Record, Writer, batched
from nlpkit.params import FLAG, param
from nlpkit.records import Skipped
from nlpkit.stage import Stage, flatten

EXECUTORS = ("local", "ray")
# executors beyond this machine, as "module:function" imported when chosen (Ray builds on this
# module's RunOptions and process_batch, so the runner names it rather than importing it)
REMOTE_EXECUTORS = {"ray": "nlpkit.distributed:run_on_ray"}


@dataclass
class RunOptions:
    """How a run reads, executes and writes: the shared options of every stage command."""

    #: files, directories, globs or "-" (the command line's arguments, not an option)
    inputs: tuple[str, ...] = ()
    field: str = param("text", show_default=True, help="Record field that holds the text.")
    lines: bool = param(False, style=FLAG, help="Read plain-text files as one document per line (default: one per file).")
    input_format: str = param("auto", choices=("auto", *io.INPUT_FORMATS), show_default=True,
                              help="Input format; auto: *.jsonl(.gz) are records, stdin is sniffed, other files are text.")
    output: str = param("-", short=("-o",), path="any", dash=True, show_default=True,
                        help="Output file (.gz compresses); with --executor ray, a directory of JSONL shards.")
    output_format: str = param("jsonl", flag="--format", choices=tuple(io.OUTPUT_FORMATS), show_default=True,
                               help="jsonl records, or text: the main field per line (tokens space-joined).")
    jobs: int = param(1, short=("-j",), min=1, show_default=True, help="Worker processes (input order is kept).")
    on_error: str = param("fail", choices=("fail", "skip"), show_default=True, help="Stop at a bad record, or skip and count it.")
    batch_size: int | None = param(None, type=int, min=1, help="Records per batch (default: the stage's own).")
    # named --executor, not --engine: tokenize, lemmatize and tag use --engine for their NLP library
    executor: str = param("local", choices=EXECUTORS, show_default=True,
                          help="local: this machine (with --jobs); ray: a Ray cluster (see docs/scale.md).")
    address: str | None = param(None, metavar="ADDR",
                                help="Ray cluster to use with --executor ray (default: $RAY_ADDRESS, else a local Ray "
                                     "started for the run).")
    ordered: bool = param(False, style=FLAG, help="With --executor ray and no -o: stream records back to stdout in input order.")
    #: longest text a record may hold for the stages that check it (spaCy, NLTK); None: their
    #: default (1,000,000 characters, spaCy's own limit); 0: no limit (see nlpkit/limits.py)
    max_chars: int | None = param(None, type=int, min=0, metavar="N",
                                  help="Longest text a record may hold for the spaCy and NLTK stages; a longer one is a bad "
                                       "record (--on-error skip skips it). 0: no limit.  [default: 1,000,000, spaCy's limit]")


def option_names() -> tuple[str, ...]:
    """The RunOptions field names, in order (the CLI's shared options use the same names)."""
    return tuple(RunOptions.__dataclass_fields__)


@dataclass
class RunReport:
    """What a run did, for the summary line and for tests."""

    stage: str
    records_in: int = 0
    records_out: int = 0
    skipped: Skipped = field(default_factory=Skipped)
    seconds: float = 0.0

    def skip(self, location: str, problem: str) -> None:
        self.skipped.add(location, problem)


def summary_line(report: RunReport) -> str:
    rate = report.records_in / report.seconds if report.seconds > 0 else 0.0
    line = f"{report.records_in:,} records in, {report.records_out:,} out in {report.seconds:.2f} s ({rate:,.0f} records/s)"
    if report.skipped.count:
        line += f"; skipped {report.skipped.count:,} bad record(s)"
    return line


# --------------------------------------------------------------------------- one batch


def process_batch(stage: Stage, records: list[Record]) -> tuple[list[Record | None], list[tuple[int, str]]]:
    """Run a stage on a batch; on a RecordError, isolate the bad records one by one.

    Returns the outputs (None where a record failed) and (index, problem) per failure.
    The same code runs locally, in worker processes and on Ray workers.
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


# --------------------------------------------------------------------------- worker processes


def _worker_main(stage: Stage, conn) -> None:
    """A worker: batches in, (outputs, failures) out, over its own pipe, until told to stop (None)."""
    while True:
        try:
            records = conn.recv()
        except EOFError:  # the parent went away
            return
        if records is None:
            return
        conn.send(process_batch(stage, records))


def _pool_context():
    # fork starts workers fastest and shares the parent's imported modules; elsewhere spawn.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class WorkerDied(NlpkitError):
    """A worker process ended without answering (killed, out of memory)."""


class _Workers:
    """`jobs` processes, each with a pipe of its own and at most one batch at a time.

    No helper threads (concurrent.futures' pool has two, and when a worker is killed
    they can block the interpreter's exit): the parent waits on the pipes and on the
    processes' sentinels together, so a dead worker is seen at once.
    """

    def __init__(self, stage: Stage, jobs: int):
        ctx = _pool_context()
        self.processes = []
        self.conns = []
        # workers inherit SIGINT ignored: Ctrl-C reaches the whole process group, and the
        # parent alone turns it into one line (no traceback from each worker)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _ in range(jobs):
                parent_end, child_end = ctx.Pipe()
                process = ctx.Process(target=_worker_main, args=(stage, child_end), daemon=True)
                process.start()
                child_end.close()
                self.processes.append(process)
                self.conns.append(parent_end)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.busy: dict[int, int] = {}  # worker -> the sequence number of the batch it runs

    def idle(self) -> int | None:
        return next((w for w in range(len(self.conns)) if w not in self.busy), None)

    def send(self, worker: int, tag: int, records: list[Record]) -> None:
        try:
            self.conns[worker].send(records)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise WorkerDied(tag) from None
        self.busy[worker] = tag

    def receive(self) -> list[tuple[int, tuple]]:
        """Wait for at least one busy worker: [(tag, result)], or WorkerDied(tag)."""
        from multiprocessing.connection import wait

        by_handle = {}
        for w in self.busy:
            by_handle[self.conns[w]] = w
            by_handle[self.processes[w].sentinel] = w
        done = []
        for handle in wait(list(by_handle)):
            w = by_handle[handle]
            if w not in self.busy:
                continue
            if handle is self.conns[w]:
                try:
                    result = self.conns[w].recv()
                except (EOFError, ConnectionResetError):
                    raise WorkerDied(self.busy[w]) from None
                done.append((self.busy.pop(w), result))
            elif not self.conns[w].poll():  # ended, and no answer waiting
                raise WorkerDied(self.busy[w])
        return done

    def close(self, kill: bool = False) -> None:
        for conn, process in zip(self.conns, self.processes):
            if not kill:
                try:
                    conn.send(None)
                except OSError:
                    pass
            elif process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        for conn in self.conns:
            conn.close()


# --------------------------------------------------------------------------- driving a stage


def drive(
    stage: Stage,
    items: Iterable[Item],
    writer: Writer,
    *,
    name: str | None = None,
    jobs: int = 1,
    on_error: str = "fail",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunReport:
    """Drive `stage` over `items` (``(location, record)`` pairs), writing to `writer`.

    With ``on_error="fail"`` the first bad record raises :class:`InputError` after
    everything before it has been written; with ``"skip"`` bad records are counted in the
    report and left out of the output. Memory stays bounded by a few batches.
    """
    name = name or type(stage).__name__
    report = RunReport(stage=name)
    started = time.perf_counter()
    batches = batched(items, batch_size or stage.batch_size)

    def write(records: list[Record]) -> None:
        try:
            writer.write(records)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(f"{e.strerror or e} (after {report.records_out:,} records)") from None

    def handle(batch: list[tuple[str, Record]], result) -> None:
        outputs, failures = result
        failed = dict(failures)
        good: list[Record] = []
        for i, ((location, _), out) in enumerate(zip(batch, outputs)):
            if i in failed:
                if on_error == "skip":
                    report.skip(location, failed[i])
                    continue
                write(good)
                report.records_out += len(good)
                raise InputError(location, failed[i])
            if out is not None:
                good.extend(flatten([out]))
        write(good)
        report.records_out += len(good)

    def split_bad(batch: list[Item]) -> tuple[list[tuple[str, Record]], InputError | None]:
        """Drop unreadable input lines before the stage sees the batch.

        With on_error="fail" the batch is cut at the first bad line, which is returned
        as an error to raise once the good lines before it are written.
        """
        kept: list[tuple[str, Record]] = []
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
        error = _drive_in_workers(stage, batches, name, jobs, split_bad, handle, lambda: progress and progress(report.records_in))
    # flushed before the error too: on stdout, what was written reaches the reader before the error line
    writer.close()
    if error:
        raise error
    report.seconds = time.perf_counter() - started
    return report


def _drive_in_workers(stage, batches, name, jobs, split_bad, handle, tick) -> InputError | None:
    """Batches to `jobs` processes, one each at a time; results written in input order."""
    workers = _Workers(stage, jobs)
    done: dict[int, tuple] = {}  # sequence number -> result, until its turn to be written
    batch_of: dict[int, list[tuple[str, Record]]] = {}
    sent = written = 0
    error = None

    def write_ready() -> None:
        nonlocal written
        while written in done:
            handle(batch_of.pop(written), done.pop(written))
            written += 1
            tick()

    try:
        for batch in batches:
            kept, error = split_bad(batch)
            if kept:
                while (worker := workers.idle()) is None:
                    done.update(workers.receive())
                    write_ready()
                batch_of[sent] = kept
                workers.send(worker, sent, [r for _, r in kept])
                sent += 1
            if error:
                break
        while written < sent:
            done.update(workers.receive())
            write_ready()
    except WorkerDied as e:
        workers.close(kill=True)
        first = batch_of[e.args[0]][0][0]
        raise NlpkitError(
            f"{name}: a worker process died (killed, or out of memory) while running the batch "
            f"that starts at {first}; nothing after the previous batch was written"
        ) from None
    except BaseException:
        workers.close(kill=True)
        raise
    workers.close()
    return error


# --------------------------------------------------------------------------- a whole run


def refuse_output_as_input(options: RunOptions) -> None:
    """An output that is also an input would be emptied before it is read: refuse it first."""
    if options.output in (None, "-") or not os.path.exists(options.output):
        return
    for path in io.expand_inputs(options.inputs or ("-",)):
        if path != "-" and os.path.exists(path) and os.path.samefile(path, options.output):
            raise UsageError(f"-o {options.output} is also an input: write to another file (and rename it after)")


def set_max_chars(stage: Stage, max_chars: int | None) -> None:
    """Give every stage that checks text lengths (a `max_chars` attribute) the run's limit."""
    if max_chars is None:
        return
    for part in [sub for _, sub in getattr(stage, "stages", [])] or [stage]:
        if hasattr(part, "max_chars"):
            part.max_chars = max_chars or None


def check_options(options: RunOptions) -> None:
    if options.executor not in EXECUTORS:
        raise UsageError(f"unknown executor {options.executor!r} (choose from {', '.join(EXECUTORS)})")
    if options.executor == "local":
        if options.address:
            raise UsageError("--address names a Ray cluster: add --executor ray")
        if options.output not in (None, "-") and os.path.isdir(options.output):
            raise UsageError(f"-o {options.output} is a directory (a directory of shards is for --executor ray)")
        refuse_output_as_input(options)


def run_stage(
    stage: Stage,
    options: RunOptions,
    *,
    name: str = "stage",
    progress: Callable[[int], None] | None = None,
    debug: bool = False,
    writer_factory: Callable[..., Writer] | None = None,
    items: Iterable[Item] | None = None,
) -> RunReport:
    """Read the inputs, run the stage (here, in worker processes, or on Ray), write the output.

    `writer_factory(stream, field=..., main_field=...)` replaces the output format's writer
    (``embed docvec --npy`` writes an array, not records). `items` replaces the inputs
    (``search --query TEXT``: records made from the command line), run here.
    """
    check_options(options)
    set_max_chars(stage, options.max_chars)
    if options.executor in REMOTE_EXECUTORS and items is None:
        from nlpkit.registry import resolve

        run_remotely = resolve(REMOTE_EXECUTORS[options.executor])
        return run_remotely(stage, options, name=name, progress=progress, debug=debug)
    if items is None:
        items = io.read_items(options.inputs, field=options.field, lines=options.lines, input_format=options.input_format)
    # a stage with a worker pool of its own (spaCy's n_process) is fed by one process
    jobs = 1 if stage.runs_own_workers else options.jobs

    def run_to(stream) -> RunReport:
        if writer_factory is not None:
            writer = writer_factory(stream, field=options.field, main_field=stage.main_field)
        else:
            writer = io.make_writer(options.output_format, stream, field=options.field, main_field=stage.main_field)
        return drive(stage, items, writer, name=name, jobs=jobs, on_error=options.on_error,
                     batch_size=options.batch_size, progress=progress)

    if options.output in (None, "-"):
        stdout = _stdout()
        try:
            return run_to(stdout)
        except OutputError as e:
            raise OutputError(f"stdout: {e}") from None
    try:
        with AtomicFile(options.output) as stream:
            return run_to(stream)
    except OutputError as e:
        raise OutputError(f"-o {options.output}: {e}") from None
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        reason = describe_os_error(e).rsplit(": ", 1)[-1] if e.filename is not None else (e.strerror or str(e))
        raise OutputError(f"-o {options.output}: {reason}") from None


def _stdout():
    stream = io.open_output("-") if _has_stdout() else None
    if stream is None:
        raise OutputError("stdout is closed: give -o FILE, or leave stdout open")
    return stream


def _has_stdout() -> bool:
    import sys

    return sys.stdout is not None

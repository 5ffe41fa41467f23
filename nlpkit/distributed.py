"""`--executor ray`: a stage, or a fused pipeline, as one Ray Data job.

The job is nlpkit's own stdin -> stage -> stdout contract, distributed::

    read_datasource(input files) -> map_batches(stage worker) [-> map_batches(GPU stage worker)] -> shards

* Reading uses nlpkit's readers (:mod:`nlpkit.io`), so ids, locations and bad lines are
  exactly those of a local run. Files are grouped (in input order) into read tasks; each
  task cuts its records into *chunks* of a batch, and every chunk is one row that carries
  its records as JSON Lines bytes. Records never pass through Arrow columns, so nested
  fields come out as they went in.
* A chunk's key is ``GROUP-CHUNK`` (zero-padded), fixed by the inputs alone. The last map
  step writes each chunk to ``-o DIR/part-GROUP-CHUNK.jsonl`` (a temporary name, then a
  rename). When a worker dies, Ray restarts it and retries the task, which writes the same
  file again: no record is lost and none is written twice. Sorted shard names are the
  input order.
* Stages run in actors (``ActorPoolStrategy``): ``setup()`` loads a model once per
  worker, then every chunk goes through :func:`nlpkit.runner.process_batch`, the same code
  as local runs, so per-record errors are isolated and skipped (or reported) the same way.
  Consecutive stages that ask for the same GPUs (``Stage.num_gpus``) share one map step;
  a GPU stage gets its own, with ``num_gpus``, so CPU and GPU stages run in one job.
* The driver reads back only small per-chunk rows (counts, failures, per-stage time),
  unless the output is stdout: then the chunks' output bytes come back, in input order
  with ``--ordered``.
"""

from __future__ import annotations

import contextlib
import io as _io
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nlpkit import io
from nlpkit.errors import InputError, NlpkitError, ResourceMissing, UsageError
from nlpkit.runner import RunOptions, RunReport, process_batch
from nlpkit.stage import Stage, flatten

RAY_INSTALL = "pip install 'nlpkit[ray]'"
SUCCESS_MARKER = "_SUCCESS"
SKIPPED_FILE = "_skipped.jsonl"
CONNECT_TIMEOUT_S = 5.0
GCS_TIMEOUT_S = 10.0
# a read task covers consecutive files up to this many bytes or files (shard names depend on it)
GROUP_BYTES = 32 << 20
GROUP_FILES = 512
SHARD_SUFFIX = {"jsonl": ".jsonl", "text": ".txt"}


@dataclass
class RayRunReport(RunReport):
    """A RunReport plus what only a distributed run has."""

    stage_seconds: dict[str, float] = field(default_factory=dict)  # summed over workers
    startup_seconds: float = 0.0  # starting or joining Ray
    shards: int = 0
    workers: int = 0
    skipped_records: list[dict] = field(default_factory=list)  # every skipped record: location, id, problem
    output_dir: str | None = None

    def notes(self) -> list[str]:
        """Lines for the summary beyond records and throughput."""
        where = f"{self.shards:,} shard(s) in {self.output_dir}" if self.output_dir else "output to stdout"
        return [f"Ray start-up {self.startup_seconds:.2f} s, up to {self.workers} worker(s), {where}"]


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ResourceMissing(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL}") from None
    return ray


# --------------------------------------------------------------------------- connecting


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, in one line, when nothing listens at HOST:PORT (ray.init would wait a minute)."""
    target = address.split("://", 1)[1] if "://" in address else address
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise NlpkitError(f"--address {address!r}: expected HOST:PORT (for example 127.0.0.1:6379) or ray://HOST:PORT")
    hint = "(start one with `ray start --head`, or leave out --address to start a local Ray for this run)"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e)).lower()
        raise NlpkitError(f"cannot reach a Ray cluster at {address}: {reason} {hint}") from None
    if "://" not in address:
        problem = _gcs_problem(address, GCS_TIMEOUT_S)
        if problem:
            raise NlpkitError(f"{address} is not a Ray cluster: {problem} {hint}")


def _gcs_problem(address: str, timeout: float) -> str | None:
    """Ask the GCS at `address` for its cluster id: None if it answers, else what went wrong.

    ray.init retries a silent port for minutes, and Ray's GCS client cannot be given a
    deadline, so the question runs in a daemon thread that is abandoned when late.
    """
    import threading

    import ray._raylet

    answer: dict[str, Any] = {}

    def ask():
        try:
            answer["cluster_id"] = ray._raylet.GcsClient(address=address).cluster_id
        except Exception as e:  # noqa: BLE001 - any failure means "not a GCS"
            answer["error"] = e

    thread = threading.Thread(target=ask, name="nlpkit-gcs-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if "cluster_id" in answer:
        return None
    if "error" in answer:
        lines = str(answer["error"]).strip().splitlines()
        return f"its GCS did not answer ({lines[0] if lines else type(answer['error']).__name__})"
    return f"no GCS reply within {timeout:.0f} s"


@contextmanager
def ray_session(address: str | None = None, *, quiet: bool = True, debug: bool = False) -> Iterator[float]:
    """Join the cluster at `address` ($RAY_ADDRESS, else a new local Ray), yield the start-up seconds.

    A Ray already initialized in this process (a notebook, a test) is used as it is and
    left running; one started here is shut down at the end. Unless `debug`, Ray's native
    log lines, which it writes straight to the stderr file descriptor, go to a log file.
    """
    ray = import_ray()
    if ray.is_initialized():
        with _native_stderr(debug):
            current = ray.get_runtime_context().gcs_address
            if address and address not in ("local", "auto") and address.split("://")[-1] != current:
                check_reachable(address)
                raise NlpkitError(f"this process is already connected to the Ray cluster at {current}, not {address}")
            yield 0.0
        return
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    options: dict[str, Any] = {"logging_level": logging.WARNING if quiet else logging.INFO, "log_to_driver": debug}
    if address == "local":
        options["include_dashboard"] = False
    with _native_stderr(debug):
        started = time.perf_counter()
        if address not in ("local", "auto"):
            check_reachable(address)
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as e:
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise NlpkitError(f"cannot connect to the Ray cluster at {address}: {message}") from None
        try:
            yield time.perf_counter() - started
        finally:
            ray.shutdown()


_real_stderr = None


@contextmanager
def _native_stderr(debug: bool):
    """Point file descriptor 2 away while Ray runs (its C++ core writes log lines there, unasked).

    Python's sys.stderr keeps going to the real stderr, so progress and errors still show.
    """
    global _real_stderr
    try:
        fd_is_stderr = sys.stderr.fileno() == 2
    except (AttributeError, ValueError, OSError):
        fd_is_stderr = False  # stderr captured in Python (tests): fd 2 is not what the user sees
    if debug:
        yield
        return
    import tempfile

    log_path = os.path.join(tempfile.gettempdir(), f"nlpkit-ray-{os.getpid()}.log")
    sys.stderr.flush()
    saved = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    previous = sys.stderr
    if fd_is_stderr:
        if _real_stderr is None:  # one handle for the process: Ray's log handlers keep the one they saw
            _real_stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
        sys.stderr = _real_stderr
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = previous
        # Ray keeps its own logs in its session directory; --debug shows these lines live
        with contextlib.suppress(OSError):
            os.remove(log_path)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _InputFile:
    path: str
    fmt: str
    reader: Callable  # the driver's reader, pickled by reference: formats registered there work on workers
    size: int


def plan_inputs(inputs: tuple[str, ...], input_format: str) -> list[_InputFile]:
    """The input files in input order, each with its reader. Ray reads files, not stdin."""
    files = []
    for path in io.expand_inputs(inputs or ("-",)):
        if path == "-":
            raise UsageError("--executor ray reads files and directories, not stdin: name the inputs, or use --executor local")
        fmt = io.format_for_path(path) if input_format == "auto" else input_format
        if fmt not in io.INPUT_FORMATS:
            raise InputError(None, f"unknown input format {fmt!r}")
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise InputError(path, e.strerror or str(e)) from None
        files.append(_InputFile(path, fmt, io.input_reader(fmt), size))
    return files


def group_files(files: list[_InputFile]) -> list[list[_InputFile]]:
    """Consecutive files, at most GROUP_BYTES or GROUP_FILES a group: one read task each."""
    groups: list[list[_InputFile]] = []
    size = 0
    for f in files:
        if not groups or size + f.size > GROUP_BYTES or len(groups[-1]) >= GROUP_FILES:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += f.size
    return groups


def _chunk_row(key: str, batch: list[io.Item]) -> dict[str, Any]:
    good, locations, failures = [], [], []
    for location, record in batch:
        if isinstance(record, io.BadInput):
            failures.append([location, None, record.problem])
        else:
            good.append(record)
            locations.append(location)
    return {
        "key": key,
        "records": b"".join(io.dumps(r) + b"\n" for r in good),
        "locations": io.dumps(locations),
        "failures": io.dumps(failures),
        "records_in": len(batch),
        "records_out": len(good),
        "stage_seconds": b"{}",
    }


def _read_group(group_index: int, files: list[_InputFile], field: str, lines: bool, chunk_size: int):
    import pyarrow as pa

    def items():
        for f in files:
            io.INPUT_FORMATS.setdefault(f.fmt, f.reader)  # a format registered on the driver only
            yield from io.read_items([f.path], field=field, lines=lines, input_format=f.fmt)

    for chunk_index, batch in enumerate(io.batched(items(), chunk_size)):
        row = _chunk_row(f"{group_index:06d}-{chunk_index:06d}", batch)
        yield pa.Table.from_pylist([row], schema=_SCHEMA())


def _SCHEMA():
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("records", pa.large_binary()),
            ("locations", pa.large_binary()),
            ("failures", pa.large_binary()),
            ("records_in", pa.int64()),
            ("records_out", pa.int64()),
            ("stage_seconds", pa.binary()),
        ]
    )


def make_datasource(files: list[_InputFile], field: str, lines: bool, chunk_size: int):
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class NlpkitFiles(Datasource):
        """nlpkit's inputs (files, read by nlpkit's readers) as a Ray dataset of chunks."""

        def estimate_inmemory_data_size(self):
            return sum(f.size for f in files)

        def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            tasks = []
            for i, group in enumerate(group_files(files)):
                metadata = BlockMetadata(
                    num_rows=None, size_bytes=sum(f.size for f in group), input_files=[f.path for f in group], exec_stats=None
                )
                tasks.append(ReadTask(_ReadGroup(i, group, field, lines, chunk_size), metadata))
            return tasks

    return NlpkitFiles()


class _ReadGroup:
    """A picklable read function (a closure over a local class would not pickle)."""

    def __init__(self, *args):
        self.args = args

    def __call__(self):
        return _read_group(*self.args)


# --------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class ShardSink:
    """Where the last map step puts each chunk's output: files in `directory`, or back to the driver."""

    directory: str | None
    output_format: str
    writer: type  # io.OUTPUT_FORMATS[output_format], pickled by reference
    field: str
    main_field: str | None


class StageWorker:
    """One Ray actor: a (fused) stage set up once, then chunk after chunk."""

    def __init__(self, stage: Stage, sink: ShardSink | None):
        self.stage = stage
        self.sink = sink

    def __call__(self, batch) -> dict[str, list]:
        rows = batch.to_pylist()
        out: dict[str, list] = {name: [] for name in _SCHEMA().names}
        for row in rows:
            for name, value in self.process_row(row).items():
                out[name].append(value)
        return out

    def process_row(self, row: dict) -> dict:
        records = [io.loads(line) for line in row["records"].splitlines()]
        locations = io.loads(row["locations"])
        failures = io.loads(row["failures"])
        before = dict(getattr(self.stage, "stage_seconds", {}) or {})
        outputs, failed = process_batch(self.stage, records)
        after = getattr(self.stage, "stage_seconds", {}) or {}
        seconds = {**io.loads(row["stage_seconds"])}
        for name, total in after.items():
            seconds[name] = seconds.get(name, 0.0) + total - before.get(name, 0.0)
        failed_at = dict(failed)
        good, good_locations = [], []
        for i, (record, output) in enumerate(zip(records, outputs)):
            if i in failed_at:
                failures.append([locations[i], record.get("id"), failed_at[i]])
            elif output is not None:
                passages = flatten([output])  # a chunked record is several
                good.extend(passages)
                good_locations.extend([locations[i]] * len(passages))
        if self.sink is None:  # a later map step takes the records as they are
            payload = b"".join(io.dumps(r) + b"\n" for r in good)
        else:
            payload = self.write(row["key"], good)
        return {
            "key": row["key"],
            "records": payload,
            "locations": io.dumps(good_locations),
            "failures": io.dumps(failures),
            "records_in": row["records_in"],
            "records_out": len(good),
            "stage_seconds": io.dumps(seconds),
        }

    def write(self, key: str, records: list[dict]) -> bytes:
        """The chunk in the output format: to its shard file (returns b""), or as bytes for the driver."""
        sink = self.sink
        buffer = _io.BytesIO()
        writer = sink.writer(buffer, field=sink.field, main_field=sink.main_field)
        writer.write(records)
        writer.close()
        if sink.directory is None:
            return buffer.getvalue()
        if records:
            name = f"part-{key}{SHARD_SUFFIX.get(sink.output_format, '.' + sink.output_format)}"
            final = os.path.join(sink.directory, name)
            temporary = os.path.join(sink.directory, f".{name}.{uuid.uuid4().hex}.tmp")
            with open(temporary, "wb") as f:
                f.write(buffer.getvalue())
            # rename is atomic: a retried task replaces the shard whole, never appends to it
            os.replace(temporary, final)
        return b""


# --------------------------------------------------------------------------- the driver


def _prepare_output_dir(path: str) -> None:
    if os.path.isfile(path):
        raise NlpkitError(f"-o {path}: is a file; with --executor ray, -o names a directory for the shards")
    if os.path.isdir(path) and any(not name.startswith(".") for name in os.listdir(path)):
        raise NlpkitError(f"-o {path}: directory is not empty (choose a new one, or remove it first)")
    os.makedirs(path, exist_ok=True)


def _cluster_slots(ray, num_gpus: float) -> int:
    resources = ray.cluster_resources()
    if num_gpus > 0:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    return max(1, int(resources.get("CPU", 1)))


def _quiet_ray_data(quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.WARNING
    for name in ("ray.data", "ray.data._internal"):
        logging.getLogger(name).setLevel(level)


def _unwrap(error: BaseException) -> NlpkitError | None:
    """The NlpkitError (bad input, missing model) under Ray's wrappers, if there is one."""
    seen = set()
    stack = [error]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NlpkitError):
            return e
        stack.extend([getattr(e, "cause", None), e.__cause__, e.__context__])
    return None


def run_on_ray(
    stage: Stage,
    stream: RunOptions,
    *,
    name: str = "stage",
    progress: Callable[[int], None] | None = None,
    debug: bool = False,
) -> RayRunReport:
    """Run `stage` (a Stage or a Pipeline) over the inputs named in `stream` as one Ray Data job.

    `stream` holds the run's :class:`~nlpkit.runner.RunOptions`. With ``-o DIR`` the output is
    JSONL shards in DIR (plus ``_SUCCESS`` at the end, and ``_skipped.jsonl`` listing the
    records skipped with ``--on-error skip``); without, records go to stdout (in input
    order with ``--ordered``).
    """
    from nlpkit.pipeline import Pipeline

    started = time.perf_counter()
    files = plan_inputs(tuple(stream.inputs), stream.input_format)
    to_dir = stream.output not in (None, "-")
    if to_dir:
        _prepare_output_dir(stream.output)
    pipeline = stage if isinstance(stage, Pipeline) else Pipeline([(name, stage)])
    segments = pipeline.split()
    chunk_size = stream.batch_size or pipeline.batch_size
    report = RayRunReport(stage=name, output_dir=stream.output if to_dir else None)
    sink = ShardSink(
        directory=os.path.abspath(stream.output) if to_dir else None,
        output_format=stream.output_format,
        writer=type(io.make_writer(stream.output_format, _io.BytesIO())),
        field=stream.field,
        main_field=pipeline.main_field,
    )
    quiet = progress is None
    debug = debug or os.environ.get("NLPKIT_DEBUG") == "1"
    ray = import_ray()
    with ray_session(stream.address, quiet=quiet, debug=debug) as startup:
        report.startup_seconds = startup
        if not files:
            report.seconds = time.perf_counter() - started
            _finish(report, stream, to_dir)
            return report
        from ray.data import ActorPoolStrategy, DataContext

        _quiet_ray_data(quiet)
        context = DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = not quiet
        context.execution_options.preserve_order = bool(stream.ordered) and not to_dir
        dataset = ray.data.read_datasource(
            make_datasource(files, stream.field, stream.lines, chunk_size),
            # reading is light next to the stages: it takes no CPU slot, so that actors
            # holding every CPU cannot starve it, and a few readers at a time suffice
            num_cpus=0,
            concurrency=max(1, _cluster_slots(ray, 0) // 4),
        )
        # start as many workers as there is work for (a guess: about 1 kB a record), up to the slots
        expected_chunks = max(1, sum(f.size for f in files) // (chunk_size * 1000))
        for i, segment in enumerate(segments):
            slots = _cluster_slots(ray, segment.num_gpus)
            initial = min(slots, expected_chunks)
            report.workers = max(report.workers, slots)
            dataset = dataset.map_batches(
                StageWorker,
                fn_constructor_args=(segment, sink if i == len(segments) - 1 else None),
                batch_size=1,  # a row is a whole chunk (Ray wants a batch size when GPUs are asked for)
                batch_format="pyarrow",
                compute=ActorPoolStrategy(min_size=1, max_size=slots, initial_size=initial),
                num_cpus=1,
                num_gpus=segment.num_gpus or None,
            )
        try:
            _drive(dataset, report, stream, progress, to_dir)
        except NlpkitError:
            raise
        except Exception as e:
            cause = _unwrap(e)
            if cause is not None:
                raise cause from None
            raise
    report.seconds = time.perf_counter() - started
    _finish(report, stream, to_dir)
    return report


def _drive(dataset, report: RayRunReport, stream, progress, to_dir: bool) -> None:
    """Consume the job's rows: write stdout output, add up counts, stop at a failure unless skipping."""
    out = None if to_dir else io.open_output("-")
    for row in dataset.iter_rows():
        report.records_in += row["records_in"]
        for stage_name, seconds in io.loads(row["stage_seconds"]).items():
            report.stage_seconds[stage_name] = report.stage_seconds.get(stage_name, 0.0) + seconds
        # unreadable lines were noted when read, failing records later: put them back in input order
        failures = sorted(io.loads(row["failures"]), key=lambda f: _location_order(f[0]))
        if failures and stream.on_error != "skip":
            location, _, problem = failures[0]
            raise InputError(location, problem)
        for location, record_id, problem in failures:
            report.skip(location, problem)
            report.skipped_records.append({"location": location, "id": record_id, "problem": problem})
        report.records_out += row["records_out"]
        if to_dir:
            report.shards += 1 if row["records_out"] else 0
        else:
            out.write(row["records"])
        if progress:
            progress(report.records_in)
    if out is not None:
        out.flush()


def _location_order(location: str):
    path, _, line = location.rpartition(":")
    return (path, int(line)) if line.isdigit() else (location, 0)


def _finish(report: RayRunReport, stream, to_dir: bool) -> None:
    if not to_dir:
        return
    if report.skipped_records:
        with open(os.path.join(stream.output, SKIPPED_FILE), "wb") as f:
            f.write(b"".join(io.dumps(r) + b"\n" for r in report.skipped_records))
    # written last: its presence says every shard is complete
    with open(os.path.join(stream.output, SUCCESS_MARKER), "wb"):
        pass

"""Errors that reach the user as one line and an exit code (docs/architecture.md, "Errors and exit codes")."""

from __future__ import annotations

import errno
import os


class NlpkitError(Exception):
    """An error the user can act on: printed as one line, exit code 1, no traceback."""

    exit_code = 1


class InputError(NlpkitError):
    """Bad input at a known place: `FILE:LINE: problem`."""

    def __init__(self, location: str | None, problem: str):
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}" if location else problem)


class MissingInput(InputError):
    """An input named on the command line does not exist: exit 2, as click's own check of --train FILE."""

    exit_code = 2


class RecordError(NlpkitError):
    """A stage could not process one record (missing field, wrong type, ...).

    Raised inside a stage; the runner adds the record's location, and with
    `--on-error skip` counts it instead of stopping.
    """


class UsageError(NlpkitError):
    """Options that do not fit together, or a pipeline that cannot be built: exit 2, as click's usage errors."""

    exit_code = 2


class OutputError(NlpkitError):
    """The output cannot be written (disk full, closed stdout, no permission): the path and how far it got."""


class ResourceMissing(NlpkitError):
    """A model or data package is not installed; the message says how to get it."""


class DamagedFile(NlpkitError):
    """A file nlpkit wrote (a model's weights, a manifest, a checkpoint) that is cut, changed or unreadable."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def describe_os_error(e: OSError) -> str:
    """One line for an OSError the system raised: the path(s) it concerns and its reason.

    Disk full, permission denied, a directory under a regular file: the system refused,
    nlpkit has no bug, so the command ends with this line and exit 1.
    """
    reason = e.strerror or str(e) or type(e).__name__
    if isinstance(e, FileExistsError) and e.filename is not None and os.path.isfile(e.filename):
        reason = "a file is in the way of a directory of that name"  # `-o FILE/sub`: mkdir's bare "File exists"
    if e.filename is None:
        # a write that names no file is stdout's (nlpkit's own files are named, see nlpkit.files)
        return f"cannot write the output: {reason}" if e.errno in _WRITE_ERRNOS else reason
    where = os.fsdecode(e.filename) if isinstance(e.filename, (str, bytes, os.PathLike)) else str(e.filename)
    if e.filename2 is not None:
        where += f" -> {os.fsdecode(e.filename2)}"
    return f"{where}: {reason}"

"""Errors that reach the user as one line and an exit code (DESIGN.md, "Errors")."""

from __future__ import annotations


class NlpkitError(Exception):
    """An error the user can act on: printed as one line, exit code 1, no traceback."""

    exit_code = 1


class InputError(NlpkitError):
    """Bad input at a known place: `FILE:LINE: problem`."""

    def __init__(self, location: str | None, problem: str):
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}" if location else problem)


class RecordError(NlpkitError):
    """A stage could not process one record (missing field, wrong type, ...).

    Raised inside a stage; the runner adds the record's location, and with
    `--on-error skip` counts it instead of stopping.
    """


class ResourceMissing(NlpkitError):
    """A model or data package is not installed; the message says how to get it."""

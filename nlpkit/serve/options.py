"""`nlpkit serve`'s declared parameters (nlpkit.params): what /v1/run may use beside the models, and
the bounds on every request's time. Light to import: the CLI derives its options from here."""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.params import param

REQUEST_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 10.0


@dataclass
class ServeOptions:
    vectors: tuple[str, ...] = param((), multiple=True, reads_disk=True, metavar="[NAME=]PATH",
                                     help="Word vectors /v1/run's `embed docvec --vectors NAME` may use (repeat for several).")
    request_timeout: float = param(REQUEST_TIMEOUT_S, min=0, min_open=True, show_default=True,
                                   help="Seconds a request may run; then its work is stopped and it is answered 504.")
    read_timeout: float = param(READ_TIMEOUT_S, min=0, min_open=True, show_default=True,
                                help="Seconds a client has to send a request's head and body; then the connection is closed.")

"""Running the app on uvicorn: the socket bound first, a read deadline per request, workers.

- :func:`listen` binds the address before any model is loaded: a port in use is one
  ``Error:`` line (exit 1, the system refused), not uvicorn's log line and exit 3.
- :class:`ReadDeadline` is uvicorn's h11 protocol with one more timer: a client has
  ``read_timeout`` seconds, from the connection (or from the answer to its previous
  request), to send a request's head and body. A client that sends half a request and
  waits (a slow-loris) is disconnected then, and the app sees the client gone.
- :func:`run` serves on that socket, in this process or in ``workers`` processes; a worker
  that fails before serving ends the server rather than being restarted for ever.

Imported by the CLI layer only when a server starts (it imports uvicorn).
"""

from __future__ import annotations

import errno
import logging
import socket

import h11
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol

from nlpkit.errors import NlpkitError

from nlpkit.serve.options import READ_TIMEOUT_S
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this (uvicorn's default)
BACKLOG = 2048

log = logging.getLogger("uvicorn.error")


class ListenError(NlpkitError):
    """The address cannot be listened on (in use, not ours, not an address): the system refused, exit 1."""


class WorkerFailed(NlpkitError):
    """A --workers process failed before it served (its own line is already on stderr)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (``port`` 0: any free port), inheritable by worker processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            reason = "the address is already in use (is another server running? choose another --port)"
        elif e.errno == errno.EACCES:
            reason = "permission denied (ports below 1024 need privileges; choose another --port)"
        else:
            reason = e.strerror or str(e)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
    except (socket.gaierror, UnicodeError, OverflowError) as e:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {getattr(e, 'strerror', None) or e}") from None
    sock.set_inheritable(True)
    return sock


class ServerConfig(uvicorn.Config):
    """uvicorn's Config with the read deadline (pickled as it is to --workers processes)."""

    def __init__(self, app, *, read_timeout: float = READ_TIMEOUT_S, **options):
        super().__init__(app, **options)
        self.read_timeout = read_timeout


class ReadDeadline(H11Protocol):
    """h11, with a deadline for reading each request (head and body); see the module's doc."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.read_timeout = getattr(config, "read_timeout", READ_TIMEOUT_S)
        self._read_timer = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if not self._reading():
            self._disarm()  # the whole request is in (or the connection is over)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection (or the rest of a refused body)

    def _reading(self) -> bool:
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _too_slow(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or not self._reading():
            return
        if self.conn.their_state is h11.IDLE and self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined request waits for the one being answered: not the client's delay
        self.transport.close()  # connection_lost: a request being read sees the client gone


def run(app, sock: socket.socket, *, workers: int = 1, read_timeout: float = READ_TIMEOUT_S,
        graceful_timeout: float | None = None, log_config: dict | None = None) -> None:
    """Serve `app` (an ASGI app, or with workers > 1 the import string of a factory) on `sock`."""
    from uvicorn.supervisors import Multiprocess

    config = ServerConfig(app, read_timeout=read_timeout, workers=workers, factory=isinstance(app, str),
                          http=ReadDeadline, log_config=log_config, access_log=False, backlog=BACKLOG,
                          timeout_keep_alive=KEEP_ALIVE_S,
                          timeout_graceful_shutdown=None if graceful_timeout is None else int(graceful_timeout + 0.999))
    host, port = sock.getsockname()[:2]
    log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", f"[{host}]" if ":" in host else host, port)
    if workers == 1:
        uvicorn.Server(config).run(sockets=[sock])
        return
    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    if any(p.process.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise WorkerFailed("a worker process failed before it served (its error is above); the server stopped")

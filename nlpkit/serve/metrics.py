"""Prometheus text exposition of the server's counters, by hand (no client library needed).

Requests by method, route and status, work stopped (timeout, client gone), (a method HTTP does not define is "other"), request latency and batch sizes as histograms,
and each micro-batched model's queue depth as a gauge read when scraped.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# HTTP's methods (RFC 9110, and PATCH): any other name a client sends is counted as "other",
# so that clients cannot make one series per invented method
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


class Histogram:
    def __init__(self, buckets):
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> list[str]:
        sep = "," if labels else ""
        out = [f'{name}_bucket{{{labels}{sep}le="{_number(b)}"}} {c}' for b, c in zip(self.buckets, self.counts)]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.6f}")
        out.append(f"{name}_count{{{labels}}} {self.total}")
        return out


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.batch_sizes: dict[str, Histogram] = {}
        self.queue_depth: dict[str, Callable[[], int]] = {}
        self.stopped: dict[str, int] = defaultdict(int)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.latency.setdefault(route, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def observe_stopped(self, reason: str) -> None:
        """A request's work stopped before its end ("timeout", "client gone")."""
        with self._lock:
            self.stopped[reason] += 1

    def observe_batch(self, model: str, size: int) -> None:
        with self._lock:
            self.batch_sizes.setdefault(model, Histogram(BATCH_BUCKETS)).observe(size)

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP nlpkit_requests_total HTTP requests answered.", "# TYPE nlpkit_requests_total counter"]
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f'nlpkit_requests_total{{method="{method}",route="{_escape(route)}",status="{status}"}} {n}')
            lines += ["# HELP nlpkit_work_stopped_total Requests whose work was stopped before its end, by reason.",
                      "# TYPE nlpkit_work_stopped_total counter"]
            for reason, n in sorted(self.stopped.items()):
                lines.append(f'nlpkit_work_stopped_total{{reason="{_escape(reason)}"}} {n}')
            lines += ["# HELP nlpkit_request_seconds Request latency.", "# TYPE nlpkit_request_seconds histogram"]
            for route, histogram in sorted(self.latency.items()):
                lines += histogram.lines("nlpkit_request_seconds", f'route="{_escape(route)}"')
            lines += ["# HELP nlpkit_batch_size Records per forward pass.", "# TYPE nlpkit_batch_size histogram"]
            for model, histogram in sorted(self.batch_sizes.items()):
                lines += histogram.lines("nlpkit_batch_size", f'model="{_escape(model)}"')
            lines += ["# HELP nlpkit_queue_depth Records waiting for a forward pass.", "# TYPE nlpkit_queue_depth gauge"]
            for model, depth in sorted(self.queue_depth.items()):
                lines.append(f'nlpkit_queue_depth{{model="{_escape(model)}"}} {depth()}')
        return "\n".join(lines) + "\n"


def _number(x: float) -> str:
    return f"{x:g}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

"""Micro-batching: concurrent requests' records gathered into one forward pass.

A record that finds others waiting (its own request's too), or follows a batch of
several, waits at most ``max_wait_s`` more for the batch to fill; a lone record
(nothing else queued, the last batch one record too) runs at once, and records that
arrive while a forward pass runs gather in the queue for the next. A batch holds at most
``max_batch`` records. Whatever has gathered when the wait ends (up to
``BUCKET_BATCHES`` batches' worth) is sorted by length and cut into batches, so
short reviews are not padded to the length of long ones. One thread runs the
forward passes: torch's own threads already use every core.

The queue is bounded by records not yet answered (``max_queue``); a request that
would go over it is refused with :class:`QueueFull` at once, never parked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

BUCKET_BATCHES = 4


class QueueFull(Exception):
    """More records are waiting than --max-queue allows (the HTTP answer is 503 with Retry-After)."""


class MicroBatcher:
    def __init__(self, predict_proba: Callable[[list[dict]], Sequence], *, max_batch: int, max_wait_s: float,
                 max_queue: int, length: Callable[[dict], int], on_batch: Callable[[int], None] | None = None):
        self.predict_proba = predict_proba
        self.max_batch, self.max_wait_s, self.max_queue = max_batch, max_wait_s, max_queue
        self.length = length
        self.on_batch = on_batch or (lambda size: None)
        self.pending = 0  # records submitted and not yet answered: the queue depth
        self._last_window = 0  # records in the last window gathered
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlpkit-batch")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Answer everything submitted, then stop (the server's shutdown: SIGTERM drains)."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, inputs: list[dict]) -> list:
        """One probability row per input, in order, computed with whatever else is waiting."""
        if self.pending + len(inputs) > self.max_queue:
            raise QueueFull(f"{self.pending} records are waiting (--max-queue {self.max_queue})")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in inputs]
        self.pending += len(inputs)
        try:
            for item, future in zip(inputs, futures):
                self._queue.put_nowait((item, future))
            return list(await asyncio.gather(*futures))
        finally:
            self.pending -= len(inputs)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            window = [await self._queue.get()]
            await asyncio.sleep(0)  # requests sent along with this one (already runnable) queue up first
            # wait for company only when there is some: others queued now, or the last batch had several
            # records (under concurrent load the next requests are still arriving). A lone record after
            # a lone record runs at once; records that arrive during a forward pass (awaited below)
            # gather in the queue for the next window anyway.
            company = self._last_window > 1 or not self._queue.empty()
            deadline = loop.time() + (self.max_wait_s if company else 0)
            while len(window) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    window.append(await asyncio.wait_for(self._queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            while len(window) < self.max_batch * BUCKET_BATCHES and not self._queue.empty():
                window.append(self._queue.get_nowait())  # already waiting: bucket them too, at no extra wait
            self._last_window = len(window)
            window.sort(key=lambda entry: self.length(entry[0]))
            for start in range(0, len(window), self.max_batch):
                await self._forward(loop, window[start : start + self.max_batch])
            for _ in window:
                self._queue.task_done()

    async def _forward(self, loop, batch) -> None:
        live = [(item, future) for item, future in batch if not future.done()]  # a cancelled request's records are dropped
        if not live:
            return
        self.on_batch(len(live))
        try:
            rows = await loop.run_in_executor(self._executor, self.predict_proba, [item for item, _ in live])
        except Exception as e:  # the requests of this batch fail; the server and the other batches go on
            for _, future in live:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), row in zip(live, rows):
            if not future.done():
                future.set_result(row)

"""What every stage shares: a bounded input, a single-thread executor for its model, an
output channel, lag reporting, and an orderly close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar, cast

from pipeline.channel import Channel, ChannelClosed, Overflow
from pipeline.clock import Clock
from pipeline.events import StageDegraded, StageLag

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")
R = TypeVar("R")

LAG_REPORT_EVERY_S = 1.0


def lower_thread_priority(increment: int) -> bool:
    """Raise the calling thread's nice value by `increment` (at most 19); True if done.

    On Linux the nice value belongs to each thread, and threads a thread starts inherit it,
    so a model created on a niced worker (MediaPipe's graph threads) runs niced too. Only
    the scheduler's choice under contention changes: a niced thread still gets every idle
    cycle, but a busy core goes first to the event loop and the speech threads. Elsewhere
    (macOS, Windows) the call would address the whole process, so it does nothing there."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + increment))
    except OSError as err:  # a sandbox that forbids it: run at normal priority
        log.warning("could not lower a worker thread's priority: %s", err)
        return False
    return True


class Stage(Generic[In, Out]):
    """Subclasses implement `_run()`, reading `self._input` and writing `self._emit()`."""

    name = "stage"

    def __init__(
        self,
        clock: Clock,
        input_capacity: int,
        input_overflow: Overflow,
        output_capacity: int = 1024,
        nice: int = 0,
    ) -> None:
        """`nice` > 0 runs the worker thread (and threads its model starts there) at that
        much lower CPU priority: work that may fall behind without harm yields the cores to
        work that must not (see `lower_thread_priority`)."""
        self.clock = clock
        # (item, arrival time on the clock): arrival times give the stage's lag.
        self._input: Channel[tuple[In, float]] = Channel(input_capacity, input_overflow)
        # Output: BLOCK, so nothing is lost between our own tasks; the consumer must read.
        self._output: Channel[Out] = Channel(output_capacity, Overflow.BLOCK)
        self._executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=self.name,
            initializer=lower_thread_priority,  # nice 0: does nothing
            initargs=(nice,),
        )
        self._task: asyncio.Task[None] | None = None
        self.lag_s = 0.0
        self._lag_reported_at = float("-inf")
        self.degraded = False

    # Producer side

    def push(self, item: In) -> bool:
        """Never blocks; applies the input's overflow policy. False if the item was refused."""
        return self._input.put_nowait((item, self.clock.now()))

    async def push_wait(self, item: In) -> None:
        """Lossless push for offline use: waits for room instead of dropping."""
        await self._input.put((item, self.clock.now()))

    def end(self) -> None:
        """No more input: the stage finishes what it holds, then its output ends."""
        self._input.close()

    @property
    def dropped(self) -> int:
        return self._input.dropped

    # Consumer side

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._main(), name=f"{self.name}-stage")

    async def __aiter__(self) -> AsyncIterator[Out]:
        self.start()
        async for item in self._output:
            yield item

    async def aclose(self) -> None:
        """Stop now (without finishing queued input) and release the worker thread."""
        self._input.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._output.close()
        try:  # on the worker thread, after any work still running there
            await self._call(self._release)
        except Exception:
            log.exception("%s stage: releasing its model failed", self.name)
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    # For subclasses

    async def _main(self) -> None:
        try:
            with contextlib.suppress(ChannelClosed):
                await self._run()
            await self._on_input_end()
        except Exception:
            log.exception("%s stage failed", self.name)
            raise
        finally:
            self._output.close()

    async def _run(self) -> None:
        raise NotImplementedError

    async def _on_input_end(self) -> None:
        """Input ended normally (not cancelled): emit whatever is still owed."""

    def _release(self) -> None:
        """On the worker thread when the stage closes: free native resources now, on the
        thread that used them, rather than leave them to a finaliser on whatever thread the
        garbage collector runs (MediaPipe's blocks there, for minutes)."""

    async def _emit(self, item: Out) -> None:
        await self._output.put(item)

    async def _call(self, fn: Callable[..., R], *args: object) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _failed(self, t_media: float, reason: str) -> None:
        """A model call failed: say so once (not per frame) and carry on."""
        if not self.degraded:
            self.degraded = True
            # Every stage's output type includes StageDegraded (and StageLag).
            await self._emit(cast(Out, StageDegraded(self.name, t_media, reason)))

    async def _succeeded(self, t_media: float) -> None:
        if self.degraded:
            self.degraded = False
            await self._emit(
                cast(Out, StageDegraded(self.name, t_media, "recovered", recovered=True))
            )

    def _lag_event(self, arrived_at: float, t_media: float) -> StageLag | None:
        """Update lag from the arrival time of the newest input just handled; return a
        StageLag event at most once a second."""
        now = self.clock.now()
        self.lag_s = max(0.0, now - arrived_at)
        if now - self._lag_reported_at < LAG_REPORT_EVERY_S:
            return None
        self._lag_reported_at = now
        return StageLag(self.name, t_media, round(self.lag_s, 4))

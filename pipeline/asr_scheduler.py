"""AsrScheduler: one Whisper model per process, shared by every live session's ASR.

Each session's AsrStage registers a stream (`scheduler.stream(name)`) and hands it decode
jobs (a function of the model returning a Hypothesis). The model is loaded once, lazily, on
a worker thread; jobs run on `workers` threads (1 by default; more only pays with a model
built with as many CTranslate2 workers, `WhisperAsr(..., workers=n)`, which shares weights).

Policy (enforced in `_next()` and `_submit_partial()`):

- Finals (end-of-utterance finals, speculative finals, segment cuts) always go before
  partials: a final waits at most for the decodes already running, plus older finals.
- Within a class, oldest-first across streams: a request waits for at most one request of
  each other stream queued before it, so no stream monopolises the worker.
- A stream has at most one partial queued: a newer one replaces it and keeps its place in
  line (it would never be served if it went to the back each time); the replaced one is
  answered None and counted as coalesced. A final from a stream drops its queued partial
  (counted as skipped): the final says more.
- A stream's first partial of an utterance goes before the other partials (what a
  candidate sees first is that they are heard).
- Under load the partial rate drops before any final waits: streams space partials by
  `partial_interval(base)` = base x scale; scale doubles (up to `max_partial_scale`) when a
  final is queued behind another final or a partial waited longer than its interval, and
  halves when a worker finds nothing to do, each at most once per current interval. Past
  scale 2 the sessions' finals also drop their lead-in (`AsrConfig.lead_in_max_scale`): a
  final of a short segment then decodes half the audio.

Waits are measured on the monotonic wall clock (decodes take wall time whatever a session's
clock says). Counters live in `stats` for tests and benches. A failing job fails only the
request that asked (its stream degrades); the scheduler goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from models_onnx.whisper import Hypothesis, WhisperAsr

log = logging.getLogger(__name__)

Job = Callable[[WhisperAsr], Hypothesis]

LOG_KEPT = 10_000  # served-request records and waits kept for tests and benches
STREAMS_KEPT = 1_000  # per-stream counters kept (closed streams' dropped oldest first)


class Kind(StrEnum):
    FINAL = "final"
    FIRST_PARTIAL = "first_partial"
    PARTIAL = "partial"


class SchedulerClosed(RuntimeError):
    pass


@dataclass(frozen=True)
class Served:
    """One request as it was dispatched to a worker."""

    stream: str
    kind: Kind
    wait_s: float
    finals_queued: int  # finals still queued when this was dispatched (0 for every partial)


@dataclass
class StreamStats:
    finals: int = 0
    partials: int = 0
    coalesced: int = 0
    skipped: int = 0
    errors: int = 0


@dataclass
class SchedulerStats:
    finals_served: int = 0
    partials_served: int = 0  # first partials included
    first_partials_served: int = 0
    partials_coalesced: int = 0
    partials_skipped: int = 0
    errors: int = 0
    max_final_wait_s: float = 0.0
    max_partial_scale: float = 1.0
    final_waits: deque[float] = field(default_factory=lambda: deque(maxlen=LOG_KEPT))
    partial_waits: deque[float] = field(default_factory=lambda: deque(maxlen=LOG_KEPT))
    served: deque[Served] = field(default_factory=lambda: deque(maxlen=LOG_KEPT))
    per_stream: dict[str, StreamStats] = field(default_factory=dict)


@dataclass(eq=False)
class _Request:
    stream: AsrStream
    kind: Kind
    job: Job
    seq: int  # place in line
    enqueued: float  # monotonic
    interval_s: float = 0.0  # partials: the interval the stream asked at
    future: asyncio.Future[Hypothesis | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class AsrStream:
    """One session's handle on the scheduler. Use it from the event loop only."""

    def __init__(self, scheduler: AsrScheduler, name: str) -> None:
        self.scheduler = scheduler
        self.name = name
        self.stats = scheduler.stats.per_stream.setdefault(name, StreamStats())
        self._finals: deque[_Request] = deque()
        self._partial: _Request | None = None
        self.closed = False
        self.last_wait_s = 0.0  # queue wait of this stream's latest dispatched request

    async def ready(self) -> None:
        """Load the shared model if it is not yet (raises what loading raised)."""
        await self.scheduler.load()

    async def final(self, job: Job) -> Hypothesis:
        """Run a final decode, before any partial; raises what the job raised."""
        if self._partial is not None:  # the final says more than the queued partial
            self._drop_partial(coalesced=False)
        req = self.scheduler._enqueue(self, Kind.FINAL, job)
        self._finals.append(req)
        hyp = await req.future
        assert hyp is not None  # only partials are answered None
        return hyp

    async def partial(self, job: Job, first: bool, interval_s: float) -> Hypothesis | None:
        """Run a partial decode; None when a newer partial or a final replaced it.
        `interval_s` is the interval the stream spaces its partials at now."""
        old = self._partial
        first = first or (old is not None and old.kind is Kind.FIRST_PARTIAL)
        kind = Kind.FIRST_PARTIAL if first else Kind.PARTIAL
        req = self.scheduler._enqueue(self, kind, job, interval_s, keep_place=old)
        if old is not None:
            self._drop_partial(coalesced=True)
        self._partial = req
        return await req.future

    def partial_interval(self, base_s: float) -> float:
        return self.scheduler.partial_interval(base_s)

    def close(self) -> None:
        """Unregister: queued requests are dropped (running ones finish). The scheduler goes on."""
        self.closed = True
        if self._partial is not None:
            self._drop_partial(coalesced=False)
        while self._finals:
            req = self._finals.popleft()
            if not req.future.done():
                req.future.set_exception(SchedulerClosed(f"stream {self.name} closed"))
                req.future.exception()  # retrieved: nobody may await it any more
        self.scheduler._unregister(self)

    def _drop_partial(self, coalesced: bool) -> None:
        req, self._partial = self._partial, None
        assert req is not None
        if not req.future.done():
            req.future.set_result(None)
        st, own = self.scheduler.stats, self.stats
        if coalesced:
            st.partials_coalesced += 1
            own.coalesced += 1
        else:
            st.partials_skipped += 1
            own.skipped += 1


@dataclass(frozen=True)
class SchedulerLoad:
    """What an operator needs to see of a scheduler now (readiness reports it)."""

    streams: int
    workers: int
    running: int
    finals_queued: int
    partials_queued: int
    partial_scale: float  # partials are spaced at this many times their base interval
    finals_served: int
    partials_served: int
    partials_coalesced: int
    final_wait_p95_ms: float | None  # over the latest finals (up to LOAD_WINDOW)


LOAD_WINDOW = 200


class AsrScheduler:
    def __init__(
        self,
        model_factory: Callable[[], WhisperAsr],
        workers: int = 1,
        max_partial_scale: float = 8.0,
        scale_period_s: float = 0.5,
    ) -> None:
        """`scale_period_s`: a partial scale stands this long (times the scale) before it
        changes again; the live partial interval (0.5 s) by default."""
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._factory = model_factory
        self.workers = workers
        self.max_partial_scale = max_partial_scale
        self.scale_period_s = scale_period_s
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="asr-scheduler")
        self._model: WhisperAsr | None = None
        self._load_lock = threading.Lock()
        self._streams: dict[str, AsrStream] = {}
        self._names = 0
        self._seq = 0
        self._running = 0
        self._wake: asyncio.Event | None = None
        self._runners: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.scale = 1.0
        self._scale_changed = float("-inf")
        self.stats = SchedulerStats()

    # Sessions

    def stream(self, name: str | None = None) -> AsrStream:
        if self._closed:
            raise SchedulerClosed("the ASR scheduler is closed")
        self._names += 1
        key = name or f"stream-{self._names}"
        while key in self._streams:
            key = f"{key}+"
        stream = AsrStream(self, key)
        self._streams[key] = stream
        return stream

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def multilingual(self) -> bool:
        return bool(self._model is not None and self._model.multilingual)

    def partial_interval(self, base_s: float) -> float:
        return base_s * self.scale

    def load_now(self) -> SchedulerLoad:
        st = self.stats
        waits = sorted(list(st.final_waits)[-LOAD_WINDOW:])
        p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))] if waits else None
        return SchedulerLoad(
            streams=len(self._streams),
            workers=self.workers,
            running=self._running,
            finals_queued=self._finals_queued(),
            partials_queued=sum(1 for s in self._streams.values() if s._partial is not None),
            partial_scale=self.scale,
            finals_served=st.finals_served,
            partials_served=st.partials_served,
            partials_coalesced=st.partials_coalesced,
            final_wait_p95_ms=round(p95 * 1000, 1) if p95 is not None else None,
        )

    async def load(self) -> None:
        self._start_runners()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    async def aclose(self) -> None:
        """Stop serving, fail what is queued, free the model on a worker thread."""
        self._closed = True
        for stream in list(self._streams.values()):
            stream.close()
        if self._loop is asyncio.get_running_loop():
            for task in self._runners:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._release)
        except Exception:
            log.exception("ASR scheduler: releasing the model failed")
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    # Worker-thread side

    def _load(self) -> WhisperAsr:
        with self._load_lock:
            if self._model is None:
                self._model = self._factory()
                if self._model.workers < self.workers:
                    log.warning(
                        "ASR scheduler: %d workers on a model built for %d; decodes will queue "
                        "inside CTranslate2",
                        self.workers,
                        self._model.workers,
                    )
            return self._model

    def _execute(self, job: Job) -> Hypothesis:
        return job(self._load())

    def _release(self) -> None:
        # Dropped on a worker thread: CTranslate2 frees the weights here, not in a finaliser
        # on whatever thread the garbage collector runs (see Stage._release).
        with self._load_lock:
            self._model = None

    # Loop side

    def _start_runners(self) -> None:
        if self._closed:
            raise SchedulerClosed("the ASR scheduler is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # First use, or used from another event loop than before (tests run one loop per
            # test around models loaded once): serve from this one; what the old loop had
            # queued can no longer be answered.
            self._loop = loop
            for stream in self._streams.values():
                stream._finals.clear()
                stream._partial = None
            self._running = 0
            self._wake = asyncio.Event()
            self._runners = [
                asyncio.create_task(self._serve(), name=f"asr-scheduler-{i}")
                for i in range(self.workers)
            ]

    def _enqueue(
        self,
        stream: AsrStream,
        kind: Kind,
        job: Job,
        interval_s: float = 0.0,
        keep_place: _Request | None = None,
    ) -> _Request:
        if self._closed or stream.closed:
            raise SchedulerClosed("the ASR scheduler or stream is closed")
        now = time.monotonic()
        if keep_place is not None:
            seq, enqueued = keep_place.seq, keep_place.enqueued
        else:
            self._seq += 1
            seq, enqueued = self._seq, now
        self._start_runners()
        req = _Request(stream, kind, job, seq, enqueued, interval_s)
        if kind is Kind.FINAL and self._running >= self.workers and self._finals_queued():
            self._raise_scale(now)  # a final would wait for more than what is running
        self._notify()
        return req

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _unregister(self, stream: AsrStream) -> None:
        if self._streams.get(stream.name) is stream:
            del self._streams[stream.name]
        # A server runs for weeks: keep the counters of the latest closed streams only.
        per = self.stats.per_stream
        for name in [n for n in per if n not in self._streams][: max(0, len(per) - STREAMS_KEPT)]:
            del per[name]

    def _finals_queued(self) -> int:
        return sum(len(s._finals) for s in self._streams.values())

    def _next(self) -> _Request | None:
        """Finals oldest-first, then first partials oldest-first, then partials oldest-first."""
        heads = [s._finals[0] for s in self._streams.values() if s._finals]
        if heads:
            req = min(heads, key=lambda r: r.seq)
            req.stream._finals.popleft()
            return req
        partials = [s._partial for s in self._streams.values() if s._partial is not None]
        if not partials:
            return None
        req = min(partials, key=lambda r: (r.kind is not Kind.FIRST_PARTIAL, r.seq))
        req.stream._partial = None
        return req

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        assert wake is not None
        while True:
            req = self._next()
            if req is None:
                self._lower_scale(time.monotonic())
                # No await between finding nothing and clearing: no request slips past.
                wake.clear()
                with contextlib.suppress(TimeoutError):  # idle: step the scale down again
                    await asyncio.wait_for(wake.wait(), self._period())
                continue
            if req.future.done():  # its caller gave up (cancelled)
                continue
            self._account(req, time.monotonic())
            self._running += 1
            try:
                hyp = await loop.run_in_executor(self._executor, self._execute, req.job)
            except asyncio.CancelledError:  # the scheduler is closing under this decode
                if not req.future.done():
                    # The caller was not cancelled: it learns the scheduler closed (a plain
                    # cancel would end its stage silently, the answer's final lost unlogged).
                    req.future.set_exception(SchedulerClosed("the ASR scheduler closed"))
                    req.future.exception()  # retrieved, whoever still awaits it
                raise
            except Exception as err:  # the asking session degrades, the scheduler goes on
                self.stats.errors += 1
                req.stream.stats.errors += 1
                if not req.future.done():
                    req.future.set_exception(err)
            else:
                if not req.future.done():
                    req.future.set_result(hyp)
            finally:
                self._running -= 1

    def _account(self, req: _Request, now: float) -> None:
        wait = now - req.enqueued
        st, own = self.stats, req.stream.stats
        req.stream.last_wait_s = wait
        if req.kind is Kind.FINAL:
            st.finals_served += 1
            own.finals += 1
            st.final_waits.append(wait)
            st.max_final_wait_s = max(st.max_final_wait_s, wait)
        else:
            st.partials_served += 1
            own.partials += 1
            st.partial_waits.append(wait)
            if req.kind is Kind.FIRST_PARTIAL:
                st.first_partials_served += 1
            elif wait > req.interval_s > 0:
                self._raise_scale(now)  # partials fall behind their own interval
        st.served.append(Served(req.stream.name, req.kind, wait, self._finals_queued()))

    def _raise_scale(self, now: float) -> None:
        if self.scale < self.max_partial_scale and now - self._scale_changed >= self._period():
            self.scale = min(self.max_partial_scale, self.scale * 2)
            self._scale_changed = now
            self.stats.max_partial_scale = max(self.stats.max_partial_scale, self.scale)

    def _lower_scale(self, now: float) -> None:
        if self.scale > 1.0 and now - self._scale_changed >= self._period():
            self.scale = max(1.0, self.scale / 2)
            self._scale_changed = now

    def _period(self) -> float:
        """How long a scale stands before it changes again: about one partial interval."""
        return self.scale_period_s * self.scale


__all__ = [
    "AsrScheduler",
    "AsrStream",
    "Job",
    "Kind",
    "SchedulerClosed",
    "SchedulerLoad",
    "SchedulerStats",
    "Served",
    "StreamStats",
]

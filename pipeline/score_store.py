"""Rolling interview state in Redis, for live views that may join late.

Per interview:
- `hs:iv:{id}:scores`  hash: dimension -> msgpack {value, raw, unit, t, trend, evidence}
  (value null: a competency still collecting evidence; its evidence says what it needs)
- `hs:iv:{id}:events`  stream (capped): msgpack event records, the history a late viewer reads
- `hs:iv:{id}:live`    pub/sub channel: every record as it happens

Score updates are coalesced and written at most `max_rate_hz` times a second; captions and
other events go out at once. Values are msgpack-encoded. A score write carries the changed
dimensions, and all of them at least every FULL_WRITE_EVERY_S, so the hash heals by itself
after a Redis restart the client rode over without an error.

Redis is a cache of live state: the writes here (publish, update/flush, expire, aclose) never
raise into the session. When a write fails the store notes an outage (one WARNING) and stops
sending; until Redis answers again:
- the latest value of every score stays in memory; the first write after the outage puts all
  of them in the hash (an embedded Redis comes back empty) and publishes what changed;
- event records wait in a buffer of `buffer_size` (EVENT_BUFFER) records; past that the
  oldest are dropped and counted in `dropped`. They are replayed in order into the stream and
  the channel, before any newer record;
- an expire() asked for is applied after the replay.
A background task retries RETRY_FIRST_S after the failure, doubling up to RETRY_MAX_S; the
outage ends (one INFO) when everything waiting is written. After aclose() it keeps trying for
CLOSED_RETRY_S, then drops what is left with a WARNING. snapshot() is a read for viewers and
does raise; the live channel is read by the server's fan-out (server/live_fanout.py), one
subscription per interview.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pipeline.clock import Clock
from pipeline.raw_signals import Signal

log = logging.getLogger(__name__)

PREFIX = "hs:iv"
EVENT_BUFFER = 500  # records kept while Redis is away: about 2 minutes at 4-5 records a second
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
CLOSED_RETRY_S = 600.0
WRITE_TIMEOUT_S = 5.0  # one write (with the client's own retries) gives up after this
REPLAY_CHUNK = 100  # records per pipeline when replaying the buffer
FULL_WRITE_EVERY_S = 5.0

# OSError covers socket errors and asyncio's TimeoutError.
WRITE_ERRORS = (RedisError, OSError)


def keys(interview_id: str) -> dict[str, str]:
    base = f"{PREFIX}:{interview_id}"
    return {"scores": f"{base}:scores", "events": f"{base}:events", "live": f"{base}:live"}


def pack(record: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb(record, use_bin_type=True))


def unpack(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = msgpack.unpackb(data, raw=False)
    return out


class ScoreStore:
    def __init__(
        self,
        client: aioredis.Redis,
        interview_id: str,
        clock: Clock,
        max_rate_hz: float = 10.0,
        history_maxlen: int = 5000,
        buffer_size: int = EVENT_BUFFER,
    ) -> None:
        self.client = client
        self.interview_id = interview_id
        self.keys = keys(interview_id)
        self.clock = clock
        self.min_interval = 1.0 / max_rate_hz
        self.history_maxlen = history_maxlen
        self.buffer_size = buffer_size
        self._pending: dict[str, Signal] = {}  # updates not yet folded by flush()
        self._last: dict[str, float | None] = {}
        self._fields: dict[str, bytes] = {}  # every dimension's current hash value
        self._unsent: dict[str, bytes] = {}  # changed since the last written scores record
        self._backlog: deque[bytes] = deque()  # event records waiting for Redis, oldest first
        self._expire_s: int | None = None  # an expire() that waits for Redis
        self._last_flush = float("-inf")
        self._last_full = float("-inf")  # clock time of the last write of every dimension
        self._flusher: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._down_since: float | None = None  # loop time the outage began
        self._closed_at: float | None = None
        self._replayed = 0
        self.writes = 0
        self.dropped = 0  # event records lost to the buffer bound (or given up after close)

    @property
    def unreachable(self) -> bool:
        """True from a failed write until everything waiting has been written."""
        return self._down_since is not None

    async def publish(self, record: dict[str, Any]) -> None:
        """An event for the live view and the history (captions, faces, warnings...)."""
        data = pack(record)
        if self._down_since is not None:  # behind the records already waiting
            self._buffer([data])
            return
        try:
            await self._write_events([data])
        except WRITE_ERRORS as err:
            self._buffer([data])
            self._outage(err)

    def update(self, signals: dict[str, Signal]) -> None:
        """Queue score changes; they are written together, at most max_rate_hz a second."""
        self._pending.update(signals)
        if self._flusher is None or self._flusher.done():
            wait = max(0.0, self._last_flush + self.min_interval - self.clock.now())
            self._flusher = asyncio.create_task(self._flush_after(wait))

    async def _flush_after(self, wait: float) -> None:
        await self.clock.sleep(wait)
        await self.flush()

    async def flush(self) -> None:
        if self._pending:
            self._fold()
        if not self._unsent or self._down_since is not None:
            return  # nothing new, or the recovery task writes it
        try:
            await self._write_scores(
                everything=self.clock.now() - self._last_full >= FULL_WRITE_EVERY_S
            )
        except WRITE_ERRORS as err:
            self._outage(err)

    def _fold(self) -> None:
        pending, self._pending = self._pending, {}
        self._last_flush = self.clock.now()
        for name, sig in pending.items():
            prev = self._last.get(name)
            trend = 0.0 if prev is None or sig.value is None else round(sig.value - prev, 1)
            self._last[name] = sig.value
            self._fields[name] = self._unsent[name] = pack(
                {"value": sig.value, "raw": sig.raw, "unit": sig.unit, "t": sig.t,
                 "trend": trend, "evidence": sig.evidence}
            )  # fmt: skip

    async def snapshot(self, history: int = 200) -> dict[str, Any]:
        """Current scores and the latest events: what a viewer joining late starts from."""
        scores: dict[bytes, bytes] = await self.client.hgetall(self.keys["scores"])  # type: ignore[assignment]
        events: list[tuple[bytes, dict[bytes, bytes]]] = (
            await self.client.xrevrange(self.keys["events"], count=history)  # type: ignore[assignment]
        ) or []
        return {
            "scores": {k.decode(): unpack(v) for k, v in scores.items()},
            "events": [unpack(fields[b"r"]) for _id, fields in reversed(events)],
        }

    async def aclose(self) -> None:
        """Write the last scores. If Redis is down, the recovery task goes on trying for
        CLOSED_RETRY_S."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
        if self._closed_at is None:
            self._closed_at = asyncio.get_running_loop().time()

    async def expire(self, seconds: int) -> None:
        """Keep the interview's live state for late readers, then let Redis drop it."""
        if self._down_since is not None:
            self._expire_s = seconds
            return
        try:
            await self._write_expire(seconds)
        except WRITE_ERRORS as err:
            self._expire_s = seconds
            self._outage(err)

    async def delete(self) -> None:
        """Remove every key of this interview (retention ends; the report lives in SQL).
        Anything still waiting for Redis is dropped first. Raises if Redis is unreachable."""
        if self._recovery is not None and not self._recovery.done():
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        self._backlog.clear()
        self._unsent.clear()
        self._expire_s = None
        self._down_since = None
        await self.client.delete(*self.keys.values())

    # Writes. Each raises WRITE_ERRORS; the callers above turn them into an outage.

    async def _write_events(self, records: list[bytes]) -> None:
        async def write() -> None:
            async with self.client.pipeline(transaction=False) as p:
                for data in records:
                    p.xadd(
                        self.keys["events"], {"r": data},
                        maxlen=self.history_maxlen, approximate=True,
                    )  # fmt: skip
                    p.publish(self.keys["live"], data)
                await p.execute()

        await asyncio.wait_for(write(), WRITE_TIMEOUT_S)

    async def _write_scores(self, everything: bool) -> None:
        """The hash (the changed fields, or all of them) and a `scores` record of what
        changed; `_unsent` is restored if the write fails."""
        changed, self._unsent = self._unsent, {}
        fields = dict(self._fields) if everything else {k: self._fields[k] for k in changed}
        if not fields:
            return
        record = pack({"type": "scores", "scores": {k: unpack(v) for k, v in changed.items()}})

        async def write() -> None:
            async with self.client.pipeline(transaction=True) as p:
                p.hset(self.keys["scores"], mapping=fields)  # type: ignore[arg-type]
                if changed:
                    p.publish(self.keys["live"], record)
                await p.execute()

        try:
            await asyncio.wait_for(write(), WRITE_TIMEOUT_S)
        except BaseException:
            self._unsent = {**changed, **self._unsent}  # newer values win
            raise
        self.writes += 1
        if everything:
            self._last_full = self.clock.now()

    async def _write_expire(self, seconds: int) -> None:
        async def write() -> None:
            async with self.client.pipeline(transaction=False) as p:
                for key in self.keys.values():
                    p.expire(key, seconds)
                await p.execute()

        await asyncio.wait_for(write(), WRITE_TIMEOUT_S)

    # Outage handling

    def _buffer(self, records: list[bytes], front: bool = False) -> None:
        if front:
            self._backlog.extendleft(reversed(records))
        else:
            self._backlog.extend(records)
        while len(self._backlog) > self.buffer_size:
            self._backlog.popleft()
            self.dropped += 1

    def _outage(self, err: BaseException) -> None:
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            self._replayed = 0
            log.warning(
                "interview %s: Redis unreachable (%s); live state kept in memory until it "
                "answers (up to %d event records)",
                self.interview_id, str(err) or type(err).__name__, self.buffer_size,
            )  # fmt: skip
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(
                self._recover(), name=f"score-store-recovery-{self.interview_id}"
            )

    async def _recover(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)
            try:
                await self._catch_up()
                break
            except WRITE_ERRORS:
                pass
            except Exception:  # a bug, not Redis: say so, and keep the session's state
                log.exception("interview %s: replay to Redis failed", self.interview_id)
            if self._closed_at is not None and loop.time() - self._closed_at > CLOSED_RETRY_S:
                self._give_up()
                return
            delay = min(delay * 2, RETRY_MAX_S)
        assert self._down_since is not None
        log.info(
            "interview %s: Redis reachable again after %.1f s; %d event records replayed, "
            "%d dropped so far",
            self.interview_id, loop.time() - self._down_since, self._replayed, self.dropped,
        )  # fmt: skip
        self._down_since = None

    async def _catch_up(self) -> None:
        """Write all that waits: every score, the buffered records in order, the expiry."""
        if self._pending:
            self._fold()
        await self._write_scores(everything=True)
        # Until nothing waits, with no await between the last check and the outage's end.
        while self._backlog or self._unsent or self._expire_s is not None:
            if self._backlog:
                chunk = [
                    self._backlog.popleft() for _ in range(min(REPLAY_CHUNK, len(self._backlog)))
                ]
                try:
                    await self._write_events(chunk)
                except BaseException:
                    self._buffer(chunk, front=True)
                    raise
                self._replayed += len(chunk)
            elif self._unsent:
                await self._write_scores(everything=False)
            else:
                seconds = self._expire_s
                assert seconds is not None
                await self._write_expire(seconds)
                if self._expire_s == seconds:
                    self._expire_s = None

    def _give_up(self) -> None:
        lost = len(self._backlog)
        self.dropped += lost
        self._backlog.clear()
        self._unsent.clear()
        self._expire_s = None
        self._down_since = None
        log.warning(
            "interview %s: Redis still unreachable %.0f s after the interview closed; "
            "%d event records and the last scores dropped",
            self.interview_id, CLOSED_RETRY_S, lost,
        )  # fmt: skip

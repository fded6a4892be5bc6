"""Rolling interview state in Redis, for live views that may join late.

Per interview:
- `hs:iv:{id}:scores`  hash: dimension -> msgpack {value, raw, unit, t, trend, evidence}
- `hs:iv:{id}:events`  stream (capped): msgpack event records, the history a late viewer reads
- `hs:iv:{id}:live`    pub/sub channel: every record as it happens

Score updates are coalesced and written at most `max_rate_hz` times a second; captions and
other events go out at once. Values are msgpack-encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import redis.asyncio as aioredis

from pipeline.clock import Clock
from pipeline.raw_signals import Signal

PREFIX = "hs:iv"


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
    ) -> None:
        self.client = client
        self.keys = keys(interview_id)
        self.clock = clock
        self.min_interval = 1.0 / max_rate_hz
        self.history_maxlen = history_maxlen
        self._pending: dict[str, Signal] = {}
        self._last: dict[str, float] = {}
        self._last_flush = float("-inf")
        self._flusher: asyncio.Task[None] | None = None
        self.writes = 0

    async def publish(self, record: dict[str, Any]) -> None:
        """An event for the live view and the history (captions, faces, warnings...)."""
        data = pack(record)
        async with self.client.pipeline(transaction=False) as p:
            p.xadd(self.keys["events"], {"r": data}, maxlen=self.history_maxlen, approximate=True)
            p.publish(self.keys["live"], data)
            await p.execute()

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
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        self._last_flush = self.clock.now()
        fields: dict[str, bytes] = {}
        for name, sig in pending.items():
            prev = self._last.get(name)
            trend = 0.0 if prev is None else round(sig.value - prev, 1)
            self._last[name] = sig.value
            fields[name] = pack(
                {"value": sig.value, "raw": sig.raw, "unit": sig.unit, "t": sig.t,
                 "trend": trend, "evidence": sig.evidence}
            )  # fmt: skip
        record = pack({"type": "scores", "scores": {k: unpack(v) for k, v in fields.items()}})
        async with self.client.pipeline(transaction=True) as p:
            p.hset(self.keys["scores"], mapping=fields)  # type: ignore[arg-type]
            p.publish(self.keys["live"], record)
            await p.execute()
        self.writes += 1

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

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        pubsub = self.client.pubsub()
        await pubsub.subscribe(self.keys["live"])
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    yield unpack(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    async def expire(self, seconds: int) -> None:
        """Keep the interview's live state for late readers, then let Redis drop it."""
        async with self.client.pipeline(transaction=False) as p:
            for key in self.keys.values():
                p.expire(key, seconds)
            await p.execute()

    async def delete(self) -> None:
        """Remove every key of this interview (retention ends; the report lives in SQL)."""
        await self.client.delete(*self.keys.values())

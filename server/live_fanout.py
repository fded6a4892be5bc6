"""One Redis subscription per interview, shared by every live WebSocket that follows it.

Each interview with at least one follower has one subscriber task reading the interview's
pub/sub channel and copying every record into each follower's bounded queue. A follower that
falls behind loses its oldest records, and its next read says how many (`{"type":
"dropped"}`). When the last follower leaves, the task unsubscribes. When Redis is down or the
subscription breaks, the task tells the followers (`{"type": "feed", "state":
"interrupted"}`), retries with exponential backoff, and says `"resumed"` once subscribed
again; sockets stay open meanwhile.

Caps: at most `max_per_token` followers per token id and `max_per_interview` per interview
(LimitReached beyond), so no one link can hold Redis connections without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pipeline.score_store import keys, unpack

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # records a follower may lag behind before the oldest are dropped
RETRY_FIRST_S = 0.5  # first wait after a broken subscription; doubles per failure
RETRY_MAX_S = 10.0


class LimitReached(Exception):
    """4429: this token or this interview already has as many live sockets as allowed."""


class Follower:
    """One socket's share of an interview's records: a bounded queue, oldest dropped first."""

    def __init__(self, interview_id: str, token_id: str, size: int) -> None:
        self.interview_id = interview_id
        self.token_id = token_id
        self._records: deque[dict[str, Any]] = deque(maxlen=size)
        self._dropped = 0
        self._ready = asyncio.Event()

    def put(self, record: dict[str, Any]) -> None:
        if len(self._records) == self._records.maxlen:
            self._dropped += 1  # the deque drops the oldest itself
        self._records.append(record)
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        """The next record; after an overflow first a `dropped` record counting the loss."""
        while True:
            if self._dropped:
                count, self._dropped = self._dropped, 0
                return {"type": "dropped", "count": count}
            if self._records:
                return self._records.popleft()
            self._ready.clear()
            await self._ready.wait()


@dataclass
class _Channel:
    interview_id: str
    followers: set[Follower] = field(default_factory=set)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class LiveFanout:
    def __init__(
        self,
        client: aioredis.Redis,
        max_per_token: int,
        max_per_interview: int,
        queue_size: int = QUEUE_SIZE,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self._client = client
        self.max_per_token = max_per_token
        self.max_per_interview = max_per_interview
        self.queue_size = queue_size
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self._channels: dict[str, _Channel] = {}
        self._per_token: Counter[str] = Counter()
        self._stopping: set[asyncio.Task[None]] = set()  # subscriber tasks winding down
        self._closed = False

    def followers(self, interview_id: str) -> int:
        channel = self._channels.get(interview_id)
        return len(channel.followers) if channel else 0

    def join(self, interview_id: str, token_id: str) -> Follower:
        """A new follower of the interview; its subscription starts with the first one."""
        if self._closed:
            raise LimitReached("the server is stopping")
        if self._per_token[token_id] >= self.max_per_token:
            raise LimitReached(
                f"{self.max_per_token} live connections are already open with this link"
            )
        channel = self._channels.get(interview_id)
        if channel is not None and len(channel.followers) >= self.max_per_interview:
            raise LimitReached(
                f"{self.max_per_interview} live connections already follow this interview"
            )
        if channel is None:
            channel = self._channels[interview_id] = _Channel(interview_id)
            channel.task = asyncio.create_task(
                self._subscribe(channel), name=f"live-fanout-{interview_id}"
            )
        follower = Follower(interview_id, token_id, self.queue_size)
        channel.followers.add(follower)
        self._per_token[token_id] += 1
        return follower

    def leave(self, follower: Follower) -> None:
        """Forget the follower; the last one out ends the interview's subscription."""
        channel = self._channels.get(follower.interview_id)
        if channel is None or follower not in channel.followers:
            return
        channel.followers.discard(follower)
        self._per_token[follower.token_id] -= 1
        if self._per_token[follower.token_id] <= 0:
            del self._per_token[follower.token_id]
        if not channel.followers:
            del self._channels[follower.interview_id]
            if channel.task is not None:
                channel.task.cancel()  # its finally unsubscribes and returns the connection
                self._stopping.add(channel.task)
                channel.task.add_done_callback(self._stopping.discard)

    @asynccontextmanager
    async def follow(self, interview_id: str, token_id: str) -> AsyncIterator[Follower]:
        follower = self.join(interview_id, token_id)
        try:
            yield follower
        finally:
            self.leave(follower)

    async def wait_subscribed(self, interview_id: str) -> None:
        """Until the interview's subscription is up (at once when nobody follows it)."""
        channel = self._channels.get(interview_id)
        if channel is not None:
            await channel.subscribed.wait()

    def _tell(self, channel: _Channel, record: dict[str, Any]) -> None:
        for follower in list(channel.followers):
            follower.put(record)

    def _deliver(self, channel: _Channel, data: bytes) -> None:
        try:
            record = unpack(data)
        except Exception as err:  # msgpack raises several types; one bad record is skipped
            log.warning(
                "live feed of interview %s: unreadable record (%s)", channel.interview_id, err
            )
            return
        self._tell(channel, record)

    async def _subscribe(self, channel: _Channel) -> None:
        name = keys(channel.interview_id)["live"]
        delay = self.retry_first_s
        interrupted = False
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(name)
                channel.subscribed.set()
                if interrupted:
                    self._tell(channel, {"type": "feed", "state": "resumed"})
                    interrupted = False
                delay = self.retry_first_s
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._deliver(channel, message["data"])
                raise ConnectionError("subscription ended")  # listen() stops when unsubscribed
            except (RedisError, OSError) as err:
                channel.subscribed.clear()
                log.warning(
                    "live feed of interview %s broken (%s); retrying in %.1f s",
                    channel.interview_id,
                    type(err).__name__,
                    delay,
                )
                if not interrupted:
                    self._tell(channel, {"type": "feed", "state": "interrupted"})
                    interrupted = True
            finally:
                # Disconnects (ending the subscription server-side) and returns the connection
                # to the pool; no UNSUBSCRIBE round trip that a dead Redis would time out.
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)

    async def aclose(self) -> None:
        """Stop every subscription; later joins are refused."""
        self._closed = True
        tasks = [c.task for c in self._channels.values() if c.task is not None]
        tasks += list(self._stopping)
        self._channels.clear()
        self._per_token.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

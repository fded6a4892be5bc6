"""A bounded async channel that says what happens when it is full."""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Overflow(enum.Enum):
    DROP_OLDEST = "drop_oldest"  # keep the newest items (live media: stale data is useless)
    LATEST_ONLY = "latest_only"  # capacity 1 in effect: only the newest matters (video frames)
    BLOCK = "block"  # put() waits; put_nowait() refuses (lossless hand-off between own tasks)


class ChannelClosed(Exception):
    pass


class Channel(Generic[T]):
    def __init__(self, capacity: int, overflow: Overflow) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = 1 if overflow is Overflow.LATEST_ONLY else capacity
        self.overflow = overflow
        self.dropped = 0
        self._items: deque[T] = deque()
        self._closed = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put_nowait(self, item: T) -> bool:
        """Never blocks. False when the item was refused (BLOCK policy, full) or closed."""
        if self._closed:
            return False
        if len(self._items) >= self.capacity:
            if self.overflow is Overflow.BLOCK:
                return False
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._readable.set()
        if len(self._items) >= self.capacity:
            self._writable.clear()
        return True

    async def put(self, item: T) -> None:
        """Lossless: waits for room whatever the policy (the policy is for put_nowait)."""
        while len(self._items) >= self.capacity:
            if self._closed:
                raise ChannelClosed
            self._writable.clear()
            await self._writable.wait()
        if self._closed:
            raise ChannelClosed
        self.put_nowait(item)

    def close(self) -> None:
        self._closed = True
        self._readable.set()
        self._writable.set()

    async def get(self) -> T:
        while not self._items:
            if self._closed:
                raise ChannelClosed
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        self._writable.set()
        return item

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.get()
            except ChannelClosed:
                return

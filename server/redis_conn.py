"""The Redis the server uses: embedded (no URL configured) or external (HIRESTREAM_REDIS_URL)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.errors import ConfigError
from server.redis_embedded import EmbeddedRedis
from server.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class RedisHandle:
    client: aioredis.Redis
    mode: Literal["embedded", "external"]
    display_url: str  # redacted
    embedded: EmbeddedRedis | None = None


def _client(url: str) -> aioredis.Redis:
    try:
        return aioredis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
        )
    except ValueError as err:
        raise ConfigError(
            f"HIRESTREAM_REDIS_URL {redact_url(url)!r} is not a Redis URL ({err}); "
            "use redis://host:6379/0, rediss://... or unix:///path.sock"
        ) from None


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[RedisHandle]:
    """Yield a checked Redis client; the embedded server is stopped on the way out,
    whatever happens inside."""
    embedded: EmbeddedRedis | None = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
        mode: Literal["embedded", "external"] = "embedded"
    else:
        url = settings.redis_url.get_secret_value()
        mode = "external"
    try:
        client = _client(url)
        try:
            await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as err:
            await client.aclose()
            hint = (
                "start it, or unset HIRESTREAM_REDIS_URL to use the embedded Redis"
                if mode == "external"
                else "see the log in the data directory"
            )
            reason = str(err) or type(err).__name__
            raise ConfigError(
                f"cannot reach Redis at {redact_url(url)} ({reason}); {hint}"
            ) from None
        log.info("Redis: %s at %s", mode, redact_url(url))
        try:
            yield RedisHandle(client, mode, redact_url(url), embedded)
        finally:
            await client.aclose()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)

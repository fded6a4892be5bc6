"""The Redis the server uses: embedded (no URL configured) or external (HIRESTREAM_REDIS_URL).

Either way the one client survives Redis restarts: a command that meets a connection error or
a timeout is retried on a fresh connection with exponential backoff (`redis_retries` times,
RETRY_FIRST_S doubling up to RETRY_CAP_S), and idle connections are checked with PING before
reuse (`redis_health_check_interval_s`). An embedded server that dies is restarted on the same
socket by a supervisor task (server.redis_embedded.supervise) while open_redis() is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError

from server.errors import ConfigError
from server.redis_embedded import EmbeddedRedis, supervise
from server.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
# Retry waits: RETRY_FIRST_S, doubling, at most RETRY_CAP_S. Three retries wait 0.2 + 0.4 +
# 0.8 s: long enough to ride over an embedded restart (its 0.5 s backoff plus start-up),
# short enough for the readiness probe's 2 s.
RETRY_FIRST_S = 0.2
RETRY_CAP_S = 1.0


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


def redis_client(url: str, settings: Settings) -> aioredis.Redis:
    """A client that reconnects by itself: retries with backoff, health checks when idle."""
    try:
        return aioredis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(
                ExponentialBackoff(cap=RETRY_CAP_S, base=RETRY_FIRST_S / 2),  # base * 2**n, n >= 1
                settings.redis_retries,
                (ConnectionError, TimeoutError),
            ),
            health_check_interval=settings.redis_health_check_interval_s,
        )
    except ValueError as err:
        raise ConfigError(
            f"HIRESTREAM_REDIS_URL {redact_url(url)!r} is not a Redis URL ({err}); "
            "use redis://host:6379/0, rediss://... or unix:///path.sock"
        ) from None


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[RedisHandle]:
    """Yield a checked Redis client; the embedded server is supervised (restarted when it
    dies) while inside, and stopped on the way out, whatever happens inside."""
    embedded: EmbeddedRedis | None = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
        mode: Literal["embedded", "external"] = "embedded"
    else:
        url = settings.redis_url.get_secret_value()
        mode = "external"
    try:
        client = redis_client(url, settings)
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
        supervisor = (
            asyncio.create_task(supervise(embedded), name="redis-supervisor") if embedded else None
        )
        try:
            yield RedisHandle(client, mode, redact_url(url), embedded)
        finally:
            if supervisor is not None:  # before stop(): a stopped server is not restarted
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor
            await client.aclose()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)

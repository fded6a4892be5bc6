"""What the server holds for its lifetime: checked model paths, the database, Redis.

`open_resources()` acquires them in order and releases them in reverse on the way out, on
errors too; every problem becomes one ConfigError line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from hr_bridge.db import DatabaseError, check_connection, make_engine, migrate, redact
from hr_bridge.events import PayloadFormat, Subscriber
from integrations.webhooks import WebhookConfig
from models_onnx.assets import MODEL_NAMES, ModelAssetError, locate
from server.errors import ConfigError
from server.models import model_overrides
from server.redis_conn import RedisHandle, open_redis
from server.settings import Settings

log = logging.getLogger(__name__)


def locate_models(settings: Settings) -> dict[str, Path]:
    """Checked paths of every model (sha256 against the manifest); ConfigError otherwise."""
    overrides = model_overrides(settings)
    try:
        return {n: locate(n, overrides[n], settings.models_dir) for n in MODEL_NAMES}
    except ModelAssetError as err:
        raise ConfigError(str(err)) from None


def open_database(settings: Settings, run_migrations: bool = True) -> Engine:
    """Blocking: engine for the configured URL, connection checked, schema migrated."""
    try:
        engine = make_engine(settings.effective_database_url)
        check_connection(engine)
        if run_migrations:
            migrate(engine)
    except DatabaseError as err:
        raise ConfigError(str(err)) from None
    return engine


@dataclass
class Resources:
    settings: Settings
    models: dict[str, Path]
    engine: Engine
    redis: RedisHandle

    @property
    def database_display_url(self) -> str:
        return redact(str(self.engine.url))


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    models = await asyncio.to_thread(locate_models, settings)
    engine = await asyncio.to_thread(open_database, settings)
    try:
        async with open_redis(settings) as redis_handle:
            yield Resources(settings, models, engine, redis_handle)
    finally:
        await asyncio.to_thread(engine.dispose)


def webhook_config(settings: Settings) -> WebhookConfig:
    """The webhook worker's configuration: `HIRESTREAM_WEBHOOK_URL` (every event type, in
    `HIRESTREAM_WEBHOOK_FORMAT`) and each of `HIRESTREAM_WEBHOOK_SUBSCRIBERS`."""
    subs = [
        Subscriber(s.url, PayloadFormat(s.format), tuple(s.events))
        for s in settings.webhook_subscribers
    ]
    if settings.webhook_url:
        subs.insert(0, Subscriber(settings.webhook_url, PayloadFormat(settings.webhook_format)))
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return WebhookConfig(
        tuple(subs),
        secret,
        settings.webhook_max_attempts,
        settings.webhook_backoff_s,
        settings.webhook_timeout_s,
    )

"""Delivers the outbox: signed webhook POSTs with retries, surviving restarts and outages.

Signatures follow Standard Webhooks: headers webhook-id (the interview id for a report,
"evt_<id>" for an HR event: the receiver's idempotency key), webhook-timestamp (Unix seconds)
and webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"), keyed with the
secret's bytes after "whsec_" (base64) or the raw string.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import Engine

from hr_bridge import outbox
from hr_bridge.events import REPORT_FINALIZED, PayloadFormat, Subscriber, sync_subscriptions
from integrations.exports import frappe_interview_feedback, hr_xml_assessment

log = logging.getLogger(__name__)

POLL_S = 1.0


def secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class WebhookConfig:
    """What the worker needs from configuration (built from Settings by the server)."""

    subscribers: tuple[Subscriber, ...]
    secret: str | None = None  # "whsec_<base64>" or raw; None: unsigned
    max_attempts: int = 10
    backoff_s: float = outbox.BACKOFF_BASE_S
    timeout_s: float = 10.0


def formatted(d: outbox.Delivery) -> dict[str, Any]:
    """The body its subscriber receives: a report mapped to the subscriber's format."""
    if d.event_type != REPORT_FINALIZED or d.format == PayloadFormat.HIRESTREAM:
        return d.payload
    mapper = hr_xml_assessment if d.format == PayloadFormat.HR_XML else frappe_interview_feedback
    return {**d.payload, "data": mapper(d.payload["data"])}


class WebhookWorker:
    def __init__(self, config: WebhookConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None

    async def start(self) -> None:
        """Write the configured subscribers, listen for commits that enqueue deliveries, and
        start sending (also what a previous run left pending)."""
        await asyncio.to_thread(sync_subscriptions, self.engine, self.config.subscribers)
        if self._task is None:
            loop = asyncio.get_running_loop()

            def wake() -> None:  # called on the committing worker thread
                loop.call_soon_threadsafe(self._wake.set)

            self._unlisten = outbox.notify_after_commit(self.engine, wake)
            self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def aclose(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                try:
                    for d in await asyncio.to_thread(outbox.due, self.engine):
                        await self._deliver(http, d)
                except Exception:  # the database hiccuped: keep the worker alive
                    log.exception("webhook worker sweep failed")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def _deliver(self, http: aiohttp.ClientSession, d: outbox.Delivery) -> None:
        assert d.id is not None
        body = json.dumps(formatted(d), ensure_ascii=False, separators=(",", ":")).encode()
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": d.webhook_id,
            "webhook-timestamp": str(ts),
        }
        if self.config.secret is not None:
            headers["webhook-signature"] = sign(self.config.secret, d.webhook_id, ts, body)
        try:
            async with http.post(d.url, data=body, headers=headers) as r:
                ok, error = 200 <= r.status < 300, f"HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            ok, error = False, f"{type(err).__name__}: {err}"[:300]
        if ok:
            await asyncio.to_thread(outbox.mark_delivered, self.engine, d.id)
            log.info("%s %s delivered to %s", d.event_type, d.webhook_id, d.url)
            return
        after = await asyncio.to_thread(
            outbox.mark_failed,
            self.engine,
            d.id,
            error,
            self.config.max_attempts,
            self.config.backoff_s,
        )
        if after is not None and after.state == outbox.DeliveryState.DEAD:
            log.error(
                "%s %s: delivery dead after %d attempts (%s)",
                d.event_type,
                d.webhook_id,
                after.attempts,
                error,
            )
        else:
            log.warning(
                "%s %s: delivery failed (%s); will retry", d.event_type, d.webhook_id, error
            )

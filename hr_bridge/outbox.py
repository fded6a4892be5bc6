"""Outbox for deliveries to outside HR systems (webhooks).

A delivery row is written in the same transaction as the event it carries (hr_bridge.events),
so an event can never exist without its pending deliveries (and the other way round). A
worker sends due rows with Standard Webhooks signatures, retries with exponential backoff,
and after the last attempt marks the row dead (visible, retryable by an operator). The
webhook id is the event's idempotency key, so receivers can drop duplicates: a retry after a
lost response is safe.
`notify_after_commit` lets the worker look as soon as a transaction with new rows commits,
instead of at its next poll. All other functions block: call them from a worker thread.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Engine, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge.models import UTCDateTime, utcnow

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
NEW_ROWS = "hirestream.outbox.new"  # Session.info flag: this transaction enqueued something


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str = Field(max_length=64, index=True)  # idempotency key for the receiver
    event_type: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    format: str = Field(default="hirestream", max_length=16)  # the subscriber's, applied on send
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=DeliveryState.PENDING, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def enqueue(
    session: Session,
    webhook_id: str,
    event_type: str,
    url: str,
    payload: dict[str, Any],
    format: str = "hirestream",
) -> None:
    """Add a delivery inside the caller's transaction (commit is the caller's)."""
    row = Delivery(
        webhook_id=webhook_id, event_type=event_type, url=url, payload=payload, format=format
    )
    session.add(row)
    session.info[NEW_ROWS] = True


@event.listens_for(OrmSession, "after_begin")
def _new_transaction(session: OrmSession, *_args: Any) -> None:
    session.info.pop(NEW_ROWS, None)  # a rolled-back or finished transaction's flag is stale


def notify_after_commit(engine: Engine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the committing thread) after every commit on `engine` that
    enqueued deliveries. Returns the function that stops it."""

    def after_commit(session: OrmSession) -> None:
        if session.get_bind() is engine and session.info.pop(NEW_ROWS, False):
            callback()

    event.listen(OrmSession, "after_commit", after_commit)
    return lambda: event.remove(OrmSession, "after_commit", after_commit)


def due(engine: Engine, limit: int = 20, now: datetime | None = None) -> list[Delivery]:
    now = now or datetime.now(UTC)
    with Session(engine) as s:
        stmt = (
            select(Delivery)
            .where(Delivery.state == DeliveryState.PENDING, col(Delivery.next_attempt_at) <= now)
            .order_by(col(Delivery.id))
            .limit(limit)
        )
        return list(s.exec(stmt))


def mark_delivered(engine: Engine, delivery_id: int) -> None:
    with Session(engine) as s:
        d = s.get(Delivery, delivery_id)
        if d is not None:
            d.state, d.delivered_at = DeliveryState.DELIVERED, datetime.now(UTC)
            d.attempts += 1
            d.last_error = None
            s.add(d)
            s.commit()


def mark_failed(
    engine: Engine,
    delivery_id: int,
    error: str,
    max_attempts: int,
    backoff_base_s: float = BACKOFF_BASE_S,
) -> Delivery | None:
    """Count a failed attempt; schedule the next after base x 2^(attempts-1) seconds (capped),
    or give up after `max_attempts` (dead)."""
    with Session(engine) as s:
        d = s.get(Delivery, delivery_id)
        if d is None:
            return None
        d.attempts += 1
        d.last_error = error[:500]
        if d.attempts >= max_attempts:
            d.state = DeliveryState.DEAD
        else:
            wait = min(BACKOFF_MAX_S, backoff_base_s * 2 ** (d.attempts - 1))
            d.next_attempt_at = datetime.now(UTC) + timedelta(seconds=wait)
        s.add(d)
        s.commit()
        s.refresh(d)
        return d


def retry_dead(engine: Engine, delivery_id: int) -> None:
    """An operator's retry of a dead delivery."""
    with Session(engine) as s:
        d = s.get(Delivery, delivery_id)
        if d is not None and d.state == DeliveryState.DEAD:
            d.state, d.attempts, d.next_attempt_at = DeliveryState.PENDING, 0, datetime.now(UTC)
            s.add(d)
            s.commit()


def deliveries_for(engine: Engine, webhook_id: str) -> list[Delivery]:
    with Session(engine) as s:
        stmt = select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(col(Delivery.id))
        return list(s.exec(stmt))

"""HR events: an append-only log of what happened in the hiring workflow (decision recorded,
offer sent, offer accepted, employee created, onboarding task created...), each also queued as
a webhook delivery in the same transaction when an HR system is configured.

Payloads hold identifiers and facts, never transcripts, tokens or self-reported demographics.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge.models import UTCDateTime, utcnow
from hr_bridge.outbox import enqueue


class HrEvent(SQLModel, table=True):
    __tablename__ = "hr_event"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200, index=True)  # "interview:<id>", "employee:<id>"
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def emit(
    session: Session, type_: str, subject: str, data: dict[str, Any], urls: Sequence[str] = ()
) -> HrEvent:
    """Add an event (and one delivery per webhook URL) inside the caller's transaction.

    The webhook id is "evt_<event id>": the receiver's idempotency key."""
    event = HrEvent(type=type_, subject=subject, data=data)
    session.add(event)
    session.flush()  # the id is the webhook id
    payload = {
        "type": type_,
        "timestamp": event.at.isoformat(timespec="seconds"),
        "data": {"subject": subject, **data},
    }
    for url in urls:
        enqueue(session, f"evt_{event.id}", type_, url, payload)
    return event


def list_events(engine: Engine, after: int = 0, limit: int = 200) -> list[HrEvent]:
    with Session(engine) as s:
        stmt = select(HrEvent).where(col(HrEvent.id) > after).order_by(col(HrEvent.id))
        return list(s.exec(stmt.limit(limit)))

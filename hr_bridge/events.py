"""Events: one path for everything that happened and may interest an outside system.

An event (decision recorded, offer sent, employee created, interview report finalized...) is
appended to the `hr_event` log and, in the same transaction, queued as one outbox delivery
per matching webhook subscriber. Subscribers (URL, payload format, event types) come from
configuration, written to the `webhook_subscription` table at start-up, so every process
that emits sees the same list and no URL travels through domain calls. The webhook worker is
woken after the transaction commits (outbox.notify_after_commit).

Payloads hold identifiers and facts, never transcripts, tokens or self-reported demographics;
the one exception is the finalized report, which subscribers receive whole (or mapped to
HR-XML or Frappe) because delivering it is their purpose.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge.models import UTCDateTime, utcnow
from hr_bridge.outbox import enqueue

REPORT_FINALIZED = "interview.report.finalized"


class PayloadFormat(enum.StrEnum):
    """How a subscriber wants reports (other events are always {type, timestamp, data})."""

    HIRESTREAM = "hirestream"  # the report JSON
    HR_XML = "hr-xml"  # an HR-XML AssessmentReport
    FRAPPE = "frappe"  # a Frappe HRMS Interview Feedback


class HrEvent(SQLModel, table=True):
    __tablename__ = "hr_event"

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200, index=True)  # "interview:<id>", "employee:<id>"
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class WebhookSubscription(SQLModel, table=True):
    """Who receives which events, in which format (rows written from configuration)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    format: str = Field(default=PayloadFormat.HIRESTREAM, max_length=16)
    # Event types it receives; ["*"] for all.
    event_types: list[str] = Field(default_factory=lambda: ["*"], sa_column=Column(JSON))
    active: bool = Field(default=True, index=True)


@dataclass(frozen=True)
class Subscriber:
    url: str
    format: PayloadFormat = PayloadFormat.HIRESTREAM
    event_types: tuple[str, ...] = ("*",)

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


def sync_subscriptions(engine: Engine, subscribers: Sequence[Subscriber]) -> None:
    """Make the active subscriptions exactly the configured ones (blocking; at start-up).

    Rows are kept (deactivated) rather than deleted, so old deliveries still name a known
    subscriber."""
    wanted = {(s.url, s.format.value, tuple(s.event_types)) for s in subscribers}
    with Session(engine) as s:
        seen: set[tuple[str, str, tuple[str, ...]]] = set()
        for row in s.exec(select(WebhookSubscription)):
            key = (row.url, row.format, tuple(row.event_types or ["*"]))
            row.active = key in wanted and key not in seen
            seen.add(key)
            s.add(row)
        for url, fmt, types in wanted - seen:
            s.add(WebhookSubscription(url=url, format=fmt, event_types=list(types)))
        s.commit()


def active_subscribers(session: Session) -> list[Subscriber]:
    stmt = select(WebhookSubscription).where(WebhookSubscription.active == True)  # noqa: E712
    return [
        Subscriber(r.url, PayloadFormat(r.format), tuple(r.event_types or ["*"]))
        for r in session.exec(stmt.order_by(col(WebhookSubscription.id)))
    ]


def payload(
    type_: str,
    at: datetime,
    subject: str,
    data: Mapping[str, Any],
    body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical delivery body; `body` replaces `data` as the content (the report). A
    subscriber's format (HR-XML, Frappe) is applied when it is sent (integrations)."""
    content = dict(body) if body is not None else {"subject": subject, **data}
    return {"type": type_, "timestamp": at.isoformat(timespec="seconds"), "data": content}


def emit(
    session: Session,
    type_: str,
    subject: str,
    data: dict[str, Any],
    *,
    body: Mapping[str, Any] | None = None,
    webhook_id: str | None = None,
) -> HrEvent:
    """Append an event and one delivery per interested subscriber, inside the caller's
    transaction (the commit is the caller's).

    The webhook id, the receiver's idempotency key, is "evt_<event id>" unless given (a
    report keeps its interview id, as receivers have always deduplicated reports by it)."""
    event = HrEvent(type=type_, subject=subject, data=data)
    session.add(event)
    session.flush()  # the id is the webhook id
    content = payload(type_, event.at, subject, data, body)
    for sub in active_subscribers(session):
        if sub.wants(type_):
            key = webhook_id or f"evt_{event.id}"
            enqueue(session, key, type_, sub.url, content, sub.format.value)
    return event


def list_events(engine: Engine, after: int = 0, limit: int = 200) -> list[HrEvent]:
    with Session(engine) as s:
        stmt = select(HrEvent).where(col(HrEvent.id) > after).order_by(col(HrEvent.id))
        return list(s.exec(stmt.limit(limit)))

"""Tables of the HR record store. Every change here comes with an alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, update


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend. SQLite stores no offset and hands
    back naive values, which JSON would then show without one (browsers read those as local
    time); this attaches UTC on the way out and converts to UTC on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuditEvent(SQLModel, table=True):
    """Append-only trail of who did what to personal data (consent, access, exports, deletion).

    `detail` holds identifiers and facts, never transcripts or tokens.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime(), nullable=False, index=True),
    )
    actor: str = Field(max_length=200, description="who: 'admin', 'candidate:<id>', 'system'...")
    action: str = Field(max_length=100, index=True, description="what: 'consent.given'...")
    subject: str = Field(max_length=200, index=True, description="whose data: 'interview:<id>'")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Rating(SQLModel, table=True):
    """One interviewer's 1-5 rating of one competency of one interview (hr_bridge.ratings).
    `rater` is the stable id of the interviewer's link (a hash of its token id), one row per
    rater and competency; `rater_label` is what people see ("Interviewer 1")."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("interview_id", "rater", "competency", name="uq_rating_seat"),
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_rating_score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", index=True, max_length=32)
    rater: str = Field(max_length=64)
    rater_label: str = Field(max_length=32)
    competency: str = Field(max_length=100)  # the rubric key (catalogue.normalise)
    score: int
    note: str = Field(default="", max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class WorkflowConflict(Exception):
    """The hiring or employee workflow is not in a state that allows this (HTTP 409); the
    message says what is missing."""


def lock_row(session: Session, model: type[SQLModel], row_id: object, touch: str) -> None:
    """Lock one row (by `id`) for the rest of the caller's transaction, on both backends.

    A no-op UPDATE (`touch = touch`) takes the row lock on PostgreSQL and the write lock on
    SQLite, where SELECT ... FOR UPDATE silently does nothing; the checks that follow then
    read state no concurrent transaction can change before this one commits. `touch` is any
    plain column, not a key, so no foreign-key triggers run."""
    column = getattr(model, touch)
    key = getattr(model, "id")  # noqa: B009 (table models have it; SQLModel itself does not)
    session.execute(update(model).where(key == row_id).values({column: column}))

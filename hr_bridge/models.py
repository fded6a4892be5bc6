"""Tables of the HR record store. Every change here comes with an alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """Append-only trail of who did what to personal data (consent, access, exports, deletion).

    `detail` holds identifiers and facts, never transcripts or tokens.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    actor: str = Field(max_length=200, description="who: 'admin', 'candidate:<id>', 'system'...")
    action: str = Field(max_length=100, index=True, description="what: 'consent.given'...")
    subject: str = Field(max_length=200, index=True, description="whose data: 'interview:<id>'")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

"""Write and read the audit trail (blocking; call from a worker thread in async code)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hr_bridge.models import AuditEvent


def add(session: Session, actor: str, action: str, subject: str, **detail: Any) -> AuditEvent:
    """An audit entry inside the caller's transaction: it lands with the change it records."""
    event = AuditEvent(actor=actor, action=action, subject=subject, detail=detail)
    session.add(event)
    return event


def record(engine: Engine, actor: str, action: str, subject: str, **detail: Any) -> AuditEvent:
    """An audit entry on its own (for actions that change nothing else, such as a read)."""
    with Session(engine) as session:
        event = add(session, actor, action, subject, **detail)
        session.commit()
        session.refresh(event)
    return event


def events_for(engine: Engine, subject: str) -> list[AuditEvent]:
    with Session(engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.subject == subject).order_by(col(AuditEvent.id))
        return list(session.exec(stmt))


def page(
    engine: Engine, after: int = 0, limit: int = 100, subject: str | None = None
) -> list[AuditEvent]:
    """Entries after id `after`, oldest first (of one subject when given): a reader pages on
    with the last id it saw."""
    with Session(engine) as session:
        stmt = select(AuditEvent).where(col(AuditEvent.id) > after)
        if subject is not None:
            stmt = stmt.where(AuditEvent.subject == subject)
        return list(session.exec(stmt.order_by(col(AuditEvent.id)).limit(limit)))

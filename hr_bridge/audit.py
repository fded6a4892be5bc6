"""Write and read the audit trail (blocking; call from a worker thread in async code)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hr_bridge.models import AuditEvent


def record(engine: Engine, actor: str, action: str, subject: str, **detail: Any) -> AuditEvent:
    event = AuditEvent(actor=actor, action=action, subject=subject, detail=detail)
    with Session(engine) as session:
        session.add(event)
        session.commit()
        session.refresh(event)
    return event


def events_for(engine: Engine, subject: str) -> list[AuditEvent]:
    with Session(engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.subject == subject).order_by(col(AuditEvent.id))
        return list(session.exec(stmt))

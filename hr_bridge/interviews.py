"""Requisitions and interviews in the SQL store (blocking: call from a worker thread)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, or_, select

from hr_bridge.events import REPORT_FINALIZED, emit
from hr_bridge.models import UTCDateTime, utcnow
from pipeline.scoring import report_model


class InterviewState(enum.StrEnum):
    SCHEDULED = "scheduled"
    CONSENTED = "consented"
    LIVE = "live"
    INTERRUPTED = "interrupted"  # media lost (e.g. a server restart); may resume
    FINISHED = "finished"
    ABANDONED = "abandoned"  # never finished: expired or withdrawn before any report


def _id() -> str:
    return uuid.uuid4().hex


class Requisition(SQLModel, table=True):
    __tablename__ = "requisition"

    id: str = Field(default_factory=_id, primary_key=True, max_length=32)
    title: str = Field(max_length=200)
    language: str = Field(default="en", max_length=8)
    competencies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"text": ..., "time_limit_s": ...}]
    questions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # {"skills": {"python": 75}, "min_years": 3, "certificates": [...]}; see hr_bridge.profiles
    requirements: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Jobs of one kind (e.g. "sales") are analysed together for predictive validity.
    family: str = Field(default="general", max_length=100, index=True)
    # Composite match weights and bands (hr_bridge.matching); None: the rubric's weights.
    match_config: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # {"min": 50000, "max": 65000, "currency": "EUR"}: offers must fall inside it.
    salary_band: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    probation_months: int = 6
    # Follow-up rules for employees hired through it (hr_bridge.followups); None: defaults.
    follow_up_rules: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    synthetic: bool = Field(default=False, index=True)  # generated demo/test data
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Interview(SQLModel, table=True):
    __tablename__ = "interview"

    id: str = Field(default_factory=_id, primary_key=True, max_length=32)
    requisition_id: str = Field(foreign_key="requisition.id", index=True, max_length=32)
    candidate_name: str = Field(max_length=200)
    candidate_ref: str | None = Field(default=None, max_length=200)
    state: str = Field(default=InterviewState.SCHEDULED, max_length=16, index=True)
    affect_allowed: bool = False
    invite_jti: str = Field(default_factory=_id, max_length=32)
    invite_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    notice_version: str | None = Field(default=None, max_length=32)
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    interrupted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Report(SQLModel, table=True):
    """The finalized report of an interview: one per interview (finishing twice makes one)."""

    __tablename__ = "report"

    interview_id: str = Field(foreign_key="interview.id", primary_key=True, max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    rubric_version: str = Field(max_length=32)
    overall: float | None = None
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReportScore(SQLModel, table=True):
    """One competency score of a report, flat, so analytics over many reports are one query."""

    __tablename__ = "report_score"

    interview_id: str = Field(foreign_key="interview.id", primary_key=True, max_length=32)
    competency: str = Field(primary_key=True, max_length=100)
    value: float


class Conflict(Exception):
    """The interview is not in a state that allows this; the message says which."""


Row = TypeVar("Row", bound=SQLModel)


def _insert(engine: Engine, row: Row) -> Row:
    with Session(engine) as s:
        s.add(row)
        s.commit()
        s.refresh(row)
    return row


def create_requisition(engine: Engine, **fields: Any) -> Requisition:
    return _insert(engine, Requisition(**fields))


def get_requisition(engine: Engine, rid: str) -> Requisition | None:
    with Session(engine) as s:
        return s.get(Requisition, rid)


def list_requisitions(engine: Engine, limit: int = 200) -> list[Requisition]:
    with Session(engine) as s:
        stmt = select(Requisition).order_by(col(Requisition.created_at).desc()).limit(limit)
        return list(s.exec(stmt))


def update_requisition(engine: Engine, rid: str, **fields: Any) -> Requisition:
    with Session(engine) as s:
        req = s.get(Requisition, rid)
        if req is None:
            raise KeyError(rid)
        for k, v in fields.items():
            setattr(req, k, v)
        s.add(req)
        s.commit()
        s.refresh(req)
        return req


def create_interview(engine: Engine, **fields: Any) -> Interview:
    return _insert(engine, Interview(**fields))


def get_interview(engine: Engine, iid: str) -> Interview | None:
    with Session(engine) as s:
        return s.get(Interview, iid)


@dataclass(frozen=True)
class Assigned:
    """The records a scoped person may see: these interviews and every interview of these
    requisitions (hr_bridge.roles)."""

    interviews: frozenset[str] = frozenset()
    requisitions: frozenset[str] = frozenset()


def list_interviews(
    engine: Engine,
    limit: int = 100,
    synthetic: bool | None = False,
    within: Assigned | None = None,
) -> list[Interview]:
    """The newest interviews; by default only real ones (None: both); with `within`, only
    those assigned."""
    with Session(engine) as s:
        stmt = select(Interview).order_by(col(Interview.created_at).desc()).limit(limit)
        if synthetic is not None:
            stmt = stmt.join(Requisition).where(Requisition.synthetic == synthetic)
        if within is not None:
            stmt = stmt.where(
                or_(
                    col(Interview.id).in_(within.interviews),
                    col(Interview.requisition_id).in_(within.requisitions),
                )
            )
        return list(s.exec(stmt))


def use_invite(engine: Engine, iid: str, jti: str) -> Interview:
    """Mark the candidate invite used (single use): the media session starts with it."""
    with Session(engine) as s:
        iv = s.exec(select(Interview).where(Interview.id == iid).with_for_update()).first()
        if iv is None:
            raise KeyError(iid)
        if iv.invite_jti != jti or iv.invite_used_at is not None:
            raise PermissionError("this invite was already used")
        iv.invite_used_at = datetime.now(UTC)
        s.add(iv)
        s.commit()
        s.refresh(iv)
        return iv


def release_invite(engine: Engine, iid: str) -> None:
    """Undo use_invite() when the media session could not start at all."""
    with Session(engine) as s:
        iv = s.get(Interview, iid)
        if iv is not None and iv.state != InterviewState.LIVE:
            iv.invite_used_at = None
            s.add(iv)
            s.commit()


def save_report(engine: Engine, iid: str, report: report_model.Report) -> Report:
    """Store the report once, with its flat scores and its `interview.report.finalized` event
    (and so its webhook deliveries) in the same transaction; a second call returns the first
    report unchanged and emits nothing."""
    with Session(engine) as s:
        existing = s.get(Report, iid)
        if existing is not None:
            return existing
        body = report.model_dump(mode="json")
        row = Report(
            interview_id=iid,
            rubric_version=report.rubric_version,
            overall=report.overall,
            body=body,
        )
        s.add(row)
        for name, value in report.scores().items():
            s.add(ReportScore(interview_id=iid, competency=name, value=value))
        if report.overall is not None:
            s.add(ReportScore(interview_id=iid, competency="overall", value=report.overall))
        facts = {"interview_id": iid, "overall": report.overall}
        try:
            s.flush()  # a concurrent finish's report fails here, before the event is written
            emit(s, REPORT_FINALIZED, f"interview:{iid}", facts, body=body, webhook_id=iid)
            s.commit()
        except IntegrityError:  # a concurrent finish stored it first
            s.rollback()
            found = s.get(Report, iid)
            assert found is not None
            return found
        s.refresh(row)
        return row


def list_interviews_with_reports(
    engine: Engine,
    limit: int = 100,
    synthetic: bool | None = False,
    within: Assigned | None = None,
) -> tuple[list[Interview], dict[str, float | None], set[str]]:
    """The newest interviews (of those assigned, with `within`); for those with a report,
    its overall score; and which are synthetic (three small queries)."""
    rows = list_interviews(engine, limit, synthetic, within)
    ids = [iv.id for iv in rows]
    with Session(engine) as s:
        stmt = select(Report.interview_id, Report.overall).where(col(Report.interview_id).in_(ids))
        overall = {iid: value for iid, value in s.exec(stmt)}
        generated = (
            select(Interview.id)
            .join(Requisition)
            .where(
                col(Interview.id).in_(ids),
                Requisition.synthetic == True,  # noqa: E712 (SQL)
            )
        )
        synthetic_ids = set(s.exec(generated))
    return rows, overall, synthetic_ids


def get_report(engine: Engine, iid: str) -> Report | None:
    with Session(engine) as s:
        return s.get(Report, iid)

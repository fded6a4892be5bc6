"""Employees after hiring: onboarding tasks, probation and performance reviews, training
records and the follow-ups rules raise. The interview report stays linked (interview_id), so
an employee's record shows what the interview saw next to what happened later.

All functions block: call them from a worker thread.
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Engine, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, func, select

from hr_bridge import audit, followups
from hr_bridge.events import emit
from hr_bridge.interviews import Report, Requisition
from hr_bridge.models import UTCDateTime, WorkflowConflict, lock_row, utcnow
from pipeline.scoring import report_model


def add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


class TrainingStatus(enum.StrEnum):
    SUGGESTED = "suggested"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    DISMISSED = "dismissed"


class Employee(SQLModel, table=True):
    __tablename__ = "employee"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", unique=True, max_length=32)
    candidate_ref: str | None = Field(default=None, max_length=200)
    name: str = Field(max_length=200)
    requisition_id: str = Field(foreign_key="requisition.id", index=True, max_length=32)
    title: str = Field(max_length=200)
    offer_id: int | None = Field(default=None, foreign_key="job_offer.id")
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    probation_end: date = Field(sa_column=Column(Date, nullable=False))
    synthetic: bool = Field(default=False, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class OnboardingTask(SQLModel, table=True):
    __tablename__ = "onboarding_task"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ProbationReview(SQLModel, table=True):
    __tablename__ = "probation_review"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    month: int  # months since the start
    manager_feedback: str = Field(max_length=4000)
    manager_rating: float  # 1-5
    task_completion: float  # percent of agreed tasks done
    peer_rating: float  # 1-5, the team's rating
    reviewer: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PerformanceReview(SQLModel, table=True):
    __tablename__ = "performance_review"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    period: str = Field(max_length=32)  # "2027", "2027-H1"
    rating: float  # 1-5
    reviewer: str = Field(max_length=200)
    notes: str = Field(default="", max_length=4000)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TrainingRecord(SQLModel, table=True):
    __tablename__ = "training_record"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    course: str = Field(max_length=200)
    status: str = Field(default=TrainingStatus.ENROLLED, max_length=16)
    follow_up_id: int | None = Field(default=None, foreign_key="follow_up.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("employee_id", "rule_id"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    rule_id: str = Field(max_length=64)
    title: str = Field(max_length=300)
    course: str = Field(max_length=200)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="open", max_length=16)  # open, accepted, dismissed
    decided_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


def _employee(s: Session, eid: int) -> Employee:
    e = s.get(Employee, eid)
    if e is None:
        raise KeyError(eid)
    return e


def _writable(s: Session, eid: int) -> Employee:
    """The employee, locked for this transaction (models.lock_row: two reviews at once must
    not raise the same follow-up twice), and never synthetic."""
    lock_row(s, Employee, eid, "name")
    e = _employee(s, eid)
    if e.synthetic:
        raise WorkflowConflict(
            "this is a synthetic (generated) employee, kept for analytics: no changes to it"
        )
    return e


def _newest(s: Session, model: Any, eid: int) -> dict[str, Any] | None:
    stmt = select(model).where(model.employee_id == eid).order_by(col(model.id).desc())
    row = s.exec(stmt.limit(1)).first()
    return None if row is None else row.model_dump()


def _raise_follow_ups(
    s: Session, e: Employee, similarity: followups.Similarity | None = None
) -> list[FollowUp]:
    """Evaluate the requisition's rules on the report and the newest reviews; store new hits
    (a rule fires once per employee) with a suggested training record. `similarity` serves
    the rules' `similar_to` conditions on review text (without it they do not hold)."""
    assert e.id is not None
    req = s.get(Requisition, e.requisition_id)
    report = s.get(Report, e.interview_id)
    rules = (req.follow_up_rules if req else None) or list(followups.DEFAULT_RULES)
    typed = report_model.load_report(report.body) if report else None
    # followups.evaluate takes the report's JSON form: its evidence is stored with the hit.
    competencies = {
        name: score.model_dump(mode="json")
        for name, score in (typed.competencies.items() if typed else ())
    }
    reviews = {
        "probation": _newest(s, ProbationReview, e.id),
        "performance": _newest(s, PerformanceReview, e.id),
    }
    known = set(s.exec(select(FollowUp.rule_id).where(FollowUp.employee_id == e.id)))
    new = []
    for hit in followups.evaluate(
        rules, competencies, {k: v for k, v in reviews.items() if v is not None}, similarity
    ):
        if hit.rule_id in known:
            continue
        known.add(hit.rule_id)
        fu = FollowUp(
            employee_id=e.id,
            rule_id=hit.rule_id,
            title=hit.title,
            course=hit.course,
            evidence=_jsonable(hit.evidence),
        )
        s.add(fu)
        s.flush()
        s.add(
            TrainingRecord(
                employee_id=e.id,
                course=hit.course,
                status=TrainingStatus.SUGGESTED,
                follow_up_id=fu.id,
            )
        )
        emit(
            s,
            "follow_up.raised",
            f"employee:{e.id}",
            {"follow_up_id": fu.id, "rule": hit.rule_id, "course": hit.course},
        )
        new.append(fu)
    return new


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def add_review(
    engine: Engine,
    eid: int,
    kind: str,
    fields: dict[str, Any],
    similarity: followups.Similarity | None = None,
) -> tuple[dict[str, Any], list[FollowUp]]:
    """Store a probation or performance review, then raise the follow-ups it triggers
    (blocking: with `similarity`, a sentence-embedding pass per feedback sentence)."""
    model: Any = {"probation": ProbationReview, "performance": PerformanceReview}[kind]
    with Session(engine) as s:
        e = _writable(s, eid)
        row = model(employee_id=eid, **fields)
        s.add(row)
        s.flush()
        emit(s, f"{kind}_review.added", f"employee:{eid}", {"review_id": row.id})
        new = _raise_follow_ups(s, e, similarity)
        s.commit()
        s.refresh(row)
        for fu in new:
            s.refresh(fu)
        return row.model_dump(mode="json"), new


def add_training(engine: Engine, eid: int, course: str, status: str) -> TrainingRecord:
    TrainingStatus(status)
    with Session(engine) as s:
        _writable(s, eid)
        row = TrainingRecord(employee_id=eid, course=course, status=status)
        if status == TrainingStatus.COMPLETED:
            row.completed_at = utcnow()
        s.add(row)
        s.commit()
        s.refresh(row)
        return row


def set_training_status(engine: Engine, tid: int, status: str) -> TrainingRecord:
    TrainingStatus(status)
    with Session(engine) as s:
        row = s.get(TrainingRecord, tid)
        if row is None:
            raise KeyError(tid)
        _writable(s, row.employee_id)
        row.status = status
        row.completed_at = utcnow() if status == TrainingStatus.COMPLETED else None
        s.add(row)
        s.commit()
        s.refresh(row)
        return row


def decide_follow_up(
    engine: Engine, fid: int, accept: bool, by: str, via: str = "admin API key"
) -> FollowUp:
    """A person accepts (enrols in the suggested course) or dismisses a follow-up."""
    with Session(engine) as s:
        fu = s.get(FollowUp, fid)
        if fu is None:
            raise KeyError(fid)
        _writable(s, fu.employee_id)
        s.refresh(fu)  # after the lock: a concurrent decision is seen
        if fu.state != "open":
            raise WorkflowConflict(f"this follow-up was already {fu.state} by {fu.decided_by}")
        fu.state, fu.decided_by = ("accepted" if accept else "dismissed"), by
        s.add(fu)
        audit.add(
            s, by, f"follow_up.{fu.state}", f"employee:{fu.employee_id}", follow_up=fid, via=via
        )
        for t in s.exec(select(TrainingRecord).where(TrainingRecord.follow_up_id == fid)):
            if t.status == TrainingStatus.SUGGESTED:
                t.status = TrainingStatus.ENROLLED if accept else TrainingStatus.DISMISSED
                s.add(t)
        s.commit()
        s.refresh(fu)
        return fu


def complete_task(engine: Engine, task_id: int) -> OnboardingTask:
    with Session(engine) as s:
        task = s.get(OnboardingTask, task_id)
        if task is None:
            raise KeyError(task_id)
        _writable(s, task.employee_id)
        task.done_at = task.done_at or utcnow()
        s.add(task)
        s.commit()
        s.refresh(task)
        return task


def list_employees(
    engine: Engine, limit: int = 100, offset: int = 0, synthetic: bool | None = False
) -> tuple[list[Employee], int]:
    """A page of employees, newest first, and how many there are (default: real ones only)."""
    with Session(engine) as s:
        stmt = select(Employee)
        count = select(func.count()).select_from(Employee)
        if synthetic is not None:
            stmt = stmt.where(Employee.synthetic == synthetic)
            count = count.where(Employee.synthetic == synthetic)
        page = stmt.order_by(col(Employee.id).desc()).offset(offset).limit(limit)
        return list(s.exec(page)), int(s.exec(count).one())


def employee_view(engine: Engine, eid: int) -> dict[str, Any]:
    """Everything about one employee, the interview included."""
    with Session(engine) as s:
        e = _employee(s, eid)
        report = s.get(Report, e.interview_id)

        def rows(model: Any) -> list[dict[str, Any]]:
            stmt = select(model).where(model.employee_id == eid).order_by(col(model.id))
            return [r.model_dump(mode="json") for r in s.exec(stmt)]

        interview = None
        if report is not None:
            typed = report_model.load_report(report.body)
            interview = {
                "id": e.interview_id,
                "overall": report.overall,
                "competencies": typed.scores(),
                "flags": [f.model_dump(mode="json") for f in typed.flags],
                "generated_at": report_model.iso_seconds(typed.generated_at),
                "report_url": f"/api/interviews/{e.interview_id}/report",
            }
        return {
            "employee": e.model_dump(mode="json"),
            "interview": interview,
            "onboarding": rows(OnboardingTask),
            "probation_reviews": rows(ProbationReview),
            "performance_reviews": rows(PerformanceReview),
            "training": rows(TrainingRecord),
            "follow_ups": rows(FollowUp),
        }


def employee_for_interview(engine: Engine, iid: str) -> int | None:
    with Session(engine) as s:
        return s.exec(select(Employee.id).where(Employee.interview_id == iid)).first()

"""Decisions and job offers: a person decides, the system only recommends.

A decision (advance, offer, hold, reject) is recorded by a named person with a reason, next
to the composite match the system recommended at that moment. An offer can only be drafted
when the interview's latest decision is "offer", and only accepted while that is still so:
the offer row points at its decision (NOT NULL foreign key), so no offer exists without one.
The candidate accepts by typing their name; the time, the typed name and the SHA-256 of the
exact offer text they saw are stored. Acceptance creates the employee record and its
onboarding tasks, and emits events (with webhook deliveries) in the same transaction.

All functions block: call them from a worker thread.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Engine, Text
from sqlmodel import Field, Session, SQLModel, col, select

from hr_bridge import audit
from hr_bridge.employees import Employee, OnboardingTask, add_months
from hr_bridge.events import emit
from hr_bridge.interviews import Interview, InterviewState, Requisition
from hr_bridge.models import UTCDateTime, WorkflowConflict, lock_row, utcnow

ONBOARDING = (
    ("equipment", "Prepare laptop, phone and accounts"),
    ("workspace", "Assign a desk and building access"),
    ("introduction", "Plan the first week with the manager and a buddy"),
)


class DecisionKind(enum.StrEnum):
    ADVANCE = "advance"  # passes the interview stage, more steps follow
    OFFER = "offer"  # passes, and an offer may be made
    HOLD = "hold"
    REJECT = "reject"


PASSED = {DecisionKind.ADVANCE, DecisionKind.OFFER}


class OfferState(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class HiringConflict(WorkflowConflict):
    """The hiring workflow is not in a state that allows this."""


NOT_A_PERSON = {"system", "auto", "automatic", "bot", "ai", "hirestream", "admin", "api"}


def _lock_interview(s: Session, iid: str) -> Interview:
    """Serialize hiring actions on one interview (see models.lock_row); never synthetic."""
    lock_row(s, Interview, iid, "state")
    iv = s.get(Interview, iid)
    if iv is None:
        raise KeyError(iid)
    req = s.get(Requisition, iv.requisition_id)
    if req is not None and req.synthetic:
        raise HiringConflict(
            "this is synthetic (generated) data, kept for analytics: no workflow actions on it"
        )
    return iv


class Decision(SQLModel, table=True):
    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", index=True, max_length=32)
    decision: str = Field(max_length=16)
    reason: str = Field(max_length=2000)
    decided_by: str = Field(max_length=200)  # a person's name: never "system"
    # What the system recommended when the person decided: score, band, reasons.
    recommendation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    decided_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class JobOffer(SQLModel, table=True):
    __tablename__ = "job_offer"

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", index=True, max_length=32)
    decision_id: int = Field(foreign_key="decision.id")  # the human decision behind it
    salary: float
    currency: str = Field(max_length=8)
    probation_months: int
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_sha256: str = Field(max_length=64)
    state: str = Field(default=OfferState.SENT, max_length=16)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    accepted_name: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same_name(typed: str, name: str) -> bool:
    """Typed signature check: case, accents' composition and spacing do not matter."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())

    return bool(norm(typed)) and norm(typed) == norm(name)


def _latest_decision(s: Session, iid: str) -> Decision | None:
    stmt = (
        select(Decision)
        .where(Decision.interview_id == iid)
        .order_by(col(Decision.id).desc())  # insertion order: the analytics read it so too
    )
    return s.exec(stmt.limit(1)).first()


def latest_decision(engine: Engine, iid: str) -> Decision | None:
    with Session(engine) as s:
        return _latest_decision(s, iid)


def decisions_for(engine: Engine, iid: str) -> list[Decision]:
    with Session(engine) as s:
        stmt = select(Decision).where(Decision.interview_id == iid).order_by(col(Decision.id))
        return list(s.exec(stmt))


def record_decision(
    engine: Engine,
    iid: str,
    decision: str,
    reason: str,
    decided_by: str,
    recommendation: dict[str, Any] | None,
    via: str = "admin API key",
) -> Decision:
    """A person's decision on a finished interview. A newer decision replaces the older one
    for the workflow; all are kept. Changing away from "offer" withdraws an open offer."""
    kind = DecisionKind(decision)
    who = decided_by.strip()
    if not any(ch.isalpha() for ch in who) or who.lower() in NOT_A_PERSON:
        raise ValueError("decided_by: the name of the person who decides")
    if len(reason.strip()) < 3:
        raise ValueError("reason: say why (at least a few words)")
    with Session(engine) as s:
        iv = _lock_interview(s, iid)
        if iv.state != InterviewState.FINISHED:
            raise HiringConflict(f"interview is {iv.state}: decide after it has finished")
        offer = _open_offer(s, iid)
        if offer is not None and offer.state == OfferState.ACCEPTED:
            raise HiringConflict("the offer was already accepted: the candidate is an employee")
        row = Decision(
            interview_id=iid,
            decision=kind,
            reason=reason.strip(),
            decided_by=decided_by.strip(),
            recommendation=recommendation,
        )
        s.add(row)
        # A sent offer no longer stands on an "offer" decision: withdrawn.
        withdrawn = offer if offer is not None and kind != DecisionKind.OFFER else None
        if withdrawn is not None:
            withdrawn.state, withdrawn.answered_at = OfferState.WITHDRAWN, utcnow()
            s.add(withdrawn)
        s.flush()
        emit(
            s,
            "decision.recorded",
            f"interview:{iid}",
            {"decision": kind.value, "decision_id": row.id, "decided_by": row.decided_by},
        )
        if withdrawn is not None:
            data = {"offer_id": withdrawn.id, "by": row.decided_by, "decision_id": row.id}
            emit(s, "offer.withdrawn", f"interview:{iid}", data)
        audit.add(
            s, row.decided_by, "decision.recorded", f"interview:{iid}", decision=kind, via=via
        )
        s.commit()
        s.refresh(row)
    return row


def _open_offer(s: Session, iid: str) -> JobOffer | None:
    stmt = (
        select(JobOffer)
        .where(
            JobOffer.interview_id == iid,
            col(JobOffer.state).in_([OfferState.SENT, OfferState.ACCEPTED]),
        )
        .order_by(col(JobOffer.id).desc())
    )
    return s.exec(stmt.limit(1)).first()


def current_offer(engine: Engine, iid: str) -> JobOffer | None:
    """The newest offer of the interview, in whatever state."""
    with Session(engine) as s:
        stmt = select(JobOffer).where(JobOffer.interview_id == iid)
        return s.exec(stmt.order_by(col(JobOffer.id).desc()).limit(1)).first()


def offer_text(
    name: str,
    title: str,
    salary: float,
    currency: str,
    probation_months: int,
    start: date,
    language: str = "en",
) -> str:
    """The offer the candidate reads and accepts; its SHA-256 is stored with the acceptance."""
    end = add_months(start, probation_months).isoformat()
    if language == "zh":
        return (
            f"录用通知\n\n{name}，您好：\n\n我们很高兴向您提供{title}职位。\n"
            f"年薪：{salary:,.0f} {currency}。\n入职日期：{start.isoformat()}。\n"
            f"试用期：{probation_months}个月，至{end}结束。\n\n"
            "如接受，请在下方输入您的全名。您的接受将连同时间和本文本的指纹（SHA-256）一起记录。"
        )
    return (
        f"Offer of employment\n\n"
        f"Dear {name},\n\n"
        f"We are pleased to offer you the position of {title}.\n"
        f"Annual salary: {salary:,.0f} {currency}.\n"
        f"Start date: {start.isoformat()}.\n"
        f"Probation: {probation_months} months, ending {end}.\n\n"
        "To accept, type your full name below. Your acceptance is recorded with its time and "
        "a fingerprint (SHA-256) of this text."
    )


def create_offer(
    engine: Engine,
    iid: str,
    salary: float,
    start_date: date,
    created_by: str,
    probation_months: int | None = None,
    via: str = "admin API key",
) -> JobOffer:
    """Draft and send the offer. Needs the latest decision to be a person's "offer"."""
    if salary != int(salary):
        raise ValueError("salary: whole currency units (the offer text shows no decimals)")
    if start_date < datetime.now(UTC).date():
        raise ValueError("start_date: today or later")
    with Session(engine) as s:
        iv = _lock_interview(s, iid)
        decision = _latest_decision(s, iid)
        if decision is None or decision.decision != DecisionKind.OFFER:
            raise HiringConflict(
                "no recorded decision to make an offer: a person must first record the "
                "decision 'offer' with a reason"
            )
        if _open_offer(s, iid) is not None:
            raise HiringConflict("an offer is already open: withdraw it first")
        req = s.get(Requisition, iv.requisition_id)
        assert req is not None
        band = req.salary_band or {}
        currency = str(band.get("currency", "EUR"))
        lo, hi = band.get("min"), band.get("max")
        if (lo is not None and salary < float(lo)) or (hi is not None and salary > float(hi)):
            raise ValueError(f"salary: the requisition's band is {lo}-{hi} {currency}")
        assert decision.id is not None
        months = probation_months if probation_months is not None else req.probation_months
        text = offer_text(
            iv.candidate_name, req.title, salary, currency, months, start_date, req.language
        )
        row = JobOffer(
            interview_id=iid,
            decision_id=decision.id,
            salary=salary,
            currency=currency,
            probation_months=months,
            start_date=start_date,
            text=text,
            text_sha256=sha256(text),
            created_by=created_by,
        )
        s.add(row)
        s.flush()
        emit(s, "offer.sent", f"interview:{iid}", {"offer_id": row.id})
        audit.add(s, created_by, "offer.sent", f"interview:{iid}", offer_id=row.id, via=via)
        s.commit()
        s.refresh(row)
    return row


def withdraw_offer(engine: Engine, iid: str, by: str, via: str = "admin API key") -> JobOffer:
    with Session(engine) as s:
        _lock_interview(s, iid)
        offer = _open_offer(s, iid)
        if offer is None or offer.state != OfferState.SENT:
            raise HiringConflict("no open offer to withdraw")
        offer.state, offer.answered_at = OfferState.WITHDRAWN, utcnow()
        s.add(offer)
        emit(s, "offer.withdrawn", f"interview:{iid}", {"offer_id": offer.id, "by": by})
        audit.add(s, by, "offer.withdrawn", f"interview:{iid}", offer_id=offer.id, via=via)
        s.commit()
        s.refresh(offer)
    return offer


def answer_offer(
    engine: Engine,
    iid: str,
    accept: bool,
    typed_name: str,
    text_sha256: str,
) -> tuple[JobOffer, Employee | None]:
    """The candidate accepts (creating the employee and onboarding tasks) or declines."""
    with Session(engine) as s:
        iv = _lock_interview(s, iid)
        offer = _open_offer(s, iid)
        if offer is None or offer.state != OfferState.SENT:
            raise HiringConflict("there is no open offer to answer")
        decision = _latest_decision(s, iid)
        if decision is None or decision.decision != DecisionKind.OFFER:
            raise HiringConflict("the decision behind this offer has changed: no acceptance")
        if text_sha256 != offer.text_sha256:
            raise HiringConflict("the offer text changed since it was shown: reload it")
        if accept and not same_name(typed_name, iv.candidate_name):
            raise ValueError("typed_name: type your full name exactly as shown in the offer")
        offer.state = OfferState.ACCEPTED if accept else OfferState.DECLINED
        offer.accepted_name = typed_name.strip() if accept else None
        offer.answered_at = utcnow()
        s.add(offer)
        employee: Employee | None = None
        if not accept:
            emit(s, "offer.declined", f"interview:{iid}", {"offer_id": offer.id})
        else:
            employee = _hire(s, iv, offer)
        audit.add(
            s,
            "candidate",
            "offer.accepted" if accept else "offer.declined",
            f"interview:{iid}",
            offer_id=offer.id,
            text_sha256=offer.text_sha256,
        )
        s.commit()
        s.refresh(offer)
        if employee is not None:
            s.refresh(employee)
    return offer, employee


def _hire(s: Session, iv: Interview, offer: JobOffer) -> Employee:
    req = s.get(Requisition, iv.requisition_id)
    assert req is not None and offer.id is not None
    employee = Employee(
        interview_id=iv.id,
        candidate_ref=iv.candidate_ref,
        name=iv.candidate_name,
        requisition_id=iv.requisition_id,
        title=req.title,
        offer_id=offer.id,
        start_date=offer.start_date,
        probation_end=add_months(offer.start_date, offer.probation_months),
        synthetic=req.synthetic,
    )
    s.add(employee)
    s.flush()
    assert employee.id is not None
    emit(
        s,
        "offer.accepted",
        f"interview:{iv.id}",
        {"offer_id": offer.id, "employee_id": employee.id, "text_sha256": offer.text_sha256},
    )
    emit(
        s,
        "employee.created",
        f"employee:{employee.id}",
        {"interview_id": iv.id, "start_date": offer.start_date.isoformat(), "title": req.title},
    )
    for kind, title in ONBOARDING:
        task = OnboardingTask(
            employee_id=employee.id, kind=kind, title=title, due_date=offer.start_date
        )
        s.add(task)
        s.flush()
        emit(
            s,
            "onboarding.task.created",
            f"employee:{employee.id}",
            {"task_id": task.id, "kind": kind, "title": title, "due": offer.start_date.isoformat()},
        )
    return employee

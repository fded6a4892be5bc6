"""Voluntary self-identification (sex, race or ethnicity) for adverse-impact monitoring.

Kept apart from the profile and the report: interviewers, scores and reports never see it;
it is read only in aggregate by the adverse-impact analytics. Every answer may be "declined";
not answering at all leaves no row. Categories follow the US EEO-1 lists, the most common
reporting standard; a company elsewhere changes these tuples.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Engine
from sqlmodel import Field, Session, SQLModel, select

from hr_bridge.hiring import Decision
from hr_bridge.interviews import Interview
from hr_bridge.models import UTCDateTime, lock_row, utcnow

DECLINED = "declined"
SEX = ("female", "male", "non-binary", DECLINED)
RACE_ETHNICITY = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Asian",
    "Native Hawaiian or Other Pacific Islander",
    "American Indian or Alaska Native",
    "Two or more races",
    DECLINED,
)


class SelfId(SQLModel, table=True):
    __tablename__ = "self_id"

    interview_id: str = Field(foreign_key="interview.id", primary_key=True, max_length=32)
    sex: str | None = Field(default=None, max_length=64)
    race_ethnicity: str | None = Field(default=None, max_length=64)
    reported_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Closed(Exception):
    """Answers are only taken before the first decision on the application."""


def _decided(s: Session, interview_id: str) -> bool:
    """Answers are open only before any decision: afterwards whether someone answers could
    depend on the outcome, which would bias the adverse-impact rates."""
    stmt = select(Decision.id).where(Decision.interview_id == interview_id).limit(1)
    return s.exec(stmt).first() is not None


def record(engine: Engine, interview_id: str, sex: str | None, race_ethnicity: str | None) -> None:
    """Store (or replace) the candidate's answers; values must come from the lists above.
    Checked and written under the interview's lock, so a decision cannot slip in between."""
    if sex is not None and sex not in SEX:
        raise ValueError(f"sex: choose one of {', '.join(SEX)}")
    if race_ethnicity is not None and race_ethnicity not in RACE_ETHNICITY:
        raise ValueError(f"race_ethnicity: choose one of {', '.join(RACE_ETHNICITY)}")
    with Session(engine) as s:
        lock_row(s, Interview, interview_id, "state")  # the lock hiring actions take too
        if _decided(s, interview_id):
            raise Closed("self-identification closes when the first decision is made")
        row = s.get(SelfId, interview_id) or SelfId(interview_id=interview_id)
        row.sex, row.race_ethnicity, row.reported_at = sex, race_ethnicity, utcnow()
        s.add(row)
        s.commit()


def has_answered(engine: Engine, interview_id: str) -> bool:
    with Session(engine) as s:
        return s.get(SelfId, interview_id) is not None


def status(engine: Engine, interview_id: str) -> dict[str, bool]:
    """What the candidate's page may know: answered (never what), and still open."""
    with Session(engine) as s:
        return {
            "answered": s.get(SelfId, interview_id) is not None,
            "open": not _decided(s, interview_id),
        }

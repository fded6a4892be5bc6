"""The HTTP API's request and response shapes, in one place (handlers, the CLI's imports and the
generated OpenAPI document all use these).

Every model refuses NaN and ±Infinity; every string is bounded and free of NUL (PostgreSQL text
cannot hold it); ids are bounded to the database's integer range.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from analytics import queries
from hr_bridge import followups
from hr_bridge.profiles import NO_NUL, Profile

MAX_ID = 2**31 - 1  # ids are INTEGER on PostgreSQL


# Bounded, NUL-free strings.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
OptShort = Annotated[str, StringConstraints(min_length=0, max_length=200, pattern=NO_NUL)]
Label = Annotated[str, StringConstraints(min_length=0, max_length=100, pattern=NO_NUL)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_NUL)]
Email = Annotated[str, StringConstraints(min_length=0, max_length=320, pattern=NO_NUL)]
Sdp = Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024, pattern=NO_NUL)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=2000, pattern=NO_NUL)]
QText = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)]
Notes = Annotated[str, StringConstraints(min_length=0, max_length=4000, pattern=NO_NUL)]
Option = Annotated[str, StringConstraints(min_length=0, max_length=64, pattern=NO_NUL)]


class Schema(BaseModel):
    """Base of every request and response model: finite numbers only."""

    model_config = ConfigDict(allow_inf_nan=False)


class ErrorOut(Schema):
    error: str
    field: str | None = None  # the offending field (dotted path), when one is to blame


# Path and query parameters


class IdPath(Schema):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class RecordPath(Schema):
    id: int = Field(ge=1, le=MAX_ID)


Data = Literal["real", "synthetic", "all"]


class DataQuery(Schema):
    data: Data = "real"


class PageQuery(Schema):
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_ID)


class EmployeesQuery(PageQuery):
    data: Data = "real"


class ViewerQuery(Schema):
    as_: Literal["candidate", "interviewer"] = Field("interviewer", alias="as")


class ReportQuery(Schema):
    format: Literal["json", "html"] = "json"


class EventsQuery(Schema):
    after: int = Field(0, ge=0, le=MAX_ID)


class ValidityQuery(Schema):
    data: Data = "real"
    outcome: queries.Outcome = "performance"
    min_n: int = Field(30, ge=3, le=100_000)


class PlotQuery(ValidityQuery):
    family: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    competency: str = Field(min_length=1, max_length=100, pattern=NO_NUL)


class ImpactQuery(Schema):
    data: Data = "real"
    family: str | None = Field(None, max_length=100, pattern=NO_NUL)
    requisition: str | None = Field(None, max_length=32, pattern=NO_NUL)
    threshold: float = Field(0.8, gt=0, le=1)
    min_group: int = Field(5, ge=1, le=10_000)
    format: Literal["json", "csv"] = "json"


# Request bodies: requisitions, interviews, candidates


class Competency(Schema):
    name: Name
    weight: float = Field(1.0, ge=0, le=100)


class Concept(Schema):
    name: Name
    synonyms: list[Name] = Field(default_factory=list, max_length=20)


class Question(Schema):
    text: QText
    time_limit_s: int = Field(120, ge=10, le=1800)
    targets: list[Name] = Field(default_factory=list, max_length=10)  # competencies it probes
    concepts: list[Name | Concept] = Field(default_factory=list, max_length=30)  # expected


class Requirements(Schema):
    skills: dict[Name, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict, max_length=100
    )  # name -> level 0-100
    min_years: float | None = Field(None, ge=0, le=60)
    certificates: list[Short] = Field(default_factory=list, max_length=30)


class CandidateIn(Schema):
    ref: Short
    name: Short
    email: Email | None = None
    profile: Profile = Field(default_factory=Profile)


class MatchPart(Schema):
    kind: Literal["competency", "fact", "requirements"]
    name: Name | None = None
    label: Label | None = None
    weight: float = Field(ge=0, le=100)
    required: float | None = Field(None, ge=0, le=100)  # on the 0-100 scale
    scale: tuple[float, float] | None = None  # a fact's own units -> 0-100

    @model_validator(mode="after")
    def _named(self) -> MatchPart:
        if self.kind != "requirements" and not self.name:
            raise ValueError(f"a {self.kind} part needs a name")
        if self.scale is not None and not self.scale[0] < self.scale[1]:
            raise ValueError("scale: [low, high] with low < high")
        return self


class MatchBands(Schema):
    high: float = Field(75, ge=0, le=100)
    medium: float = Field(55, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> MatchBands:
        if self.medium > self.high:
            raise ValueError("bands: medium must not be above high")
        return self


class MatchConfig(Schema):
    parts: list[MatchPart] = Field(min_length=1, max_length=30)
    bands: MatchBands = Field(default_factory=MatchBands)

    @model_validator(mode="after")
    def _weighted(self) -> MatchConfig:
        if sum(p.weight for p in self.parts) <= 0:
            raise ValueError("parts: the weights must not all be zero")
        return self


class SalaryBand(Schema):
    min: float = Field(ge=0, le=1e12)
    max: float = Field(ge=0, le=1e12)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _ordered(self) -> SalaryBand:
        if self.min > self.max:
            raise ValueError("salary_band: min must not be above max")
        return self


class RequisitionIn(Schema):
    title: Short
    language: Literal["en", "zh"] = "en"
    # Names (equal weights) or {"name", "weight"}; default: the five standard competencies.
    competencies: list[Name | Competency] = Field(default_factory=list, max_length=30)
    questions: list[Question] = Field(min_length=1, max_length=50)
    requirements: Requirements | None = None
    family: Name = "general"  # analysed together
    match: MatchConfig | None = None  # composite match weights; default: the rubric's
    salary_band: SalaryBand | None = None
    probation_months: int = Field(6, ge=0, le=24)
    follow_up_rules: list[followups.FollowUpRule] | None = Field(None, max_length=50)

    @model_validator(mode="after")
    def _rules(self) -> RequisitionIn:
        if self.follow_up_rules is not None:
            followups.check_rules(self.follow_up_rules)  # duplicates, review fields
        return self

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for hr_bridge.interviews.create_requisition."""
        return {
            "title": self.title,
            "language": self.language,
            "competencies": [
                c if isinstance(c, str) else c.model_dump() for c in self.competencies
            ],
            "questions": [q.model_dump() for q in self.questions],
            "requirements": self.requirements.model_dump() if self.requirements else None,
            "family": self.family.strip().lower(),
            "match_config": self.match.model_dump() if self.match else None,
            "salary_band": self.salary_band.model_dump() if self.salary_band else None,
            "probation_months": self.probation_months,
            "follow_up_rules": None
            if self.follow_up_rules is None
            else followups.check_rules(self.follow_up_rules),
        }


class InterviewIn(Schema):
    requisition_id: str = Field(min_length=1, max_length=32, pattern=NO_NUL)
    candidate_name: Short | None = None
    candidate_ref: OptShort | None = None  # a stored candidate
    affect_allowed: bool = False  # the interview's analysis policy: facial expressions
    interviewers: int = Field(1, ge=1, le=10)


class ConsentIn(Schema):
    accepted: bool
    notice_version: Tag


class OfferIn(Schema):
    sdp: Sdp
    type: Literal["offer"] = "offer"


class QuestionIn(Schema):
    index: int = Field(ge=0, le=1000)


# Request bodies: decisions, offers, employees


class DecisionIn(Schema):
    decision: Literal["advance", "offer", "hold", "reject"]
    reason: Reason
    decided_by: Short


class JobOfferIn(Schema):
    salary: float = Field(gt=0, le=1e12)
    start_date: date
    probation_months: int | None = Field(None, ge=0, le=24)
    created_by: Short


class WithdrawIn(Schema):
    by: Short


class AnswerIn(Schema):
    accept: bool
    typed_name: OptShort = ""
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SelfIdIn(Schema):
    sex: Option | None = None
    race_ethnicity: Option | None = None


class ProbationIn(Schema):
    month: int = Field(ge=0, le=24)
    manager_feedback: LongText
    manager_rating: float = Field(ge=1, le=5)
    task_completion: float = Field(ge=0, le=100)
    peer_rating: float = Field(ge=1, le=5)
    reviewer: Short


class PerformanceIn(Schema):
    period: Tag
    rating: float = Field(ge=1, le=5)
    reviewer: Short
    notes: Notes = ""


TrainingStatus = Literal["suggested", "enrolled", "completed", "dismissed"]


class TrainingIn(Schema):
    course: Short
    status: TrainingStatus = "enrolled"


class TrainingStatusIn(Schema):
    status: TrainingStatus


class FollowUpIn(Schema):
    accept: bool
    by: Short


# Responses (the shapes clients rely on; extra keys may appear)


class Created(Schema):
    id: str
    title: str


class InterviewCreated(Schema):
    id: str
    state: str
    candidate_url: str
    interviewer_urls: list[str]
    invite_expires_at: str


class IceServerOut(Schema):
    urls: list[str]
    username: str | None
    credential: str | None


class InterviewOut(Schema):
    id: str
    state: str
    candidate_name: str
    affect_allowed: bool
    consent_at: str | None
    notice_version: str
    started_at: str | None
    finished_at: str | None
    requisition: dict[str, Any] | None
    ice_servers: list[IceServerOut]


class InterviewRow(Schema):
    id: str
    candidate_name: str
    state: str
    created_at: str
    overall: float | None
    report: bool
    synthetic: bool


class ConsentOut(Schema):
    state: str
    consent_at: str | None


class FinishOut(Schema):
    state: str
    id: str


class ImportOut(Schema):
    created: int
    updated: int


class MatchLineOut(Schema):
    requirement: str
    required: float | str
    actual: float | str | None
    percent: float
    reason: str


class MatchOut(Schema):
    overall: float | None
    lines: list[MatchLineOut]


class BackgroundOut(Schema):
    candidate: dict[str, Any]
    match: MatchOut | None


class AnswerSdp(Schema):
    sdp: str
    type: Literal["answer"]


class QuestionOut(Schema):
    index: int


class OfferOut(Schema):
    id: int
    state: str
    salary: float
    currency: str
    probation_months: int
    start_date: str
    text: str
    text_sha256: str
    created_at: str
    answered_at: str | None
    accepted_name: str | None


class OfferCreated(OfferOut):
    candidate_url: str


class CandidateOffer(OfferOut):
    candidate_name: str
    self_id_answered: bool
    self_id_open: bool


class OfferAnswered(OfferOut):
    employee_id: int | None


class LinkOut(Schema):
    candidate_url: str


class DecisionStateOut(Schema):
    interview_id: str
    state: str
    employee_id: int | None
    recommendation: dict[str, Any] | None
    decisions: list[dict[str, Any]]
    offer: OfferOut | None


class SelfIdOptions(Schema):
    sex: list[str]
    race_ethnicity: list[str]


class SelfIdStatus(Schema):
    answered: bool
    open: bool


class Recorded(Schema):
    recorded: bool


class EmployeePage(Schema):
    total: int
    offset: int
    employees: list[dict[str, Any]]


class ReviewOut(Schema):
    review: dict[str, Any]
    follow_ups: list[dict[str, Any]]


Json = dict[str, Any]
JsonList = list[dict[str, Any]]

"""The HTTP API's request and response shapes, in one place (handlers, the CLI's imports and the
generated OpenAPI document all use these).

Every model refuses NaN and ±Infinity; every string is bounded and free of NUL (PostgreSQL text
cannot hold it); ids are bounded to the database's integer range.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from analytics import queries
from analytics.adverse_impact import GroupRate
from hr_bridge import followups
from hr_bridge.profiles import NO_NUL, Profile
from pipeline.scoring.report_model import Flag, Report

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
# The interview languages: recognition models, scoring norms and every page's text exist for these.
Language = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = get_args(Language)
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


Level = Annotated[int, Field(ge=1, le=5)]
AnchorText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]


class Competency(Schema):
    name: Name
    weight: float = Field(1.0, ge=0, le=100)
    # A catalogue measure (id or name) or "interviewer_only"; None: found by the name.
    measure: Name | None = None
    # The interviewers' 1-5 scale (e.g. 1, 3 and 5); None: the measure's default anchors.
    anchors: dict[Level, AnchorText] | None = Field(None, max_length=5)


class Concept(Schema):
    name: Name
    synonyms: list[Name] = Field(default_factory=list, max_length=20)


class Question(Schema):
    text: QText
    time_limit_s: int = Field(120, ge=10, le=1800)
    thinking_s: int = Field(0, ge=0, le=600)  # thinking time before the answer (0: none)
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
    kind: Literal["competency", "rating", "fact", "requirements"]
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
    language: Language = "en"
    # Names (equal weights) or {"name", "weight", "measure", "anchors"}; default: the five
    # standard competencies. A measure the engine does not have is refused (400).
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
                c if isinstance(c, str) else c.model_dump(exclude_none=True)
                for c in self.competencies
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
    decided_by: Short | None = None  # for keys only: a signed-in person is recorded as such


class JobOfferIn(Schema):
    salary: float = Field(gt=0, le=1e12)
    start_date: date
    probation_months: int | None = Field(None, ge=0, le=24)
    created_by: Short | None = None  # for keys only, as decided_by


class WithdrawIn(Schema):
    by: Short | None = None  # for keys only, as decided_by


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
    reviewer: Short | None = None  # for keys only, as decided_by


class PerformanceIn(Schema):
    period: Tag
    rating: float = Field(ge=1, le=5)
    reviewer: Short | None = None  # for keys only, as decided_by
    notes: Notes = ""


TrainingStatus = Literal["suggested", "enrolled", "completed", "dismissed"]


class TrainingIn(Schema):
    course: Short
    status: TrainingStatus = "enrolled"


class TrainingStatusIn(Schema):
    status: TrainingStatus


class FollowUpIn(Schema):
    accept: bool
    by: Short | None = None  # for keys only, as decided_by


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
    # Candidate view (?as=candidate): where to resume and whether this link may rejoin now.
    question_index: int | None = None
    resumable: bool = False
    rejoin_until: str | None = None
    captions: bool = False


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


# Requisitions, the composite match and the ranking (hr_bridge.ranking, hr_bridge.matching)


class CompetencyOut(Schema):
    name: str
    weight: float
    measure: str | None = None
    anchors: dict[int, str] | None = None


class RequirementsOut(Schema):
    """As stored (hr_bridge.profiles); a key a script left out stays absent."""

    skills: dict[str, float] = Field(default_factory=dict)
    min_years: float | None = None
    certificates: list[str] = Field(default_factory=list)


class MatchPartSpecOut(Schema):
    """A configured part; the default configuration has only kind, name and weight."""

    kind: Literal["competency", "rating", "fact", "requirements"]
    name: str | None = None
    label: str | None = None
    weight: float
    required: float | None = None
    scale: tuple[float, float] | None = None


class MatchBandsOut(Schema):
    high: float
    medium: float


class MatchConfigOut(Schema):
    parts: list[MatchPartSpecOut]
    bands: MatchBandsOut


class SalaryBandOut(Schema):
    min: float
    max: float
    currency: str


class FollowUpRuleOut(Schema):
    id: str
    title: str
    course: str
    when: dict[str, dict[str, followups.Condition]]  # source -> field -> condition


class RequisitionOut(Schema):
    id: str
    title: str
    language: str
    family: str
    competencies: list[str | CompetencyOut]  # names (equal weights) or weighted
    requirements: RequirementsOut | None
    salary_band: SalaryBandOut | None
    probation_months: int
    match: MatchConfigOut  # the configured one, else the rubric's default
    match_configured: bool
    follow_up_rules: list[FollowUpRuleOut] | None  # None: the default rules
    synthetic: bool
    created_at: str


class MatchPartOut(Schema):
    kind: str
    name: str
    label: str
    weight: float  # share of the configured weight, 0-1
    value: float | None  # 0-100, None without data
    raw: float | None  # in the fact's own units
    required: float | None
    met: bool | None
    points: float | None
    reason: str


class RecommendationOut(Schema):
    """A composite match with its reasons (hr_bridge.matching.Match)."""

    score: float | None
    band: Literal["high", "medium", "low", "incomplete"]
    coverage: float
    parts: list[MatchPartOut]
    recommendation: str
    missing: list[str]  # labels of the parts without data
    possible_bands: list[Literal["high", "medium", "low"]]  # what the missing data allows


class RankedOut(Schema):
    interview_id: str
    candidate_name: str
    candidate_ref: str | None
    finished_at: str | None
    overall: float | None
    match: RecommendationOut
    decision: str | None  # the latest one
    decided_by: str | None
    offer: str | None  # the latest offer's state
    employee_id: int | None


class RankingOut(Schema):
    requisition: RequisitionOut
    total: int
    bands: dict[str, int]  # band -> candidates
    offset: int
    candidates: list[RankedOut]


class DecisionOut(Schema):
    id: int
    interview_id: str
    decision: str
    reason: str
    decided_by: str
    recommendation: RecommendationOut | None  # what the system said when the person decided
    decided_at: str


class DecisionStateOut(Schema):
    interview_id: str
    state: str
    employee_id: int | None
    recommendation: RecommendationOut | None
    decisions: list[DecisionOut]
    offer: OfferOut | None


class SiteOut(Schema):
    contact: str | None  # whom a candidate with a bad or expired link contacts
    languages: list[str]


class SelfIdOptions(Schema):
    sex: list[str]
    race_ethnicity: list[str]


class SelfIdStatus(Schema):
    answered: bool
    open: bool


class Recorded(Schema):
    recorded: bool


# Employees (hr_bridge.employees): rows as stored, dates and times in ISO 8601


class EmployeeRowOut(Schema):
    id: int
    interview_id: str
    candidate_ref: str | None
    name: str
    requisition_id: str
    title: str
    offer_id: int | None
    start_date: str
    probation_end: str
    synthetic: bool
    created_at: str


class EmployeePage(Schema):
    total: int
    offset: int
    employees: list[EmployeeRowOut]


class OnboardingTaskOut(Schema):
    id: int
    employee_id: int
    kind: str
    title: str
    due_date: str
    done_at: str | None


class ProbationReviewOut(Schema):
    id: int
    employee_id: int
    month: int
    manager_feedback: str
    manager_rating: float
    task_completion: float
    peer_rating: float
    reviewer: str
    at: str


class PerformanceReviewOut(Schema):
    id: int
    employee_id: int
    period: str
    rating: float
    reviewer: str
    notes: str
    at: str


class TrainingOut(Schema):
    id: int
    employee_id: int
    course: str
    status: TrainingStatus
    follow_up_id: int | None  # the follow-up that suggested it
    at: str
    completed_at: str | None


class FollowUpOut(Schema):
    id: int
    employee_id: int
    rule_id: str
    title: str
    course: str
    # source -> the conditions that fired; an interview item quotes the report's evidence,
    # whose shape is the report's (pipeline.scoring.report_model), so the items stay open.
    evidence: dict[str, list[dict[str, Any]]]
    state: Literal["open", "accepted", "dismissed"]
    decided_by: str | None
    created_at: str


class EmployeeInterviewOut(Schema):
    id: str
    overall: float | None
    competencies: dict[str, float]
    flags: list[Flag]
    generated_at: str
    report_url: str


class EmployeeOut(Schema):
    employee: EmployeeRowOut
    interview: EmployeeInterviewOut | None  # None without a report
    onboarding: list[OnboardingTaskOut]
    probation_reviews: list[ProbationReviewOut]
    performance_reviews: list[PerformanceReviewOut]
    training: list[TrainingOut]
    follow_ups: list[FollowUpOut]


class ReviewOut(Schema):
    review: ProbationReviewOut | PerformanceReviewOut
    follow_ups: list[FollowUpOut]


class HrEventOut(Schema):
    id: int
    type: str
    subject: str  # "interview:<id>", "employee:<id>"
    data: dict[str, Any]  # each event type has its own payload (ids, states, names)
    at: str


# Analytics (analytics.queries, analytics.adverse_impact)


class CorrelationOut(Schema):
    competency: str
    n: int
    pearson: float | None
    pearson_p: float | None
    pearson_ci: tuple[float, float] | None
    spearman: float | None
    spearman_p: float | None
    spearman_ci: tuple[float, float] | None
    small_n: bool
    note: str


class FamilyValidityOut(Schema):
    family: str
    employees: int
    competencies: list[CorrelationOut]


class ValidityOut(Schema):
    data: Data
    synthetic: bool
    label: str | None = None  # present only for synthetic data
    outcome: queries.Outcome
    outcome_label: str
    min_n: int
    resamples: int
    method: str
    families: list[FamilyValidityOut]


class ImpactStageOut(Schema):
    stage: str
    dimension: str
    base: int
    missing: dict[str, int]  # reason -> people
    reference_group: str | None
    suppressed: dict[str, int]  # {"groups", "applicants"} left out for privacy
    groups: list[GroupRate]  # the domain's own dataclass: one definition of a group's row


class ImpactOut(Schema):
    synthetic: bool
    label: str | None = None  # present only for synthetic data
    threshold: float | None  # None when there are no stages
    min_group: int | None
    method: str
    stages: list[ImpactStageOut]
    data: Data
    family: str | None
    requisition_id: str | None
    applications: int
    pending: int
    pending_note: str


# Interviewers' ratings (hr_bridge.ratings) and their agreement with the AI (analytics.agreement)


class RatingPath(IdPath):
    competency: str = Field(min_length=1, max_length=100, pattern=NO_NUL)


class RatingIn(Schema):
    score: int = Field(ge=1, le=5)  # on the competency's anchored scale
    note: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] = ""


class RatingOut(Schema):
    rater: str  # "Interviewer 1": the link that rated, in the order links first rated
    competency: str
    score: int
    note: str
    updated_at: str


class ScorecardItemOut(Schema):
    key: str  # the competency as ratings name it
    label: str  # in the interview's language where the catalogue has it
    measure: str | None  # None: rated by interviewers only
    anchors: dict[int, str]  # level (1-5) -> the behaviour that earns it
    rating: RatingOut | None  # this link's own rating


class ScorecardOut(Schema):
    interview_id: str
    state: str
    language: str
    can_rate: bool  # live, interrupted or finished
    rater: str | None  # this link's label once it has rated
    competencies: list[ScorecardItemOut]


class CompetencyRatingsOut(Schema):
    mean: float  # over the raters who rated it
    n: int
    ratings: list[RatingOut]


class InterviewRatingsOut(Schema):
    interview_id: str
    competencies: dict[str, CompetencyRatingsOut]


class ReportOut(Report):
    """The stored report; for the admin key, the interviewers' ratings per competency merged
    in when read (the stored body is never changed)."""

    human_ratings: dict[str, CompetencyRatingsOut] | None = Field(
        default=None, exclude_if=lambda v: v is None
    )


class AgreementQuery(Schema):
    data: Data = "real"
    requisition: str | None = Field(None, max_length=32, pattern=NO_NUL)
    family: str | None = Field(None, max_length=100, pattern=NO_NUL)


class AgreementRowOut(Schema):
    competency: str
    label: str
    n: int  # interviews with an AI value and at least one rating
    abstained: int  # rated, but the AI abstained (no value): left out of n
    mean_ai: float | None  # 0-100
    mean_human: float | None  # 1-5
    pearson: float | None
    kappa: float | None  # quadratic-weighted
    disagree: bool
    note: str


class AgreementOut(Schema):
    data: Data
    synthetic: bool
    label: str | None = None  # present only for synthetic data
    requisition_id: str | None
    family: str | None
    interviews: int  # rated interviews with a report
    min_n: int
    r_below: float
    kappa_below: float
    method: str
    competencies: list[AgreementRowOut]

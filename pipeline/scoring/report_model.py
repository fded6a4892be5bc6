"""The finalized interview report as one typed model.

The scorer's reports (pipeline.scoring.report), the synthetic cohort's, the stored bodies,
the webhook payloads, the JSON download and the exports all have this shape. Its JSON
(`model_dump(mode="json")`) is a public contract and the bodies stored before this model
existed validate unchanged: keys keep their order, and keys that only some reports carry
(the synthetic mark, a flag's detail or times, a requisition's family) are left out, not
written as null, when absent. Numbers must be finite: NaN or infinity is refused here
rather than stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
)

# 2: scores may abstain (value null with a status), competencies name their measure, the
# overall says whether it is complete; version-1 bodies validate unchanged.
REPORT_VERSION = 2
DECISION_NOTE = "A person decides. These scores are evidence for that decision, not a verdict."

FlagKind = Literal[
    "several_faces",  # another face in more than 5% of the analysed frames
    "long_absence",  # no face for 5 s or more
    "stage_degraded",  # an analysis stage failed and did not recover
    "no_speech",  # no usable answer was transcribed: no scores
    "repetition_loop",  # a recognition loop ("4-4-4-4...") was dropped, not scored
    "echo",  # a transcript that repeats the question or prompt was dropped, not scored
    "wrong_language",  # an answer not in the interview's language: not scored on language
    "interviewer_only",  # competencies the engine cannot measure: rated by interviewers only
    "interrupted",  # the live session did not end by finish
    "gap",  # the connection dropped and the candidate rejoined: no media from start to end
    "synthetic",  # generated demo data
]


def iso_seconds(value: datetime) -> str:
    """A report's timestamp as its JSON writes it: "2026-11-30T16:51:41+00:00"."""
    return value.isoformat(timespec="seconds")


def _absent(value: object) -> bool:
    return value is None


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Route = Literal["lexical", "semantic"]
ScoreStatus = Literal["scored", "insufficient_evidence", "interviewer_only"]


class EvidenceSpan(_Part):
    """What a score rests on: a phrase or a measurement, with its media times (s). Phrases
    matched by meaning carry the route "semantic" and their cosine similarity; by words,
    "lexical"."""

    kind: str  # "filler", "pause", "structure:result", "concept:budget", "pace", "face"...
    text: str
    start: float
    end: float
    utterance: int | None = None  # None: a measurement over the answer, not one utterance
    route: Route | None = Field(default=None, exclude_if=_absent)
    similarity: float | None = Field(default=None, exclude_if=_absent)
    matched: str | None = Field(default=None, exclude_if=_absent)  # the concept or prototype


class CompetencyScore(_Part):
    """One competency on 0-100, its confidence in 0-1, what it was computed from and its
    evidence. Without enough evidence (`status` insufficient_evidence, `needs` says what was
    missing) or for a competency the engine cannot measure (interviewer_only) the value is
    null: no evidence, no number."""

    value: float | None
    confidence: float
    # Written only when there is no value ("scored" is left out, so version-1 bodies keep
    # their JSON): a value is always a scored value.
    status: ScoreStatus = Field(default="scored", exclude_if=lambda v: v == "scored")
    label: str | None = Field(default=None, exclude_if=_absent)  # the requisition's name
    measure: str | None = Field(default=None, exclude_if=_absent)  # catalogue id
    formula: str | None = Field(default=None, exclude_if=_absent)
    needs: str | None = Field(default=None, exclude_if=_absent)  # the evidence missing
    # Counts stay integers (star_parts: 4), sub-scores floats: the JSON keeps each as it was.
    components: dict[str, int | float] = Field(default_factory=dict)
    evidence: list[EvidenceSpan] = Field(default_factory=list)


class TranscriptLine(_Part):
    utterance: int
    start: float
    end: float
    text: str
    # Set when the line was kept out of scoring: repetition_loop, echo or wrong_language.
    dropped: str | None = Field(default=None, exclude_if=_absent)


class QuestionResult(_Part):
    """One answer: the question, the competencies it targets, its transcript and scores."""

    index: int
    question: str | None  # None: answered past the end of the rubric's questions
    targets: list[str] = Field(default_factory=list)
    transcript: list[TranscriptLine] = Field(default_factory=list)
    scores: dict[str, CompetencyScore] = Field(default_factory=dict)


class Flag(_Part):
    """Something a reviewer should know before trusting the scores. Which fields are set
    depends on the flag: several_faces, no_speech, interrupted and synthetic have a
    `detail`; long_absence `start` and `end`; stage_degraded `stage`, `t` and `reason`; gap
    `start`, `end` (media times: the timeline goes on through the gap) and `reason`."""

    flag: FlagKind
    detail: str | None = Field(default=None, exclude_if=_absent)
    question: int | None = Field(default=None, exclude_if=_absent)
    start: float | None = Field(default=None, exclude_if=_absent)
    end: float | None = Field(default=None, exclude_if=_absent)
    stage: str | None = Field(default=None, exclude_if=_absent)
    t: float | None = Field(default=None, exclude_if=_absent)
    reason: str | None = Field(default=None, exclude_if=_absent)


class RequisitionRef(_Part):
    """The job the interview was for (live reports: id and title; synthetic: title and
    family)."""

    id: str | None = Field(default=None, exclude_if=_absent)
    title: str | None = Field(default=None, exclude_if=_absent)
    family: str | None = Field(default=None, exclude_if=_absent)


class Report(_Part):
    """Everything a recruiter needs to check a score, and what the candidate is told."""

    report_version: int = REPORT_VERSION
    # Generated demo data only (analytics.synthetic); absent from real reports.
    synthetic: bool = Field(default=False, exclude_if=lambda v: not v)
    label: str | None = Field(default=None, exclude_if=_absent)
    interview_id: str
    candidate_name: str | None
    requisition: RequisitionRef | None
    # Whole seconds, written like "2026-11-30T16:51:41+00:00" (the format also in the
    # serialization schema, which would otherwise only say string).
    generated_at: AwareDatetime = Field(json_schema_extra={"format": "date-time"})
    rubric_version: str
    weights: dict[str, float]  # competency -> rubric weight (summing to 1)
    models: dict[str, str]  # model -> version it was scored with
    affect_analysed: bool
    overall: float | None  # None: too little of the weight had values (incomplete)
    # "incomplete": less than MIN_OVERALL_COVERAGE of the measurable weight has values;
    # `missing` names the competencies without one.
    overall_status: Literal["scored", "incomplete"] = Field(
        default="scored", exclude_if=lambda v: v == "scored"
    )
    coverage: float | None = Field(default=None, exclude_if=_absent)  # weight with values
    missing: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)
    competencies: dict[str, CompetencyScore]
    questions: list[QuestionResult]
    flags: list[Flag]
    candidate_summary: str
    decision: str = DECISION_NOTE

    @field_validator("generated_at")
    @classmethod
    def _whole_seconds(cls, value: datetime) -> datetime:
        """The JSON keeps whole seconds: a report in hand equals its stored form."""
        return value.replace(microsecond=0)

    @field_serializer("generated_at")
    def _seconds(self, value: datetime) -> str:
        return iso_seconds(value)

    def scores(self) -> dict[str, float]:
        """Competency -> value, for those that have one (the overall not included)."""
        return {name: s.value for name, s in self.competencies.items() if s.value is not None}


def load_report(body: Report | Mapping[str, Any]) -> Report:
    """A stored body (or a payload) as a Report; a Report is returned as it is."""
    return body if isinstance(body, Report) else Report.model_validate(body)

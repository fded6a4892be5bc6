"""The interview REST API, signaling and the live WebSocket (contract in openapi.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, field_validator, model_validator

from hr_bridge import followups, profiles
from hr_bridge import interviews as db
from hr_bridge.interviews import Conflict
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY
from server.auth import Auth, AuthError
from server.settings import Settings
from server.web_util import (
    SYNTHETIC_FILTER,
    admin_or,
    data_choice,
    engine_of,
    error,
    interview_or_404,
    read_body,
    require_admin,
    settings_of,
    token_claims,
)

log = logging.getLogger(__name__)


# Request bodies (validated at the edge)


class Competency(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(1.0, ge=0, le=100)


class Concept(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    synonyms: list[str] = Field(default_factory=list, max_length=20)


class Question(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    time_limit_s: int = Field(120, ge=10, le=1800)
    targets: list[str] = Field(default_factory=list, max_length=10)  # competencies it probes
    concepts: list[str | Concept] = Field(default_factory=list, max_length=30)  # expected


class Requirements(BaseModel):
    skills: dict[str, float] = Field(default_factory=dict)  # name -> level 0-100
    min_years: float | None = Field(None, ge=0, le=60)
    certificates: list[str] = Field(default_factory=list, max_length=30)


class CandidateIn(BaseModel):
    ref: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    profile: dict[str, Any] = Field(default_factory=dict)


class MatchPart(BaseModel):
    kind: Literal["competency", "fact", "requirements"]
    name: str | None = Field(None, min_length=1, max_length=100)
    label: str | None = Field(None, max_length=100)
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


class MatchBands(BaseModel):
    high: float = Field(75, ge=0, le=100)
    medium: float = Field(55, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> MatchBands:
        if self.medium > self.high:
            raise ValueError("bands: medium must not be above high")
        return self


class MatchConfig(BaseModel):
    parts: list[MatchPart] = Field(min_length=1, max_length=30)
    bands: MatchBands = Field(default_factory=MatchBands)

    @model_validator(mode="after")
    def _weighted(self) -> MatchConfig:
        if sum(p.weight for p in self.parts) <= 0:
            raise ValueError("parts: the weights must not all be zero")
        return self


class SalaryBand(BaseModel):
    min: float = Field(ge=0)
    max: float = Field(ge=0)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _ordered(self) -> SalaryBand:
        if self.min > self.max:
            raise ValueError("salary_band: min must not be above max")
        return self


class RequisitionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    language: Literal["en", "zh"] = "en"
    # Names (equal weights) or {"name", "weight"}; default: the five standard competencies.
    competencies: list[str | Competency] = Field(default_factory=list, max_length=30)
    questions: list[Question] = Field(min_length=1, max_length=50)
    requirements: Requirements | None = None
    family: str = Field("general", min_length=1, max_length=100)  # analysed together
    match: MatchConfig | None = None  # composite match weights; default: the rubric's
    salary_band: SalaryBand | None = None
    probation_months: int = Field(6, ge=0, le=24)
    follow_up_rules: list[dict[str, Any]] | None = Field(None, max_length=50)

    @field_validator("follow_up_rules")
    @classmethod
    def _rules(cls, v: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return None if v is None else followups.check_rules(v)

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
            "follow_up_rules": self.follow_up_rules,
        }


class InterviewIn(BaseModel):
    requisition_id: str = Field(min_length=1, max_length=32)
    candidate_name: str | None = Field(None, min_length=1, max_length=200)
    candidate_ref: str | None = Field(None, max_length=200)  # a candidate in the store
    affect_allowed: bool = False  # the interview's analysis policy: facial expressions
    interviewers: int = Field(1, ge=1, le=10)


class ConsentIn(BaseModel):
    accepted: bool
    notice_version: str = Field(min_length=1, max_length=32)


class OfferIn(BaseModel):
    sdp: str = Field(min_length=1)
    type: Literal["offer"] = "offer"


class QuestionIn(BaseModel):
    index: int = Field(ge=0)


def _view(iv: db.Interview, req: db.Requisition | None) -> dict[str, Any]:
    return {
        "id": iv.id,
        "state": iv.state,
        "candidate_name": iv.candidate_name,
        "affect_allowed": iv.affect_allowed,
        "consent_at": iv.consent_at.isoformat() if iv.consent_at else None,
        "notice_version": iv.notice_version,
        "started_at": iv.started_at.isoformat() if iv.started_at else None,
        "finished_at": iv.finished_at.isoformat() if iv.finished_at else None,
        "requisition": None
        if req is None
        else {
            "id": req.id,
            "title": req.title,
            "language": req.language,
            "competencies": req.competencies,
            "questions": req.questions,
        },
    }


# Handlers


async def create_requisition(request: web.Request) -> web.Response:
    require_admin(request)
    body: RequisitionIn = await read_body(request, RequisitionIn)
    req = await asyncio.to_thread(db.create_requisition, engine_of(request), **body.fields())
    return web.json_response({"id": req.id, "title": req.title}, status=201)


def interview_links(settings: Settings, auth: Auth, iv: db.Interview, n: int) -> dict[str, Any]:
    """Candidate and interviewer URLs. Tokens ride in the fragment: never sent to servers."""
    base = settings.effective_public_url
    invite = auth.issue(iv.id, "candidate", settings.invite_ttl_s, jti=iv.invite_jti)
    watchers = [auth.issue(iv.id, "interviewer", settings.interviewer_ttl_s) for _ in range(n)]
    return {
        "candidate_url": f"{base}/interview/{iv.id}#token={invite}",
        "interviewer_urls": [f"{base}/live/{iv.id}#token={t}" for t in watchers],
        "invite_expires_at": (
            datetime.now(UTC) + timedelta(seconds=settings.invite_ttl_s)
        ).isoformat(timespec="seconds"),
    }


async def create_interview(request: web.Request) -> web.Response:
    require_admin(request)
    body: InterviewIn = await read_body(request, InterviewIn)
    engine = engine_of(request)
    req = await asyncio.to_thread(db.get_requisition, engine, body.requisition_id)
    if req is None:
        raise error(web.HTTPBadRequest, "requisition_id: no such requisition")
    if req.synthetic:
        raise error(web.HTTPBadRequest, "requisition_id: a synthetic requisition (demo data)")
    name = body.candidate_name
    if body.candidate_ref:
        cand = await asyncio.to_thread(profiles.get_candidate, engine, body.candidate_ref)
        if cand is None:
            raise error(web.HTTPBadRequest, "candidate_ref: no such candidate (import it first)")
        name = name or cand.name
    if not name:
        raise error(web.HTTPBadRequest, "candidate_name or candidate_ref is required")
    iv = await asyncio.to_thread(
        db.create_interview,
        engine,
        requisition_id=body.requisition_id,
        candidate_name=name,
        candidate_ref=body.candidate_ref,
        affect_allowed=body.affect_allowed,
    )
    links = interview_links(settings_of(request), request.app[AUTH_KEY], iv, body.interviewers)
    return web.json_response({"id": iv.id, "state": iv.state, **links}, status=201)


async def get_interview(request: web.Request) -> web.Response:
    admin_or(request, "candidate" if request.query.get("as") == "candidate" else "interviewer")
    iv = await interview_or_404(request)
    req = await asyncio.to_thread(db.get_requisition, engine_of(request), iv.requisition_id)
    settings = settings_of(request)
    return web.json_response(
        _view(iv, req)
        | {
            "notice_version": iv.notice_version or settings.notice_version,
            "ice_servers": [
                {
                    "urls": s.urls,
                    "username": s.username,
                    "credential": s.credential.get_secret_value() if s.credential else None,
                }
                for s in settings.ice_servers
            ],
        }
    )


async def consent(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: ConsentIn = await read_body(request, ConsentIn)
    settings = settings_of(request)
    if not body.accepted:
        raise error(web.HTTPBadRequest, "no analysis without consent: accepted must be true")
    if body.notice_version != settings.notice_version:
        raise error(web.HTTPConflict, f"the notice changed: version {settings.notice_version}")
    try:
        iv = await request.app[INTERVIEWS_KEY].consent(claims.interview, body.notice_version)
    except Conflict as err:
        raise error(web.HTTPConflict, str(err)) from None
    return web.json_response(
        {"state": iv.state, "consent_at": iv.consent_at.isoformat() if iv.consent_at else None}
    )


async def finish(request: web.Request) -> web.Response:
    admin_or(request, "candidate")
    iv = await interview_or_404(request)
    try:
        request.app[AUTH_KEY].check_admin(request.headers.get("Authorization"))
        actor = "admin"
    except AuthError:
        actor = "candidate"
    iv = await request.app[INTERVIEWS_KEY].finish(iv.id, actor)
    return web.json_response({"state": iv.state, "id": iv.id})


async def report(request: web.Request) -> web.StreamResponse:
    """The finalized report: JSON, or a printable HTML page with ?format=html."""
    admin_or(request, "interviewer")
    row = await asyncio.to_thread(db.get_report, engine_of(request), request.match_info["id"])
    if row is None:
        raise error(web.HTTPNotFound, "no report yet: it is made when the interview finishes")
    if request.query.get("format") == "html":
        from server.report_html import render

        return web.Response(text=render(row.body), content_type="text/html")
    return web.json_response(row.body, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def import_candidates(request: web.Request) -> web.Response:
    require_admin(request)
    raw = await request.read()
    try:
        rows = [CandidateIn.model_validate(c).model_dump() for c in json.loads(raw or b"null")]
    except (ValueError, TypeError) as err:
        raise error(web.HTTPBadRequest, f"expected a JSON list of candidates: {err}") from None
    new, updated = await asyncio.to_thread(profiles.upsert_candidates, engine_of(request), rows)
    return web.json_response({"created": new, "updated": updated})


async def background(request: web.Request) -> web.Response:
    """What interviewers see before the interview: the profile and its match to requirements."""
    admin_or(request, "interviewer")
    iv = await interview_or_404(request)
    engine = engine_of(request)
    req = await asyncio.to_thread(db.get_requisition, engine, iv.requisition_id)
    cand = (
        await asyncio.to_thread(profiles.get_candidate, engine, iv.candidate_ref)
        if iv.candidate_ref
        else None
    )
    if cand is None:
        return web.json_response({"candidate": {"name": iv.candidate_name}, "match": None})
    lines, overall = profiles.match(cand.profile, (req.requirements if req else None) or {})
    return web.json_response(
        {
            "candidate": {"name": cand.name, "ref": cand.ref, **cand.profile},
            "match": {"overall": overall, "lines": [vars(x) for x in lines]},
        }
    )


async def list_interviews(request: web.Request) -> web.Response:
    require_admin(request)
    engine = engine_of(request)
    synthetic = SYNTHETIC_FILTER[data_choice(request)]
    rows, overall, generated = await asyncio.to_thread(
        db.list_interviews_with_reports, engine, 100, synthetic
    )
    return web.json_response(
        [
            {
                "id": iv.id,
                "candidate_name": iv.candidate_name,
                "state": iv.state,
                "created_at": iv.created_at.isoformat(),
                "overall": overall.get(iv.id),
                "report": iv.id in overall,
                "synthetic": iv.id in generated,
            }
            for iv in rows
        ]
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/requisitions", create_requisition)
    r.add_post("/api/interviews", create_interview)
    r.add_get("/api/interviews", list_interviews)
    r.add_post("/api/candidates", import_candidates)
    r.add_get("/api/interviews/{id}/background", background)
    r.add_get("/api/interviews/{id}", get_interview)
    r.add_post("/api/interviews/{id}/consent", consent)
    r.add_post("/api/interviews/{id}/finish", finish)
    r.add_get("/api/interviews/{id}/report", report)

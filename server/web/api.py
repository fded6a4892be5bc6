"""The interview REST API: requisitions, candidates, interviews, consent, finish, reports,
interviewers' ratings and their agreement with the AI
(each operation declared in OPERATIONS; models in server/web/schemas.py)."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from analytics import agreement
from hr_bridge import audit, profiles, ratings
from hr_bridge import interviews as db
from hr_bridge.interviews import Conflict
from hr_bridge.roles import Action
from pipeline.scoring.rubric import DEFAULT_COMPETENCIES, competencies_from
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY
from server.settings import Settings
from server.web.access import PERSON_LINK, rater_account
from server.web.auth import Auth, Claims
from server.web.contract import Inputs, Operation, Reply, Scheme, add
from server.web.schemas import (
    LANGUAGES,
    AgreementOut,
    AgreementQuery,
    BackgroundOut,
    CandidateIn,
    ConsentIn,
    ConsentOut,
    Created,
    DataQuery,
    FinishOut,
    IdPath,
    ImportOut,
    InterviewCreated,
    InterviewIn,
    InterviewOut,
    InterviewRatingsOut,
    InterviewRow,
    RatingIn,
    RatingOut,
    RatingPath,
    ReportOut,
    RequisitionIn,
    ScorecardOut,
    SiteOut,
    ViewerQuery,
)
from server.web.util import (
    SYNTHETIC_FILTER,
    engine_of,
    error,
    interview_or_404,
    json_response,
    settings_of,
)

MAX_IMPORT_BYTES = 1 << 20  # one request of candidates: the app's body cap


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


async def create_requisition(
    request: web.Request, inp: Inputs[RequisitionIn, None, None]
) -> web.Response:
    fields = inp.body.fields()
    try:  # the rubric's own check: an unknown measure, the same name twice
        competencies_from(fields["competencies"] or list(DEFAULT_COMPETENCIES))
    except ValueError as err:
        raise error(web.HTTPBadRequest, str(err), "competencies") from None
    engine = engine_of(request)
    req = await asyncio.to_thread(db.create_requisition, engine, **fields)
    await asyncio.to_thread(
        audit.record, engine, inp.staff.actor, "requisition.created", f"requisition:{req.id}"
    )
    return json_response({"id": req.id, "title": req.title}, status=201)


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


async def create_interview(
    request: web.Request, inp: Inputs[InterviewIn, None, None]
) -> web.Response:
    body = inp.body
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
    await asyncio.to_thread(
        audit.record, engine, inp.staff.actor, "interview.scheduled", f"interview:{iv.id}"
    )
    return json_response({"id": iv.id, "state": iv.state, **links}, status=201)


async def get_interview(
    request: web.Request, inp: Inputs[None, ViewerQuery, IdPath]
) -> web.Response:
    if inp.claims is not None and inp.claims.role != inp.query.as_:  # ?as=candidate for them
        raise error(web.HTTPUnauthorized, f"this token is not a {inp.query.as_} token")
    iv = await interview_or_404(request)
    req = await asyncio.to_thread(db.get_requisition, engine_of(request), iv.requisition_id)
    settings = settings_of(request)
    service = request.app[INTERVIEWS_KEY]
    held = await service.question_now(iv.id)
    until = service.rejoin_until(iv)
    return json_response(
        _view(iv, req)
        | {
            "notice_version": iv.notice_version or settings.notice_version,
            "ice_servers": [s.plain() for s in settings.ice_servers],
            "question_index": held[0] if held else None,
            "resumable": inp.claims is not None and service.may_rejoin(iv, inp.claims.jti),
            "rejoin_until": until.isoformat() if until else None,
            "captions": settings.candidate_captions,
        }
    )


async def consent(request: web.Request, inp: Inputs[ConsentIn, None, IdPath]) -> web.Response:
    claims, body = inp.token, inp.body
    settings = settings_of(request)
    if not body.accepted:
        raise error(web.HTTPBadRequest, "no analysis without consent: accepted must be true")
    if body.notice_version != settings.notice_version:
        raise error(web.HTTPConflict, f"the notice changed: version {settings.notice_version}")
    try:
        iv = await request.app[INTERVIEWS_KEY].consent(claims.interview, body.notice_version)
    except Conflict as err:
        raise error(web.HTTPConflict, str(err)) from None
    return json_response(
        {"state": iv.state, "consent_at": iv.consent_at.isoformat() if iv.consent_at else None}
    )


async def finish(request: web.Request, inp: Inputs[None, None, IdPath]) -> web.Response:
    iv = await interview_or_404(request)
    actor = inp.principal.actor if inp.principal is not None else "candidate"
    iv = await request.app[INTERVIEWS_KEY].finish(iv.id, actor)
    return web.json_response({"state": iv.state, "id": iv.id})


async def report(request: web.Request, inp: Inputs[None, None, IdPath]) -> web.Response:
    """The finalized report. Those who may see this interview's decisions (decisions:read)
    get the interviewers' ratings merged in beside the AI scores; an interviewer (link token
    or assigned account) reads the report as stored, so raters do not see each other's
    ratings. Pages render it with web_client/static/report-view.js (one renderer)."""
    engine = engine_of(request)
    row = await asyncio.to_thread(db.get_report, engine, inp.path.id)
    if row is None:
        raise error(web.HTTPNotFound, "no report yet: it is made when the interview finishes")
    who = inp.principal
    if who is None:  # an interviewer's link: the report as stored, no further reads
        return json_response(row.body)
    iv = await interview_or_404(request)
    # Every rater's ratings go to those who decide on this interview, never to a rater.
    if not who.sees_interview(Action.DECISIONS_READ, iv.id, iv.requisition_id):
        return json_response(row.body)
    human = ratings.summary(await asyncio.to_thread(ratings.read, engine, inp.path.id))
    return json_response({**row.body, "human_ratings": human})


def _rater(claims: Claims) -> str:
    return ratings.rater_id(claims.interview, claims.jti)


async def scorecard(request: web.Request, inp: Inputs[None, None, IdPath]) -> web.Response:
    """The interviewer's scorecard: each competency with its anchors and this link's rating."""
    rater = _rater(inp.token)
    iv = await interview_or_404(request)
    engine = engine_of(request)
    req = await asyncio.to_thread(db.get_requisition, engine, iv.requisition_id)
    assert req is not None  # a foreign key
    own = {r.competency: r for r in await asyncio.to_thread(ratings.read, engine, iv.id, rater)}
    return json_response(
        {
            "interview_id": iv.id,
            "state": iv.state,
            "language": req.language,
            "can_rate": iv.state in ratings.RATABLE and not req.synthetic,
            "rater": next((r.rater_label for r in own.values()), None),
            "competencies": [
                {
                    "key": item.key,
                    "label": item.label,
                    "measure": item.measure,
                    "anchors": item.anchors,
                    "rating": ratings.view(own[item.key]) if item.key in own else None,
                }
                for item in ratings.scale(req)
            ],
        }
    )


async def rate(request: web.Request, inp: Inputs[RatingIn, None, RatingPath]) -> web.Response:
    """Record or replace this interviewer link's rating of one competency."""
    claims, body = inp.token, inp.body
    engine = engine_of(request)
    actor = None
    if claims.jti.startswith(PERSON_LINK):  # a signed-in person's live link (staff_api)
        person = await rater_account(request, claims)
        actor = f"{person.name} <{person.email}> via live link"
    record = functools.partial(ratings.record, engine, claims.interview, _rater(claims))
    try:
        row = await asyncio.to_thread(record, inp.path.competency, body.score, body.note, actor)
    except KeyError:
        raise error(web.HTTPNotFound, "no such interview") from None
    except Conflict as err:
        raise error(web.HTTPConflict, str(err)) from None
    except ValueError as err:
        raise error(web.HTTPBadRequest, str(err), "competency") from None
    return json_response(ratings.view(row))


async def import_candidates(
    request: web.Request, inp: Inputs[list[CandidateIn], None, None]
) -> web.Response:
    rows = [c.model_dump() for c in inp.body]
    engine = engine_of(request)
    new, updated = await asyncio.to_thread(profiles.upsert_candidates, engine, rows)
    await asyncio.to_thread(
        audit.record, engine, inp.staff.actor, "candidates.imported", "candidates",
        created=new, updated=updated,
    )  # fmt: skip
    return json_response({"created": new, "updated": updated})


def _stored_profile(data: Any) -> dict[str, Any]:
    """A profile stored before profiles were checked may not fit the shape: shown as empty
    rather than breaking the interviewer's page."""
    try:
        return profiles.Profile.model_validate(data).model_dump(exclude_none=True)
    except ValidationError:
        return {}


async def background(request: web.Request, _inp: Inputs[None, None, IdPath]) -> web.Response:
    """What interviewers see before the interview: the profile and its match to requirements."""
    iv = await interview_or_404(request)
    engine = engine_of(request)
    req = await asyncio.to_thread(db.get_requisition, engine, iv.requisition_id)
    cand = (
        await asyncio.to_thread(profiles.get_candidate, engine, iv.candidate_ref)
        if iv.candidate_ref
        else None
    )
    if cand is None:
        return json_response({"candidate": {"name": iv.candidate_name}, "match": None})
    profile = _stored_profile(cand.profile)
    lines, overall = profiles.match(profile, (req.requirements if req else None) or {})
    return json_response(
        {
            "candidate": {**profile, "name": cand.name, "ref": cand.ref},
            "match": {"overall": overall, "lines": [vars(x) for x in lines]},
        }
    )


async def list_interviews(request: web.Request, inp: Inputs[None, DataQuery, None]) -> web.Response:
    engine = engine_of(request)
    synthetic = SYNTHETIC_FILTER[inp.query.data]
    within = inp.staff.assigned(Action.INTERVIEWS_READ)
    rows, overall, generated = await asyncio.to_thread(
        db.list_interviews_with_reports, engine, 100, synthetic, within
    )
    return json_response(
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


async def interview_ratings(request: web.Request, _inp: Inputs[None, None, IdPath]) -> web.Response:
    """Every interviewer's ratings of the interview, per competency (mean, n, notes)."""
    iv = await interview_or_404(request)
    rows = await asyncio.to_thread(ratings.read, engine_of(request), iv.id)
    return json_response({"interview_id": iv.id, "competencies": ratings.summary(rows)})


async def ai_agreement(
    request: web.Request, inp: Inputs[None, AgreementQuery, None]
) -> web.Response:
    """AI scores against interviewers' ratings per competency (analytics.agreement)."""
    q = inp.query
    out = await asyncio.to_thread(
        agreement.agreement, engine_of(request), q.data, q.requisition or None, q.family or None
    )
    return json_response(out)


async def site(request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    """What any page may show before it knows who is asking: the contact for link problems."""
    return json_response(
        SiteOut(contact=settings_of(request).contact, languages=list(LANGUAGES)).model_dump()
    )


STAFF: tuple[Scheme, ...] = ("staff",)
INTERVIEWER: tuple[Scheme, ...] = ("interviewer",)

OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    Operation(
        "GET",
        "/api/site",
        site,
        "Public: the contact for candidates with a bad or expired link, and the languages",
        (),
        {200: Reply("OK", SiteOut)},
    ),
    Operation(
        "POST",
        "/api/requisitions",
        create_requisition,
        "Create a job requisition with its questions",
        STAFF,
        {
            201: Reply("created", Created),
            400: "invalid body, or a competency mapped to a measure the engine does not have",
        },
        body=RequisitionIn,
        action=Action.REQUISITIONS_WRITE,
    ),
    Operation(
        "GET",
        "/api/interviews",
        list_interviews,
        "The newest 100 interviews with state, overall score and whether synthetic",
        STAFF,
        {200: Reply("OK", list[InterviewRow])},
        query=DataQuery,
        action=Action.INTERVIEWS_READ,
    ),
    Operation(
        "POST",
        "/api/interviews",
        create_interview,
        "Schedule an interview; returns the candidate invite and interviewer URLs",
        STAFF,
        {
            201: Reply("scheduled", InterviewCreated),
            400: "invalid body, or no such requisition or candidate",
        },
        body=InterviewIn,
        action=Action.INTERVIEWS_WRITE,
    ),
    Operation(
        "POST",
        "/api/candidates",
        import_candidates,
        "Add or update candidates (by ref); body: a JSON list",
        STAFF,
        {200: Reply("OK", ImportOut)},
        body=list[CandidateIn],
        body_limit=MAX_IMPORT_BYTES,
        action=Action.CANDIDATES_WRITE,
    ),
    Operation(
        "GET",
        "/api/interviews/{id}",
        get_interview,
        "Interview state and questions",
        ("staff", "interviewer", "candidate"),
        {200: Reply("OK", InterviewOut), 404: "no such interview"},
        query=ViewerQuery,
        params=IdPath,
        description="A candidate's token needs ?as=candidate.",
        action=Action.INTERVIEWS_READ,
        resource="interview",
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/background",
        background,
        "The candidate's profile and match with the requirements",
        ("staff", "interviewer"),
        {200: Reply("OK", BackgroundOut), 404: "no such interview"},
        params=IdPath,
        action=Action.INTERVIEWS_READ,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/consent",
        consent,
        "Record the candidate's consent (time and notice version)",
        ("candidate",),
        {
            200: Reply("OK", ConsentOut),
            400: "consent not accepted",
            409: "wrong state or notice",
        },
        body=ConsentIn,
        params=IdPath,
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/finish",
        finish,
        "End the interview (idempotent)",
        ("staff", "candidate"),
        {200: Reply("OK", FinishOut), 404: "no such interview"},
        params=IdPath,
        action=Action.INTERVIEWS_WRITE,
        resource="interview",
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/report",
        report,
        "The finalized report",
        ("staff", "interviewer"),
        {200: Reply("OK", ReportOut), 404: "no report"},
        params=IdPath,
        description="For callers with decisions:read on the interview, `human_ratings` holds "
        "the interviewers' ratings per competency (mean, n, each rating and note) beside the "
        "AI scores. An interviewer (token or account) "
        'reads the report as stored (the live view\'s "View report", '
        "/report/{id}); 404 until it is stored, a moment after the interview ends.",
        action=Action.REPORTS_READ,
        resource="interview",
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/scorecard",
        scorecard,
        "The interviewer's scorecard: competencies, their 1-5 anchors and this link's ratings",
        INTERVIEWER,
        {200: Reply("OK", ScorecardOut), 404: "no such interview"},
        params=IdPath,
    ),
    Operation(
        "PUT",
        "/api/interviews/{id}/ratings/{competency}",
        rate,
        "Rate one competency 1-5 with a note (replaces this link's earlier rating)",
        INTERVIEWER,
        {
            200: Reply("OK", RatingOut),
            400: "score outside 1-5, note too long, or not one of the requisition's competencies",
            403: "a person's live link whose account is not an interviewer of this interview",
            404: "no such interview",
            409: "not yet live, abandoned, or synthetic",
        },
        body=RatingIn,
        params=RatingPath,
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/ratings",
        interview_ratings,
        "Every interviewer's 1-5 ratings of the interview, per competency, with notes",
        STAFF,
        {200: Reply("OK", InterviewRatingsOut), 404: "no such interview"},
        params=IdPath,
        action=Action.DECISIONS_READ,
        resource="interview",
    ),
    Operation(
        "GET",
        "/api/hr/agreement",
        ai_agreement,
        "Per competency: AI scores against interviewers' ratings (n, Pearson r, "
        "quadratic-weighted kappa), disagreements flagged",
        STAFF,
        {200: Reply("OK", AgreementOut)},
        query=AgreementQuery,
        description="Of one requisition (?requisition=id), one family (?family=) or all; real "
        "data unless ?data=synthetic or all. Flagged when n >= 10 and r < 0.3 or kappa < 0.2.",
        action=Action.ANALYTICS_READ,
    ),
)


def add_routes(app: web.Application) -> None:
    add(app, OPERATIONS)

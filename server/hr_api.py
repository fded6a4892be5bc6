"""The HR API after the interview: requisition ranking, decisions, job offers, employees,
reviews and follow-ups, HR events, and the analytics (predictive validity, adverse impact).

A person decides: decisions need a name and a reason; an offer needs a recorded "offer"
decision; the candidate accepts with their typed name. Self-identification is written by the
candidate only and read only in aggregate.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field

from hr_bridge import adverse_impact as ai
from hr_bridge import analytics, audit, employees, events, hiring, ranking, self_id
from hr_bridge import interviews as db
from hr_bridge.models import WorkflowConflict
from server.api import MatchConfig
from server.app_keys import AUTH_KEY
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

OFFER_LINK_TTL_S = 30 * 24 * 3600
T = TypeVar("T")


class DecisionIn(BaseModel):
    decision: Literal["advance", "offer", "hold", "reject"]
    reason: str = Field(min_length=3, max_length=2000)
    decided_by: str = Field(min_length=1, max_length=200)


class JobOfferIn(BaseModel):
    salary: float = Field(gt=0)
    start_date: date
    probation_months: int | None = Field(None, ge=0, le=24)
    created_by: str = Field(min_length=1, max_length=200)


class WithdrawIn(BaseModel):
    by: str = Field(min_length=1, max_length=200)


class AnswerIn(BaseModel):
    accept: bool
    typed_name: str = Field("", max_length=200)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SelfIdIn(BaseModel):
    sex: str | None = Field(None, max_length=64)
    race_ethnicity: str | None = Field(None, max_length=64)


class ProbationIn(BaseModel):
    month: int = Field(ge=0, le=24)
    manager_feedback: str = Field(min_length=1, max_length=4000)
    manager_rating: float = Field(ge=1, le=5)
    task_completion: float = Field(ge=0, le=100)
    peer_rating: float = Field(ge=1, le=5)
    reviewer: str = Field(min_length=1, max_length=200)


class PerformanceIn(BaseModel):
    period: str = Field(min_length=1, max_length=32)
    rating: float = Field(ge=1, le=5)
    reviewer: str = Field(min_length=1, max_length=200)
    notes: str = Field("", max_length=4000)


class TrainingIn(BaseModel):
    course: str = Field(min_length=1, max_length=200)
    status: Literal["suggested", "enrolled", "completed", "dismissed"] = "enrolled"


class TrainingStatusIn(BaseModel):
    status: Literal["suggested", "enrolled", "completed", "dismissed"]


class FollowUpIn(BaseModel):
    accept: bool
    by: str = Field(min_length=1, max_length=200)


async def _store(fn: Callable[..., T], *args: Any, missing: str = "no such record") -> T:
    """Run a blocking store call in a worker thread and map its refusals to HTTP: a missing
    record is 404, a workflow state that does not allow it 409, invalid values 400."""
    try:
        return await asyncio.to_thread(fn, *args)
    except KeyError:
        raise error(web.HTTPNotFound, missing) from None
    except (WorkflowConflict, self_id.Closed) as err:
        raise error(web.HTTPConflict, str(err)) from None
    except ValueError as err:
        raise error(web.HTTPBadRequest, str(err)) from None


# Analytics are CPU-heavy Python: one worker thread for all of them, so a page asking for a
# dozen plots at once does not crowd the event loop (and live interviews) out of the GIL.
_ANALYTICS = ThreadPoolExecutor(1, thread_name_prefix="analytics")


async def _analytics(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ANALYTICS, functools.partial(fn, *args, **kwargs))


def _int_id(request: web.Request, name: str = "id") -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise error(web.HTTPNotFound, "no such record") from None


def _page(request: web.Request) -> tuple[int, int]:
    try:
        limit = min(500, max(1, int(request.query.get("limit", "100"))))
        offset = max(0, int(request.query.get("offset", "0")))
    except ValueError:
        raise error(web.HTTPBadRequest, "limit and offset are whole numbers") from None
    return limit, offset


# Requisitions and ranking


async def list_requisitions(request: web.Request) -> web.Response:
    require_admin(request)
    rows = await asyncio.to_thread(db.list_requisitions, engine_of(request))
    return web.json_response([ranking.requisition_view(r) for r in rows])


async def requisition_ranking(request: web.Request) -> web.Response:
    require_admin(request)
    limit, offset = _page(request)
    out = await _store(
        ranking.rank,
        engine_of(request),
        request.match_info["id"],
        limit,
        offset,
        missing="no such requisition",
    )
    return web.json_response(out)


async def set_match(request: web.Request) -> web.Response:
    require_admin(request)
    body: MatchConfig = await read_body(request, MatchConfig)
    rid = request.match_info["id"]
    current = await asyncio.to_thread(db.get_requisition, engine_of(request), rid)
    if current is not None and current.synthetic:
        raise error(web.HTTPConflict, "synthetic requisitions keep their generated settings")
    update = functools.partial(db.update_requisition, match_config=body.model_dump())
    req = await _store(update, engine_of(request), rid, missing="no such requisition")
    return web.json_response(ranking.requisition_view(req))


# Decision and offer


def _offer_view(o: hiring.JobOffer) -> dict[str, Any]:
    return {
        "id": o.id,
        "state": o.state,
        "salary": o.salary,
        "currency": o.currency,
        "probation_months": o.probation_months,
        "start_date": o.start_date.isoformat(),
        "text": o.text,
        "text_sha256": o.text_sha256,
        "created_at": o.created_at.isoformat(),
        "answered_at": o.answered_at.isoformat() if o.answered_at else None,
        "accepted_name": o.accepted_name,
    }


async def decision_state(request: web.Request) -> web.Response:
    """The recommendation, every recorded decision and the current offer."""
    require_admin(request)
    iv = await interview_or_404(request)
    engine = engine_of(request)
    rec = await asyncio.to_thread(ranking.recommendation, engine, iv.id)
    rows = await asyncio.to_thread(hiring.decisions_for, engine, iv.id)
    offer = await asyncio.to_thread(hiring.current_offer, engine, iv.id)
    employee = await asyncio.to_thread(employees.employee_for_interview, engine, iv.id)
    return web.json_response(
        {
            "interview_id": iv.id,
            "state": iv.state,
            "employee_id": employee,
            "recommendation": rec.as_dict() if rec else None,
            "decisions": [d.model_dump(mode="json") for d in rows],
            "offer": _offer_view(offer) if offer else None,
        }
    )


async def record_decision(request: web.Request) -> web.Response:
    require_admin(request)
    body: DecisionIn = await read_body(request, DecisionIn)
    iv = await interview_or_404(request)
    engine = engine_of(request)
    rec = await asyncio.to_thread(ranking.recommendation, engine, iv.id)
    row = await _store(
        hiring.record_decision,
        engine,
        iv.id,
        body.decision,
        body.reason,
        body.decided_by,
        rec.as_dict() if rec else None,
    )
    return web.json_response(row.model_dump(mode="json"), status=201)


async def create_job_offer(request: web.Request) -> web.Response:
    require_admin(request)
    body: JobOfferIn = await read_body(request, JobOfferIn)
    iv = await interview_or_404(request)
    offer = await _store(
        hiring.create_offer,
        engine_of(request),
        iv.id,
        body.salary,
        body.start_date,
        body.created_by,
        body.probation_months,
    )
    return web.json_response(
        _offer_view(offer) | {"candidate_url": _offer_link(request, iv.id)}, status=201
    )


def _offer_link(request: web.Request, iid: str) -> str:
    """A fresh candidate link to the offer (the token rides in the fragment)."""
    token = request.app[AUTH_KEY].issue(iid, "candidate", OFFER_LINK_TTL_S)
    return f"{settings_of(request).effective_public_url}/interview/{iid}#token={token}"


async def job_offer_link(request: web.Request) -> web.Response:
    """A new candidate link for the open offer (links are not stored, so they can be lost)."""
    require_admin(request)
    iv = await interview_or_404(request)
    offer = await asyncio.to_thread(hiring.current_offer, engine_of(request), iv.id)
    if offer is None or offer.state != hiring.OfferState.SENT:  # never for synthetic ones
        raise error(web.HTTPConflict, "no open offer")
    return web.json_response({"candidate_url": _offer_link(request, iv.id)})


async def withdraw_job_offer(request: web.Request) -> web.Response:
    require_admin(request)
    body: WithdrawIn = await read_body(request, WithdrawIn)
    iv = await interview_or_404(request)
    offer = await _store(hiring.withdraw_offer, engine_of(request), iv.id, body.by)
    return web.json_response(_offer_view(offer))


async def get_job_offer(request: web.Request) -> web.Response:
    """The offer as the candidate sees it (admin, or the candidate's own token)."""
    admin_or(request, "candidate")
    iv = await interview_or_404(request)
    offer = await asyncio.to_thread(hiring.current_offer, engine_of(request), iv.id)
    if offer is None:
        raise error(web.HTTPNotFound, "no offer")
    given = await asyncio.to_thread(self_id.status, engine_of(request), iv.id)
    return web.json_response(
        _offer_view(offer)
        | {
            "candidate_name": iv.candidate_name,
            "self_id_answered": given["answered"],
            "self_id_open": given["open"],  # false once a decision exists (always, with an offer)
        }
    )


async def answer_job_offer(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: AnswerIn = await read_body(request, AnswerIn)
    offer, employee = await _store(
        hiring.answer_offer,
        engine_of(request),
        claims.interview,
        body.accept,
        body.typed_name if body.accept else "",
        body.text_sha256,
    )
    return web.json_response(
        _offer_view(offer) | {"employee_id": employee.id if employee else None}
    )


# Voluntary self-identification


async def self_id_options(_request: web.Request) -> web.Response:
    return web.json_response(
        {"sex": list(self_id.SEX), "race_ethnicity": list(self_id.RACE_ETHNICITY)}
    )


async def self_id_status(request: web.Request) -> web.Response:
    """Whether the candidate answered (never what): the page does not ask twice."""
    claims = token_claims(request, "candidate")
    return web.json_response(
        await asyncio.to_thread(self_id.status, engine_of(request), claims.interview)
    )


async def record_self_id(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: SelfIdIn = await read_body(request, SelfIdIn)
    iv = await interview_or_404(request)
    if iv.consent_at is None:  # 403, not 409: the page reads 409 as "closed by a decision"
        raise error(web.HTTPForbidden, "the interview notice was not accepted")
    engine = engine_of(request)
    await _store(self_id.record, engine, claims.interview, body.sex, body.race_ethnicity)
    # The trail says that it happened, never what was answered.
    await asyncio.to_thread(
        audit.record, engine_of(request), "candidate", "self_id.recorded", f"interview:{iv.id}"
    )
    return web.json_response({"recorded": True})


# Employees


async def list_employees(request: web.Request) -> web.Response:
    """A page of employees (?limit, ?offset, ?data): {"total", "employees"}."""
    require_admin(request)
    limit, offset = _page(request)
    synthetic = SYNTHETIC_FILTER[data_choice(request)]
    rows, total = await asyncio.to_thread(
        employees.list_employees, engine_of(request), limit, offset, synthetic
    )
    return web.json_response(
        {"total": total, "offset": offset, "employees": [e.model_dump(mode="json") for e in rows]}
    )


async def get_employee(request: web.Request) -> web.Response:
    require_admin(request)
    view = await _store(
        employees.employee_view, engine_of(request), _int_id(request), missing="no such employee"
    )
    return web.json_response(view)


async def _review(request: web.Request, kind: str, model: type[BaseModel]) -> web.Response:
    require_admin(request)
    body = await read_body(request, model)
    row, new = await _store(
        employees.add_review,
        engine_of(request),
        _int_id(request),
        kind,
        body.model_dump(),
        missing="no such employee",
    )
    return web.json_response(
        {"review": row, "follow_ups": [f.model_dump(mode="json") for f in new]}, status=201
    )


async def add_probation_review(request: web.Request) -> web.Response:
    return await _review(request, "probation", ProbationIn)


async def add_performance_review(request: web.Request) -> web.Response:
    return await _review(request, "performance", PerformanceIn)


async def add_training(request: web.Request) -> web.Response:
    require_admin(request)
    body: TrainingIn = await read_body(request, TrainingIn)
    row = await _store(
        employees.add_training,
        engine_of(request),
        _int_id(request),
        body.course,
        body.status,
        missing="no such employee",
    )
    return web.json_response(row.model_dump(mode="json"), status=201)


async def set_training(request: web.Request) -> web.Response:
    require_admin(request)
    body: TrainingStatusIn = await read_body(request, TrainingStatusIn)
    row = await _store(
        employees.set_training_status,
        engine_of(request),
        _int_id(request),
        body.status,
        missing="no such training record",
    )
    return web.json_response(row.model_dump(mode="json"))


async def decide_follow_up(request: web.Request) -> web.Response:
    require_admin(request)
    body: FollowUpIn = await read_body(request, FollowUpIn)
    row = await _store(
        employees.decide_follow_up,
        engine_of(request),
        _int_id(request),
        body.accept,
        body.by,
        missing="no such follow-up",
    )
    return web.json_response(row.model_dump(mode="json"))


async def complete_task(request: web.Request) -> web.Response:
    require_admin(request)
    row = await _store(
        employees.complete_task, engine_of(request), _int_id(request), missing="no such task"
    )
    return web.json_response(row.model_dump(mode="json"))


async def list_hr_events(request: web.Request) -> web.Response:
    require_admin(request)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise error(web.HTTPBadRequest, "after: an event id") from None
    rows = await asyncio.to_thread(events.list_events, engine_of(request), after)
    return web.json_response([e.model_dump(mode="json") for e in rows])


# Analytics


def _outcome(request: web.Request) -> analytics.Outcome:
    value = request.query.get("outcome", "performance")
    if value not in analytics.OUTCOMES:
        raise error(web.HTTPBadRequest, f"outcome: one of {', '.join(analytics.OUTCOMES)}")
    return value  # type: ignore[return-value]


def _min_n(request: web.Request) -> int:
    try:
        return max(3, int(request.query.get("min_n", "30")))
    except ValueError:
        raise error(web.HTTPBadRequest, "min_n: a whole number") from None


async def validity(request: web.Request) -> web.Response:
    require_admin(request)
    out = await _analytics(
        analytics.validity,
        engine_of(request),
        data_choice(request),
        _outcome(request),
        min_n=_min_n(request),
    )
    return web.json_response(out)


async def validity_plot(request: web.Request) -> web.Response:
    require_admin(request)
    family, competency = request.query.get("family"), request.query.get("competency")
    if not family or not competency:
        raise error(web.HTTPBadRequest, "family and competency are required")
    svg = await _analytics(
        analytics.validity_plot,
        engine_of(request),
        family,
        competency,
        data_choice(request),
        _outcome(request),
        _min_n(request),
    )
    return web.Response(text=svg, content_type="image/svg+xml")


async def adverse_impact(request: web.Request) -> web.Response:
    require_admin(request)
    try:
        threshold = float(request.query.get("threshold", "0.8"))
        min_group = int(request.query.get("min_group", "5"))
    except ValueError:
        raise error(web.HTTPBadRequest, "threshold and min_group are numbers") from None
    if not 0 < threshold <= 1 or min_group < 1:
        raise error(web.HTTPBadRequest, "threshold in (0, 1], min_group >= 1")
    result, meta = await _analytics(
        analytics.impact,
        engine_of(request),
        data_choice(request),
        request.query.get("family") or None,
        request.query.get("requisition") or None,
        threshold,
        min_group,
    )
    synthetic = bool(meta.pop("synthetic"))
    result = ai.suppress_small(result)  # people read this: no group smaller than 5 is shown
    if request.query.get("format") == "csv":
        return web.Response(
            text=ai.as_csv(result, synthetic=synthetic),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="adverse-impact.csv"'},
        )
    return web.json_response(ai.as_json(result, synthetic=synthetic, meta=meta))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/requisitions", list_requisitions)
    r.add_get("/api/requisitions/{id}/ranking", requisition_ranking)
    r.add_put("/api/requisitions/{id}/match", set_match)
    r.add_get("/api/interviews/{id}/decision", decision_state)
    r.add_post("/api/interviews/{id}/decision", record_decision)
    r.add_get("/api/interviews/{id}/job-offer", get_job_offer)
    r.add_post("/api/interviews/{id}/job-offer", create_job_offer)
    r.add_post("/api/interviews/{id}/job-offer/withdraw", withdraw_job_offer)
    r.add_post("/api/interviews/{id}/job-offer/link", job_offer_link)
    r.add_post("/api/interviews/{id}/job-offer/answer", answer_job_offer)
    r.add_get("/api/interviews/{id}/self-id", self_id_status)
    r.add_post("/api/interviews/{id}/self-id", record_self_id)
    r.add_get("/api/self-id/options", self_id_options)
    r.add_get("/api/employees", list_employees)
    r.add_get("/api/employees/{id}", get_employee)
    r.add_post("/api/employees/{id}/probation-reviews", add_probation_review)
    r.add_post("/api/employees/{id}/performance-reviews", add_performance_review)
    r.add_post("/api/employees/{id}/training", add_training)
    r.add_post("/api/training/{id}", set_training)
    r.add_post("/api/follow-ups/{id}", decide_follow_up)
    r.add_post("/api/onboarding-tasks/{id}/done", complete_task)
    r.add_get("/api/events", list_hr_events)
    r.add_get("/api/analytics/validity", validity)
    r.add_get("/api/analytics/validity/plot", validity_plot)
    r.add_get("/api/analytics/adverse-impact", adverse_impact)

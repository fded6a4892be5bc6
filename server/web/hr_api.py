"""The HR API after the interview: requisition ranking, decisions, job offers, employees,
reviews and follow-ups, HR events, and the analytics (predictive validity, adverse impact).

A person decides: decisions need a name and a reason; an offer needs a recorded "offer"
decision; the candidate accepts with their typed name. Self-identification is written by the
candidate only and read only in aggregate. Each operation is declared in OPERATIONS; models in
server/web/schemas.py.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple
from typing import Any, TypeVar

from aiohttp import web

from analytics import adverse_impact as ai
from analytics import queries
from hr_bridge import audit, employees, events, hiring, ranking, self_id
from hr_bridge import interviews as db
from hr_bridge.models import WorkflowConflict
from hr_bridge.roles import Action
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY
from server.models import text_similarity
from server.web.access import Principal, person
from server.web.contract import Inputs, Operation, Reply, Scheme, add
from server.web.schemas import (
    AnswerIn,
    CandidateOffer,
    DecisionIn,
    DecisionOut,
    DecisionStateOut,
    EmployeeOut,
    EmployeePage,
    EmployeesQuery,
    EventsQuery,
    FollowUpIn,
    FollowUpOut,
    HrEventOut,
    IdPath,
    ImpactOut,
    ImpactQuery,
    JobOfferIn,
    LinkOut,
    MatchConfig,
    OfferAnswered,
    OfferCreated,
    OfferOut,
    OnboardingTaskOut,
    PageQuery,
    PerformanceIn,
    PlotQuery,
    ProbationIn,
    RankingOut,
    Recorded,
    RecordPath,
    RequisitionOut,
    ReviewOut,
    SelfIdIn,
    SelfIdOptions,
    SelfIdStatus,
    TrainingIn,
    TrainingOut,
    TrainingStatusIn,
    ValidityOut,
    ValidityQuery,
    WithdrawIn,
)
from server.web.util import (
    SYNTHETIC_FILTER,
    engine_of,
    error,
    interview_or_404,
    json_response,
    settings_of,
)

OFFER_LINK_TTL_S = 30 * 24 * 3600
T = TypeVar("T")


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


# Requisitions and ranking


async def list_requisitions(request: web.Request, inp: Inputs[None, None, None]) -> web.Response:
    rows = await asyncio.to_thread(db.list_requisitions, engine_of(request))
    who = inp.staff
    return json_response(
        [
            ranking.requisition_view(r)
            for r in rows
            if who.sees_requisition(Action.REQUISITIONS_READ, r.id)
        ]
    )


async def requisition_ranking(
    request: web.Request, inp: Inputs[None, PageQuery, IdPath]
) -> web.Response:
    out = await _store(
        ranking.rank,
        engine_of(request),
        inp.path.id,
        inp.query.limit,
        inp.query.offset,
        missing="no such requisition",
    )
    return json_response(out)


async def set_match(request: web.Request, inp: Inputs[MatchConfig, None, IdPath]) -> web.Response:
    rid = inp.path.id
    current = await asyncio.to_thread(db.get_requisition, engine_of(request), rid)
    if current is not None and current.synthetic:
        raise error(web.HTTPConflict, "synthetic requisitions keep their generated settings")
    update = functools.partial(db.update_requisition, match_config=inp.body.model_dump())
    req = await _store(update, engine_of(request), rid, missing="no such requisition")
    # A settings change: who changed the weights, and to what (no personal data in them).
    await asyncio.to_thread(
        audit.record, engine_of(request), inp.staff.actor, "requisition.match_changed",
        f"requisition:{rid}", match=inp.body.model_dump(mode="json"),
    )  # fmt: skip
    return json_response(ranking.requisition_view(req))


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


async def decision_state(request: web.Request, _inp: Inputs[None, None, IdPath]) -> web.Response:
    """The recommendation, every recorded decision and the current offer."""
    iv = await interview_or_404(request)
    engine = engine_of(request)
    rec = await asyncio.to_thread(ranking.recommendation, engine, iv.id)
    rows = await asyncio.to_thread(hiring.decisions_for, engine, iv.id)
    offer = await asyncio.to_thread(hiring.current_offer, engine, iv.id)
    employee = await asyncio.to_thread(employees.employee_for_interview, engine, iv.id)
    return json_response(
        {
            "interview_id": iv.id,
            "state": iv.state,
            "employee_id": employee,
            "recommendation": rec.as_dict() if rec else None,
            "decisions": [d.model_dump(mode="json") for d in rows],
            "offer": _offer_view(offer) if offer else None,
        }
    )


async def record_decision(
    request: web.Request, inp: Inputs[DecisionIn, None, IdPath]
) -> web.Response:
    body = inp.body
    iv = await interview_or_404(request)
    engine = engine_of(request)
    rec = await asyncio.to_thread(ranking.recommendation, engine, iv.id)
    who = person(inp.staff, body.decided_by, "decided_by")
    row = await _store(
        hiring.record_decision,
        engine,
        iv.id,
        body.decision,
        body.reason,
        who.name,
        rec.as_dict() if rec else None,
        who.via,
    )
    return json_response(row.model_dump(mode="json"), status=201)


async def create_job_offer(
    request: web.Request, inp: Inputs[JobOfferIn, None, IdPath]
) -> web.Response:
    body = inp.body
    iv = await interview_or_404(request)
    who = person(inp.staff, body.created_by, "created_by")
    offer = await _store(
        hiring.create_offer,
        engine_of(request),
        iv.id,
        body.salary,
        body.start_date,
        who.name,
        body.probation_months,
        who.via,
    )
    return json_response(
        _offer_view(offer) | {"candidate_url": _offer_link(request, iv.id)}, status=201
    )


def _offer_link(request: web.Request, iid: str) -> str:
    """A fresh candidate link to the offer's own page (the token rides in the fragment)."""
    token = request.app[AUTH_KEY].issue(iid, "candidate", OFFER_LINK_TTL_S)
    return f"{settings_of(request).effective_public_url}/offer/{iid}#token={token}"


async def job_offer_link(request: web.Request, _inp: Inputs[None, None, IdPath]) -> web.Response:
    """A new candidate link for the open offer (links are not stored, so they can be lost)."""
    iv = await interview_or_404(request)
    offer = await asyncio.to_thread(hiring.current_offer, engine_of(request), iv.id)
    if offer is None or offer.state != hiring.OfferState.SENT:  # never for synthetic ones
        raise error(web.HTTPConflict, "no open offer")
    return json_response({"candidate_url": _offer_link(request, iv.id)})


async def withdraw_job_offer(
    request: web.Request, inp: Inputs[WithdrawIn, None, IdPath]
) -> web.Response:
    iv = await interview_or_404(request)
    who = person(inp.staff, inp.body.by, "by")
    offer = await _store(hiring.withdraw_offer, engine_of(request), iv.id, who.name, who.via)
    return json_response(_offer_view(offer))


async def get_job_offer(request: web.Request, _inp: Inputs[None, None, IdPath]) -> web.Response:
    """The offer as the candidate sees it (admin, or the candidate's own token)."""
    iv = await interview_or_404(request)
    offer = await asyncio.to_thread(hiring.current_offer, engine_of(request), iv.id)
    if offer is None:
        raise error(web.HTTPNotFound, "no offer")
    given = await asyncio.to_thread(self_id.status, engine_of(request), iv.id)
    return json_response(
        _offer_view(offer)
        | {
            "candidate_name": iv.candidate_name,
            "self_id_answered": given["answered"],
            "self_id_open": given["open"],  # false once a decision exists (always, with an offer)
        }
    )


async def answer_job_offer(
    request: web.Request, inp: Inputs[AnswerIn, None, IdPath]
) -> web.Response:
    claims, body = inp.token, inp.body
    offer, employee = await _store(
        hiring.answer_offer,
        engine_of(request),
        claims.interview,
        body.accept,
        body.typed_name if body.accept else "",
        body.text_sha256,
    )
    return json_response(_offer_view(offer) | {"employee_id": employee.id if employee else None})


# Voluntary self-identification


async def self_id_options(_request: web.Request, _inp: Inputs[None, None, None]) -> web.Response:
    return json_response({"sex": list(self_id.SEX), "race_ethnicity": list(self_id.RACE_ETHNICITY)})


async def self_id_status(request: web.Request, inp: Inputs[None, None, IdPath]) -> web.Response:
    """Whether the candidate answered (never what): the page does not ask twice."""
    return json_response(
        await asyncio.to_thread(self_id.status, engine_of(request), inp.token.interview)
    )


async def record_self_id(request: web.Request, inp: Inputs[SelfIdIn, None, IdPath]) -> web.Response:
    claims, body = inp.token, inp.body
    iv = await interview_or_404(request)
    if iv.consent_at is None:  # 403, not 409: the page reads 409 as "closed by a decision"
        raise error(web.HTTPForbidden, "the interview notice was not accepted")
    engine = engine_of(request)
    await _store(self_id.record, engine, claims.interview, body.sex, body.race_ethnicity)
    # The trail says that it happened, never what was answered.
    await asyncio.to_thread(
        audit.record, engine_of(request), "candidate", "self_id.recorded", f"interview:{iv.id}"
    )
    return json_response({"recorded": True})


# Employees


async def list_employees(
    request: web.Request, inp: Inputs[None, EmployeesQuery, None]
) -> web.Response:
    """A page of employees (?limit, ?offset, ?data): {"total", "employees"}."""
    q = inp.query
    rows, total = await asyncio.to_thread(
        employees.list_employees, engine_of(request), q.limit, q.offset, SYNTHETIC_FILTER[q.data]
    )
    return json_response(
        {"total": total, "offset": q.offset, "employees": [e.model_dump(mode="json") for e in rows]}
    )


async def get_employee(request: web.Request, inp: Inputs[None, None, RecordPath]) -> web.Response:
    view = await _store(
        employees.employee_view, engine_of(request), inp.path.id, missing="no such employee"
    )
    return json_response(view)


async def _review(
    request: web.Request, eid: int, kind: str, body: ProbationIn | PerformanceIn, who: Principal
) -> web.Response:
    encoder = request.app[INTERVIEWS_KEY].shared.encoder  # the process's one instance
    fields = body.model_dump() | {"reviewer": person(who, body.reviewer, "reviewer").name}
    row, new = await _store(
        employees.add_review,
        engine_of(request),
        eid,
        kind,
        fields,
        text_similarity(encoder),
        missing="no such employee",
    )
    return json_response(
        {"review": row, "follow_ups": [f.model_dump(mode="json") for f in new]}, status=201
    )


async def add_probation_review(
    request: web.Request, inp: Inputs[ProbationIn, None, RecordPath]
) -> web.Response:
    return await _review(request, inp.path.id, "probation", inp.body, inp.staff)


async def add_performance_review(
    request: web.Request, inp: Inputs[PerformanceIn, None, RecordPath]
) -> web.Response:
    return await _review(request, inp.path.id, "performance", inp.body, inp.staff)


async def add_training(
    request: web.Request, inp: Inputs[TrainingIn, None, RecordPath]
) -> web.Response:
    row = await _store(
        employees.add_training,
        engine_of(request),
        inp.path.id,
        inp.body.course,
        inp.body.status,
        missing="no such employee",
    )
    return json_response(row.model_dump(mode="json"), status=201)


async def set_training(
    request: web.Request, inp: Inputs[TrainingStatusIn, None, RecordPath]
) -> web.Response:
    row = await _store(
        employees.set_training_status,
        engine_of(request),
        inp.path.id,
        inp.body.status,
        missing="no such training record",
    )
    return json_response(row.model_dump(mode="json"))


async def decide_follow_up(
    request: web.Request, inp: Inputs[FollowUpIn, None, RecordPath]
) -> web.Response:
    row = await _store(
        employees.decide_follow_up,
        engine_of(request),
        inp.path.id,
        inp.body.accept,
        *astuple(person(inp.staff, inp.body.by, "by")),
        missing="no such follow-up",
    )
    return json_response(row.model_dump(mode="json"))


async def complete_task(request: web.Request, inp: Inputs[None, None, RecordPath]) -> web.Response:
    row = await _store(
        employees.complete_task, engine_of(request), inp.path.id, missing="no such task"
    )
    return json_response(row.model_dump(mode="json"))


async def list_hr_events(
    request: web.Request, inp: Inputs[None, EventsQuery, None]
) -> web.Response:
    rows = await asyncio.to_thread(events.list_events, engine_of(request), inp.query.after)
    return json_response([e.model_dump(mode="json") for e in rows])


# Analytics


async def validity(request: web.Request, inp: Inputs[None, ValidityQuery, None]) -> web.Response:
    q = inp.query
    out = await _analytics(queries.validity, engine_of(request), q.data, q.outcome, min_n=q.min_n)
    return json_response(out)


async def validity_plot(request: web.Request, inp: Inputs[None, PlotQuery, None]) -> web.Response:
    q = inp.query
    svg = await _analytics(
        queries.validity_plot,
        engine_of(request),
        q.family,
        q.competency,
        q.data,
        q.outcome,
        q.min_n,
    )
    return web.Response(text=svg, content_type="image/svg+xml")


async def adverse_impact(
    request: web.Request, inp: Inputs[None, ImpactQuery, None]
) -> web.Response:
    q = inp.query
    result, meta = await _analytics(
        queries.impact,
        engine_of(request),
        q.data,
        q.family or None,
        q.requisition or None,
        q.threshold,
        q.min_group,
    )
    synthetic = bool(meta.pop("synthetic"))
    result = ai.suppress_small(result)  # people read this: no group smaller than 5 is shown
    if q.format == "csv":
        return web.Response(
            text=ai.as_csv(result, synthetic=synthetic),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="adverse-impact.csv"'},
        )
    return json_response(ai.as_json(result, synthetic=synthetic, meta=meta))


STAFF: tuple[Scheme, ...] = ("staff",)
CANDIDATE: tuple[Scheme, ...] = ("candidate",)
NOT_FOUND = "no such record"
CONFLICT = "not allowed in this state, or synthetic data"
INVALID = "the store refused a value"

OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    Operation(
        "GET",
        "/api/requisitions",
        list_requisitions,
        "Requisitions, newest first",
        STAFF,
        {200: Reply("OK", list[RequisitionOut])},
        action=Action.REQUISITIONS_READ,
    ),
    Operation(
        "GET",
        "/api/requisitions/{id}/ranking",
        requisition_ranking,
        "Interviewed candidates ranked by composite match (band first), with reasons",
        STAFF,
        {200: Reply("OK", RankingOut), 404: "no such requisition", 409: CONFLICT},
        query=PageQuery,
        params=IdPath,
        action=Action.REQUISITIONS_READ,
        resource="requisition",
    ),
    Operation(
        "PUT",
        "/api/requisitions/{id}/match",
        set_match,
        "Set the composite match weights and bands",
        STAFF,
        {
            200: Reply("OK", RequisitionOut),
            400: "invalid weights",
            404: "no such requisition",
            409: "synthetic requisition",
        },
        body=MatchConfig,
        params=IdPath,
        action=Action.REQUISITIONS_WRITE,
        resource="requisition",
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/decision",
        decision_state,
        "Recommendation, recorded decisions, the current offer, the employee id",
        STAFF,
        {200: Reply("OK", DecisionStateOut), 404: "no such interview"},
        params=IdPath,
        action=Action.DECISIONS_READ,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/decision",
        record_decision,
        "A person records the decision with a reason (the system never decides)",
        STAFF,
        {
            201: Reply("recorded", DecisionOut),
            400: "no person's name or no reason",
            404: "no such interview",
            409: "not finished, already hired, or synthetic",
        },
        body=DecisionIn,
        params=IdPath,
        action=Action.DECISIONS_WRITE,
        resource="interview",
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/job-offer",
        get_job_offer,
        "The offer as the candidate sees it",
        ("staff", "candidate"),
        {200: Reply("OK", CandidateOffer), 404: "no such interview, or no offer"},
        params=IdPath,
        action=Action.DECISIONS_READ,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/job-offer",
        create_job_offer,
        "Draft and send the offer (needs a recorded 'offer' decision); answers a candidate link",
        STAFF,
        {
            201: Reply("sent", OfferCreated),
            400: "salary outside the band or not whole, start date in the past",
            404: "no such interview",
            409: "no recorded 'offer' decision, an offer already open, or synthetic",
        },
        body=JobOfferIn,
        params=IdPath,
        action=Action.OFFERS_WRITE,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/job-offer/withdraw",
        withdraw_job_offer,
        "Withdraw the open offer",
        STAFF,
        {
            200: Reply("withdrawn", OfferOut),
            400: "invalid body",
            404: "no such interview",
            409: "no open offer",
        },
        body=WithdrawIn,
        params=IdPath,
        action=Action.OFFERS_WRITE,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/job-offer/link",
        job_offer_link,
        "A new candidate link for the open offer",
        STAFF,
        {200: Reply("OK", LinkOut), 404: "no such interview", 409: "no offer"},
        params=IdPath,
        action=Action.OFFERS_WRITE,
        resource="interview",
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/job-offer/answer",
        answer_job_offer,
        "The candidate accepts (typed full name; stored with time and the text's "
        "SHA-256; creates the employee and onboarding tasks) or declines",
        CANDIDATE,
        {
            200: Reply("OK", OfferAnswered),
            400: "typed name does not match",
            404: "no such interview or offer",
            409: "no open offer, decision changed, or text changed",
        },
        body=AnswerIn,
        params=IdPath,
    ),
    Operation(
        "GET",
        "/api/interviews/{id}/self-id",
        self_id_status,
        "Whether the candidate answered (never what) and whether it is open",
        CANDIDATE,
        {200: Reply("OK", SelfIdStatus)},
        params=IdPath,
    ),
    Operation(
        "POST",
        "/api/interviews/{id}/self-id",
        record_self_id,
        "Voluntary self-identification before the first decision, used only in aggregate",
        CANDIDATE,
        {
            200: Reply("OK", Recorded),
            400: "not one of the options",
            403: "the interview notice was not accepted",
            404: "no such interview",
            409: "a decision was already made",
        },
        body=SelfIdIn,
        params=IdPath,
    ),
    Operation(
        "GET",
        "/api/self-id/options",
        self_id_options,
        "The self-identification options (public)",
        (),
        {200: Reply("OK", SelfIdOptions)},
    ),
    Operation(
        "GET",
        "/api/employees",
        list_employees,
        "A page of employees, newest first: total and employees",
        STAFF,
        {200: Reply("OK", EmployeePage)},
        query=EmployeesQuery,
        action=Action.EMPLOYEES_READ,
    ),
    Operation(
        "GET",
        "/api/employees/{id}",
        get_employee,
        "One employee: interview, onboarding, reviews, training, follow-ups",
        STAFF,
        {200: Reply("OK", EmployeeOut), 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        params=RecordPath,
        action=Action.EMPLOYEES_READ,
    ),
    Operation(
        "POST",
        "/api/employees/{id}/probation-reviews",
        add_probation_review,
        "Add a probation review (raises follow-ups)",
        STAFF,
        {201: Reply("added", ReviewOut), 404: NOT_FOUND, 409: CONFLICT},
        body=ProbationIn,
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "POST",
        "/api/employees/{id}/performance-reviews",
        add_performance_review,
        "Add a performance review (raises follow-ups)",
        STAFF,
        {201: Reply("added", ReviewOut), 404: NOT_FOUND, 409: CONFLICT},
        body=PerformanceIn,
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "POST",
        "/api/employees/{id}/training",
        add_training,
        "Add a training record",
        STAFF,
        {201: Reply("added", TrainingOut), 404: NOT_FOUND, 409: CONFLICT},
        body=TrainingIn,
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "POST",
        "/api/training/{id}",
        set_training,
        "Change a training record's status",
        STAFF,
        {200: Reply("OK", TrainingOut), 404: NOT_FOUND, 409: CONFLICT},
        body=TrainingStatusIn,
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "POST",
        "/api/follow-ups/{id}",
        decide_follow_up,
        "Accept (enrol) or dismiss an open follow-up",
        STAFF,
        {200: Reply("OK", FollowUpOut), 404: NOT_FOUND, 409: CONFLICT},
        body=FollowUpIn,
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "POST",
        "/api/onboarding-tasks/{id}/done",
        complete_task,
        "Mark a task done",
        STAFF,
        {200: Reply("OK", OnboardingTaskOut), 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        params=RecordPath,
        action=Action.EMPLOYEES_WRITE,
    ),
    Operation(
        "GET",
        "/api/events",
        list_hr_events,
        "Up to 200 HR events after an id (each also a webhook)",
        STAFF,
        {200: Reply("OK", list[HrEventOut])},
        query=EventsQuery,
        action=Action.EVENTS_READ,
    ),
    Operation(
        "GET",
        "/api/analytics/validity",
        validity,
        "Per family and competency: n, Pearson and Spearman with p-values and 95% "
        "bootstrap intervals, small-n flags",
        STAFF,
        {200: Reply("OK", ValidityOut)},
        query=ValidityQuery,
        action=Action.ANALYTICS_READ,
    ),
    Operation(
        "GET",
        "/api/analytics/validity/plot",
        validity_plot,
        "SVG scatter of one competency against the outcome in one family",
        STAFF,
        {200: Reply("an SVG image", media=("image/svg+xml",), json=False)},
        query=PlotQuery,
        action=Action.ANALYTICS_READ,
    ),
    Operation(
        "GET",
        "/api/analytics/adverse-impact",
        adverse_impact,
        "Selection rates and impact ratios per stage and self-reported group "
        "(groups under 5 suppressed), four-fifths flags, missing data, pending",
        STAFF,
        {200: Reply("OK", ImpactOut, media=("text/csv",))},
        query=ImpactQuery,
        action=Action.ANALYTICS_READ,
    ),
)


def add_routes(app: web.Application) -> None:
    add(app, OPERATIONS)

"""The public API contract, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from server.api import (
    CandidateIn,
    ConsentIn,
    InterviewIn,
    MatchConfig,
    OfferIn,
    QuestionIn,
    RequisitionIn,
)
from server.hr_api import (
    AnswerIn,
    DecisionIn,
    FollowUpIn,
    JobOfferIn,
    PerformanceIn,
    ProbationIn,
    SelfIdIn,
    TrainingIn,
    TrainingStatusIn,
    WithdrawIn,
)

ERR = {
    "application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}
}


def _body(model: Any) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


def _op(
    summary: str, security: str, body: Any = None, ok: int = 200, **errors: str
) -> dict[str, Any]:
    """One operation; `security` names a scheme, or several as "admin|candidate" (any one)."""
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{scheme: []} for scheme in security.split("|")],
        "responses": {str(ok): {"description": "OK"}}
        | {code: {"description": text, "content": ERR} for code, text in errors.items()},
    }
    if body is not None:
        op["requestBody"] = _body(body)
    return op


ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "hirestream", "version": "1"},
    "components": {
        "securitySchemes": {
            "admin": {"type": "http", "scheme": "bearer", "description": "API key"},
            "candidate": {"type": "http", "scheme": "bearer", "description": "invite token"},
            "interviewer": {"type": "http", "scheme": "bearer", "description": "viewer token"},
        }
    },
    "paths": {
        "/api/requisitions": {
            "post": _op(
                "Create a job requisition with its questions",
                "admin",
                RequisitionIn,
                201,
                **{"400": "invalid body", "401": "wrong API key"},
            ),
        },
        "/api/interviews": {
            "post": _op(
                "Schedule an interview; returns the candidate invite and interviewer URLs",
                "admin",
                InterviewIn,
                201,
                **{"400": "invalid body", "401": "wrong API key"},
            ),
        },
        "/api/interviews/{id}": {
            "parameters": ID,
            "get": _op(
                "Interview state and questions",
                "admin",
                None,
                200,
                **{"401": "bad credentials", "404": "no such interview"},
            ),
        },
        "/api/interviews/{id}/consent": {
            "parameters": ID,
            "post": _op(
                "Record the candidate's consent (time and notice version)",
                "candidate",
                ConsentIn,
                200,
                **{"401": "bad token", "409": "wrong state or notice", "410": "expired"},
            ),
        },
        "/api/interviews/{id}/offer": {
            "parameters": ID,
            "post": _op(
                "WebRTC: SDP offer in, SDP answer out; starts the live analysis",
                "candidate",
                OfferIn,
                200,
                **{
                    "400": "malformed SDP",
                    "409": "no consent yet",
                    "410": "invite used or expired",
                    "413": "SDP too large",
                    "503": "live-interview capacity reached",
                },
            ),
        },
        "/api/interviews/{id}/watch": {
            "parameters": ID,
            "post": _op(
                "WebRTC for interviewers: receive the candidate's video",
                "interviewer",
                OfferIn,
                200,
                **{"400": "malformed SDP or not live", "401": "bad token"},
            ),
        },
        "/api/interviews/{id}/question": {
            "parameters": ID,
            "post": _op(
                "The candidate moved to question `index`",
                "candidate",
                QuestionIn,
                200,
                **{"400": "no such question", "409": "not live"},
            ),
        },
        "/api/interviews/{id}/finish": {
            "parameters": ID,
            "post": _op(
                "End the interview (idempotent)",
                "candidate",
                None,
                200,
                **{"401": "bad credentials"},
            ),
        },
        "/api/interviews/{id}/live": {
            "parameters": ID,
            "get": {
                "summary": 'WebSocket: send {"token": ...} first; receive a snapshot, then '
                "captions, scores, face indicators, questions and warnings as they happen",
                "responses": {"101": {"description": "switching protocols"}},
            },
        },
    },
}

NUM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _q(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


DATA_Q = _q("data", {"enum": ["real", "synthetic", "all"], "default": "real"})
PAGE_Q = [
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
    _q("offset", {"type": "integer", "minimum": 0, "default": 0}),
]
OUTCOME_Q = _q("outcome", {"enum": ["performance", "probation"], "default": "performance"})
MIN_N_Q = _q("min_n", {"type": "integer", "minimum": 3, "default": 30})
NOT_FOUND = {"404": "no such record"}
CONFLICT = {"409": "not allowed in this state, or synthetic data"}


def _path(params: list[dict[str, Any]], **ops: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": params, **ops}


def _with(op: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    return op | {"parameters": list(params)}


# Calls that more than one kind of caller may make.
_paths = OPENAPI["paths"]
_paths["/api/interviews/{id}"]["get"]["security"] = [
    {"admin": []},
    {"interviewer": []},
    {"candidate": []},
]
_paths["/api/interviews/{id}/finish"]["post"]["security"] = [{"admin": []}, {"candidate": []}]
_paths["/api/requisitions"]["get"] = _op("Requisitions, newest first", "admin")
_paths["/api/interviews"]["get"] = _with(
    _op(
        "The newest 100 interviews with state, overall score and whether synthetic",
        "admin",
        None,
        200,
        **{"400": "bad data parameter"},
    ),
    DATA_Q,
)

_paths |= {
    "/api/candidates": {
        "post": _op("Add or update candidates (by ref); body: a JSON list", "admin")
        | {
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": CandidateIn.model_json_schema()}
                    }
                }
            }
        }
    },
    "/api/interviews/{id}/report": _path(
        ID,
        get=_with(
            _op("The finalized report", "admin|interviewer", None, 200, **{"404": "no report"}),
            _q("format", {"enum": ["json", "html"], "default": "json"}),
        ),
    ),
    "/api/interviews/{id}/background": _path(
        ID,
        get=_op("The candidate's profile and match with the requirements", "admin|interviewer"),
    ),
    "/api/requisitions/{id}/ranking": _path(
        ID,
        get=_with(
            _op(
                "Interviewed candidates ranked by composite match (band first), with reasons",
                "admin",
                None,
                200,
                **{"404": "no such requisition"},
            ),
            *PAGE_Q,
        ),
    ),
    "/api/requisitions/{id}/match": _path(
        ID,
        put=_op(
            "Set the composite match weights and bands",
            "admin",
            MatchConfig,
            200,
            **{"400": "invalid weights", **NOT_FOUND, "409": "synthetic requisition"},
        ),
    ),
    "/api/interviews/{id}/decision": _path(
        ID,
        get=_op(
            "Recommendation, recorded decisions, the current offer, the employee id",
            "admin",
            None,
            200,
            **NOT_FOUND,
        ),
        post=_op(
            "A person records the decision with a reason (the system never decides)",
            "admin",
            DecisionIn,
            201,
            **{
                "400": "no person's name or no reason",
                "409": "not finished, already hired, or synthetic",
            },
        ),
    ),
    "/api/interviews/{id}/job-offer": _path(
        ID,
        get=_op(
            "The offer as the candidate sees it",
            "admin|candidate",
            None,
            200,
            **{"404": "no offer"},
        ),
        post=_op(
            "Draft and send the offer (needs a recorded 'offer' decision); answers a "
            "candidate link",
            "admin",
            JobOfferIn,
            201,
            **{
                "400": "salary outside the band or not whole, start date in the past",
                "409": "no recorded 'offer' decision, an offer already open, or synthetic",
            },
        ),
    ),
    "/api/interviews/{id}/job-offer/withdraw": _path(
        ID,
        post=_op("Withdraw the open offer", "admin", WithdrawIn, 200, **{"409": "no open offer"}),
    ),
    "/api/interviews/{id}/job-offer/answer": _path(
        ID,
        post=_op(
            "The candidate accepts (typed full name; stored with time and the text's "
            "SHA-256; creates the employee and onboarding tasks) or declines",
            "candidate",
            AnswerIn,
            200,
            **{
                "400": "typed name does not match",
                "409": "no open offer, decision changed, or text changed",
            },
        ),
    ),
    "/api/interviews/{id}/job-offer/link": _path(
        ID,
        post=_op(
            "A new candidate link for the open offer", "admin", None, 200, **{"409": "no offer"}
        ),
    ),
    "/api/interviews/{id}/self-id": _path(
        ID,
        get=_op("Whether the candidate answered (never what) and whether it is open", "candidate"),
        post=_op(
            "Voluntary self-identification before the first decision, used only in aggregate",
            "candidate",
            SelfIdIn,
            200,
            **{
                "400": "not one of the options",
                "403": "the interview notice was not accepted",
                "409": "a decision was already made",
            },
        ),
    ),
    "/api/self-id/options": {
        "get": {"summary": "The self-identification options (public)", "security": []}
    },
    "/api/employees": {
        "get": _with(
            _op("A page of employees, newest first: total and employees", "admin"),
            DATA_Q,
            *PAGE_Q,
        )
    },
    "/api/employees/{id}": _path(
        NUM,
        get=_op(
            "One employee: interview, onboarding, reviews, training, follow-ups",
            "admin",
            None,
            200,
            **NOT_FOUND,
        ),
    ),
    "/api/employees/{id}/probation-reviews": _path(
        NUM,
        post=_op(
            "Add a probation review (raises follow-ups)",
            "admin",
            ProbationIn,
            201,
            **NOT_FOUND,
            **CONFLICT,
        ),
    ),
    "/api/employees/{id}/performance-reviews": _path(
        NUM,
        post=_op(
            "Add a performance review (raises follow-ups)",
            "admin",
            PerformanceIn,
            201,
            **NOT_FOUND,
            **CONFLICT,
        ),
    ),
    "/api/employees/{id}/training": _path(
        NUM,
        post=_op("Add a training record", "admin", TrainingIn, 201, **NOT_FOUND, **CONFLICT),
    ),
    "/api/training/{id}": _path(
        NUM,
        post=_op(
            "Change a training record's status",
            "admin",
            TrainingStatusIn,
            200,
            **NOT_FOUND,
            **CONFLICT,
        ),
    ),
    "/api/follow-ups/{id}": _path(
        NUM,
        post=_op(
            "Accept (enrol) or dismiss an open follow-up",
            "admin",
            FollowUpIn,
            200,
            **NOT_FOUND,
            **CONFLICT,
        ),
    ),
    "/api/onboarding-tasks/{id}/done": _path(
        NUM, post=_op("Mark a task done", "admin", None, 200, **NOT_FOUND, **CONFLICT)
    ),
    "/api/events": {
        "get": _with(
            _op("Up to 200 HR events after an id (each also a webhook)", "admin"),
            _q("after", {"type": "integer", "default": 0}),
        )
    },
    "/api/analytics/validity": {
        "get": _with(
            _op(
                "Per family and competency: n, Pearson and Spearman with p-values and 95% "
                "bootstrap intervals, small-n flags",
                "admin",
                None,
                200,
                **{"400": "bad parameter"},
            ),
            DATA_Q,
            OUTCOME_Q,
            MIN_N_Q,
        )
    },
    "/api/analytics/validity/plot": {
        "get": _with(
            _op(
                "SVG scatter of one competency against the outcome in one family",
                "admin",
                None,
                200,
                **{"400": "family and competency are required"},
            ),
            _q("family", {"type": "string"}, required=True),
            _q("competency", {"type": "string"}, required=True),
            DATA_Q,
            OUTCOME_Q,
            MIN_N_Q,
        )
    },
    "/api/analytics/adverse-impact": {
        "get": _with(
            _op(
                "Selection rates and impact ratios per stage and self-reported group "
                "(groups under 5 suppressed), four-fifths flags, missing data, pending",
                "admin",
                None,
                200,
                **{"400": "bad parameter"},
            ),
            DATA_Q,
            _q("family", {"type": "string"}),
            _q("requisition", {"type": "string"}),
            _q("threshold", {"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
            _q("min_group", {"type": "integer", "minimum": 1, "default": 5}),
            _q("format", {"enum": ["json", "csv"], "default": "json"}),
        )
    },
}

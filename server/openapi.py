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
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{security: []}],
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
DATA_Q = {
    "name": "data",
    "in": "query",
    "schema": {"enum": ["real", "synthetic", "all"], "default": "real"},
}


def _path(params: list[dict[str, Any]], **ops: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": params, **ops}


OPENAPI["paths"] |= {
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
        get=_op(
            "The finalized report (JSON, or ?format=html)",
            "admin",
            None,
            200,
            **{"404": "no report"},
        ),
    ),
    "/api/interviews/{id}/background": _path(
        ID, get=_op("The candidate's profile and match with the requirements", "interviewer")
    ),
    "/api/requisitions/{id}/ranking": _path(
        ID,
        get=_op(
            "Interviewed candidates ranked by composite match, with bands and reasons "
            "(?limit, ?offset)",
            "admin",
            None,
            200,
            **{"404": "no such requisition"},
        ),
    ),
    "/api/requisitions/{id}/match": _path(
        ID, put=_op("Set the composite match weights and bands", "admin", MatchConfig)
    ),
    "/api/interviews/{id}/decision": _path(
        ID,
        get=_op("Recommendation, recorded decisions and the current offer", "admin"),
        post=_op(
            "A person records the decision with a reason (the system never decides)",
            "admin",
            DecisionIn,
            201,
            **{"400": "no name or reason", "409": "not finished or already hired"},
        ),
    ),
    "/api/interviews/{id}/job-offer": _path(
        ID,
        get=_op(
            "The offer as the candidate sees it", "candidate", None, 200, **{"404": "no offer"}
        ),
        post=_op(
            "Draft and send the offer (needs a recorded 'offer' decision); answers the "
            "candidate link",
            "admin",
            JobOfferIn,
            201,
            **{"400": "salary outside the band", "409": "no recorded decision"},
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
            **{"400": "name does not match", "409": "no open offer or text changed"},
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
        get=_op("Whether the candidate answered (never what)", "candidate"),
        post=_op(
            "Voluntary self-identification, used only in aggregate (adverse impact)",
            "candidate",
            SelfIdIn,
            200,
            **{"400": "not one of the options"},
        ),
    ),
    "/api/self-id/options": {"get": {"summary": "The self-identification options"}},
    "/api/employees": {"get": _op("Employees, newest first", "admin")},
    "/api/employees/{id}": _path(
        NUM,
        get=_op("One employee: interview, onboarding, reviews, training, follow-ups", "admin"),
    ),
    "/api/employees/{id}/probation-reviews": _path(
        NUM, post=_op("Add a probation review (raises follow-ups)", "admin", ProbationIn, 201)
    ),
    "/api/employees/{id}/performance-reviews": _path(
        NUM,
        post=_op("Add a performance review (raises follow-ups)", "admin", PerformanceIn, 201),
    ),
    "/api/employees/{id}/training": _path(
        NUM, post=_op("Add a training record", "admin", TrainingIn, 201)
    ),
    "/api/training/{id}": _path(
        NUM, post=_op("Change a training record's status", "admin", TrainingStatusIn)
    ),
    "/api/follow-ups/{id}": _path(
        NUM, post=_op("Accept (enrol) or dismiss a follow-up", "admin", FollowUpIn)
    ),
    "/api/onboarding-tasks/{id}/done": _path(NUM, post=_op("Mark a task done", "admin")),
    "/api/events": {"get": _op("HR events after ?after=<id> (also sent as webhooks)", "admin")},
    "/api/analytics/validity": {
        "get": _op(
            "Per family and competency: n, Pearson and Spearman with p-values and 95% "
            "bootstrap intervals, small-n flags (?data, ?outcome, ?min_n)",
            "admin",
        )
        | {"parameters": [DATA_Q]}
    },
    "/api/analytics/validity/plot": {
        "get": _op("SVG scatter of one competency against the outcome", "admin")
        | {"parameters": [DATA_Q]}
    },
    "/api/analytics/adverse-impact": {
        "get": _op(
            "Selection rates and impact ratios per stage and self-reported group, four-fifths "
            "flags, missing data (?data, ?family, ?requisition, ?threshold, ?format=csv)",
            "admin",
            None,
            200,
            **{"400": "bad parameter"},
        )
        | {"parameters": [DATA_Q]}
    },
}

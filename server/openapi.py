"""The public API contract, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from server.api import ConsentIn, InterviewIn, OfferIn, QuestionIn, RequisitionIn

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

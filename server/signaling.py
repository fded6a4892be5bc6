"""Live signaling: the candidate's SDP offer, interviewers' receive-only offers, the current
question, and the live WebSocket that interviewers (and the candidate) follow."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

from hr_bridge import interviews as db
from hr_bridge.interviews import InterviewState
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore
from server.api import OfferIn, QuestionIn
from server.app_keys import AUTH_KEY, LIVE_KEY, RESOURCES_KEY
from server.auth import AuthError, Role
from server.live import MAX_SDP_BYTES, BadOffer, Busy, parse_offer
from server.web_util import (
    engine_of,
    error,
    interview_or_404,
    read_body,
    settings_of,
    token_claims,
)

WS_MAX_MESSAGE = 4096
WS_AUTH_TIMEOUT_S = 5.0


async def offer(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: OfferIn = await read_body(request, OfferIn, limit=MAX_SDP_BYTES + 1024)
    engine = engine_of(request)
    iv = await interview_or_404(request)
    if iv.invite_used_at is not None:
        raise error(web.HTTPGone, "this invite was already used")
    if iv.state != InterviewState.CONSENTED:
        raise error(web.HTTPConflict, f"interview is {iv.state}; media needs consent first")
    live = request.app[LIVE_KEY]
    if len(live) >= settings_of(request).max_live_interviews:
        raise error(web.HTTPServiceUnavailable, "the server is at its live-interview capacity")
    try:
        parse_offer(body.sdp)  # a malformed offer must not spend the single-use invite
    except BadOffer as err:
        raise error(web.HTTPBadRequest, str(err)) from None
    try:
        await asyncio.to_thread(db.use_invite, engine, iv.id, claims.jti)
    except PermissionError as err:
        raise error(web.HTTPGone, str(err)) from None
    try:
        answer = await live.start(iv.id, body.sdp)
    except (BadOffer, Busy) as err:
        await asyncio.to_thread(db.release_invite, engine, iv.id)  # nothing started: reusable
        status = web.HTTPBadRequest if isinstance(err, BadOffer) else web.HTTPServiceUnavailable
        raise error(status, str(err)) from None
    await asyncio.to_thread(
        db.transition,
        engine,
        iv.id,
        {InterviewState.CONSENTED},
        InterviewState.LIVE,
        started_at=datetime.now(UTC),
    )
    return web.json_response({"sdp": answer, "type": "answer"})


async def watch(request: web.Request) -> web.Response:
    token_claims(request, "interviewer")
    body: OfferIn = await read_body(request, OfferIn, limit=MAX_SDP_BYTES + 1024)
    try:
        answer = await request.app[LIVE_KEY].watch(request.match_info["id"], body.sdp)
    except BadOffer as err:
        raise error(web.HTTPBadRequest, str(err)) from None
    return web.json_response({"sdp": answer, "type": "answer"})


async def set_question(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: QuestionIn = await read_body(request, QuestionIn)
    iv = await interview_or_404(request)
    req = await asyncio.to_thread(db.get_requisition, engine_of(request), iv.requisition_id)
    questions = req.questions if req else []
    if body.index >= len(questions):
        raise error(web.HTTPBadRequest, f"index: this interview has {len(questions)} questions")
    live = request.app[LIVE_KEY].live.get(claims.interview)
    if live is None:
        raise error(web.HTTPConflict, "the interview is not live")
    await live.session.set_question(body.index, questions[body.index]["text"])
    return web.json_response({"index": body.index})


CANDIDATE_RECORDS = {"caption", "question", "ended"}


async def live_ws(request: web.Request) -> web.WebSocketResponse:
    """Interviewers (and the candidate, for their own captions) follow an interview live.

    Auth is the first message, {"token": ...}, so tokens stay out of URLs and logs."""
    settings = settings_of(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != settings.effective_public_url:
        raise error(web.HTTPForbidden, "cross-origin WebSocket refused")
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, heartbeat=20)
    await ws.prepare(request)
    iid = request.match_info["id"]
    try:
        msg = await asyncio.wait_for(ws.receive(), WS_AUTH_TIMEOUT_S)
        token = json.loads(msg.data).get("token") if msg.type == WSMsgType.TEXT else None
    except (TimeoutError, ValueError, AttributeError):
        token = None
    auth = request.app[AUTH_KEY]
    role: Role | None = None
    roles: tuple[Role, ...] = ("interviewer", "candidate")
    for candidate_role in roles:
        with contextlib.suppress(AuthError):
            auth.verify(token, iid, candidate_role)
            role = candidate_role
            break
    if role is None:
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    store = ScoreStore(request.app[RESOURCES_KEY].redis.client, iid, MonotonicClock())
    snapshot = await store.snapshot()
    if role == "candidate":
        snapshot = {
            "scores": {},
            "events": [e for e in snapshot["events"] if e["type"] in CANDIDATE_RECORDS],
        }
    await ws.send_json({"type": "snapshot", **snapshot})

    async def forward() -> None:
        async for record in store.subscribe():
            if role == "candidate" and record["type"] not in CANDIDATE_RECORDS:
                continue
            await ws.send_json(record)

    forwarder = asyncio.create_task(forward())
    try:
        async for msg in ws:  # the client sends nothing more; this notices it leaving
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await forwarder
    return ws


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/interviews/{id}/offer", offer)
    r.add_post("/api/interviews/{id}/watch", watch)
    r.add_post("/api/interviews/{id}/question", set_question)
    r.add_get("/api/interviews/{id}/live", live_ws)

"""Live signaling: the candidate's SDP offer, interviewers' receive-only offers, the current
question, and the live WebSocket that interviewers (and the candidate) follow."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from hr_bridge import interviews as db
from hr_bridge.interviews import Conflict, InterviewState
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY, RESOURCES_KEY
from server.live import MAX_SDP_BYTES, BadOffer, Busy, InUse, NotResumable, TooManyViewers
from server.live_fanout import LimitReached
from server.settings import Settings, origin_of
from server.web.auth import Auth, AuthError, Claims, Role
from server.web.contract import Operation, Reply, add, plain
from server.web.schemas import AnswerSdp, IdPath, OfferIn, QuestionIn, QuestionOut
from server.web.util import (
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
    """The candidate's media: the first offer spends the invite and starts the session; a
    later one with the same invite rejoins it (after a reload or a dropped connection) while
    the interview is live or interrupted within the grace period."""
    claims = token_claims(request, "candidate")
    body: OfferIn = await read_body(request, OfferIn, limit=MAX_SDP_BYTES + 1024)
    engine = engine_of(request)
    iv = await interview_or_404(request)
    service = request.app[INTERVIEWS_KEY]
    if iv.state in (InterviewState.FINISHED, InterviewState.ABANDONED):
        raise error(web.HTTPGone, "this interview has ended; the link cannot be used again")
    rejoin = iv.invite_used_at is not None
    live = service.live
    if rejoin and iv.state == InterviewState.CONSENTED and claims.jti == iv.invite_jti:
        # The invite is spent but the interview is not live yet: it is starting (a reload in
        # the seconds the speech model loads), or a crash came in between: start afresh.
        if iv.id in live.negotiating or live.holds(iv.id):
            raise error(web.HTTPConflict, "the interview is starting; try again in a moment")
        await asyncio.to_thread(db.release_invite, engine, iv.id)
        rejoin = False
    if rejoin and not service.may_rejoin(iv, claims.jti):
        if claims.jti != iv.invite_jti:
            raise error(web.HTTPGone, "this invite was already used")
        raise error(web.HTTPGone, "the time to rejoin this interview has passed")
    if not rejoin and iv.state != InterviewState.CONSENTED:
        raise error(web.HTTPConflict, f"interview is {iv.state}; media needs consent first")
    # The whole negotiation comes first: an offer that cannot be answered spends nothing.
    try:
        negotiated = await live.negotiate(iv.id, body.sdp, rejoin=rejoin)
    except BadOffer as err:
        raise error(web.HTTPBadRequest, str(err)) from None
    except InUse as err:
        raise error(web.HTTPConflict, str(err)) from None
    except Busy as err:
        raise error(web.HTTPServiceUnavailable, str(err)) from None
    if rejoin:
        try:
            await live.rejoin(negotiated)
        except (NotResumable, Conflict) as err:
            raise error(web.HTTPGone, f"the interview cannot be rejoined: {err}") from None
        return web.json_response({"sdp": negotiated.answer, "type": "answer"})
    try:
        try:
            await asyncio.to_thread(db.use_invite, engine, iv.id, claims.jti)
        except PermissionError as err:
            raise error(web.HTTPGone, str(err)) from None
        try:
            await live.go_live(negotiated)
        except BaseException:
            await asyncio.to_thread(db.release_invite, engine, iv.id)  # nothing started: reusable
            raise
    finally:
        await live.abandon(negotiated)  # gives the slot back unless it went live
    try:
        await service.media_started(iv.id)
    except (Conflict, KeyError) as err:  # changed meanwhile: it never went live, no report
        await live.release(iv.id, "the interview changed while going live", report=False)
        raise error(web.HTTPConflict, str(err)) from None
    return web.json_response({"sdp": negotiated.answer, "type": "answer"})


async def watch(request: web.Request) -> web.Response:
    token_claims(request, "interviewer")
    body: OfferIn = await read_body(request, OfferIn, limit=MAX_SDP_BYTES + 1024)
    try:
        answer = await request.app[INTERVIEWS_KEY].live.watch(request.match_info["id"], body.sdp)
    except BadOffer as err:
        raise error(web.HTTPBadRequest, str(err)) from None
    except TooManyViewers as err:
        raise error(web.HTTPTooManyRequests, str(err)) from None
    return web.json_response({"sdp": answer, "type": "answer"})


async def set_question(request: web.Request) -> web.Response:
    claims = token_claims(request, "candidate")
    body: QuestionIn = await read_body(request, QuestionIn)
    iv = await interview_or_404(request)
    req = await asyncio.to_thread(db.get_requisition, engine_of(request), iv.requisition_id)
    questions = req.questions if req else []
    if body.index >= len(questions):
        raise error(web.HTTPBadRequest, f"index: this interview has {len(questions)} questions")
    live = request.app[INTERVIEWS_KEY].live.live.get(claims.interview)
    if live is None:
        raise error(web.HTTPConflict, "the interview is not live")
    await live.session.set_question(body.index, questions[body.index]["text"])
    return web.json_response({"index": body.index})


# What the candidate's page follows: their speech state (the page waits for the end of an
# answer), the question, the interview's state, gaps and the end. Captions only where
# `candidate_captions` is set: raw recognition errors unsettle candidates.
CANDIDATE_RECORDS = frozenset({"speech", "question", "state", "gap", "ended"})
# About the feed itself (records lost to a slow socket, Redis interrupted): for everyone.
FEED_NOTICES = {"dropped", "feed"}
SUBSCRIBE_WAIT_S = 2.0  # a new subscription usually takes a millisecond


def _ws_claims(auth: Auth, token: object, interview_id: str) -> Claims | None:
    if not isinstance(token, str):  # {"token": 123} is no token (and no traceback)
        return None
    roles: tuple[Role, ...] = ("interviewer", "candidate")
    for role in roles:
        with contextlib.suppress(AuthError):
            return auth.verify(token, interview_id, role)
    return None


def candidate_records(settings: Settings) -> frozenset[str]:
    return CANDIDATE_RECORDS | {"caption"} if settings.candidate_captions else CANDIDATE_RECORDS


async def live_snapshot(store: ScoreStore) -> dict[str, Any]:
    try:
        return {"type": "snapshot", **(await store.snapshot())}
    except (RedisError, OSError, TimeoutError):  # Redis down: live records resume later
        return {"type": "snapshot", "scores": {}, "events": [], "unavailable": True}


async def live_ws(request: web.Request) -> web.WebSocketResponse:
    """Interviewers (and the candidate, for their own captions) follow an interview live.

    Auth is the first message, {"token": ...}, so tokens stay out of URLs and logs; a bad one
    counts against the address like a bad credential on the HTTP API (4429 once over the
    limit). Sockets share one Redis subscription per interview (server/live_fanout.py);
    beyond the caps per token and per interview a socket is closed with 4429."""
    settings = settings_of(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin_of(origin) not in settings.origins:
        raise error(
            web.HTTPForbidden,
            f"WebSocket from origin {origin} refused: open the page at "
            f"{settings.effective_public_url} or add the origin to allowed_origins",
        )
    ws = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, heartbeat=20)
    await ws.prepare(request)
    iid = request.match_info["id"]
    auth = request.app[AUTH_KEY]
    client = request.remote or "unknown"
    if auth.throttle.retry_after(client) > 0:  # the same budget as the HTTP API's
        await ws.close(code=4429, message=b"too many bad credentials from this address")
        return ws
    try:
        msg = await asyncio.wait_for(ws.receive(), WS_AUTH_TIMEOUT_S)
        token = json.loads(msg.data).get("token") if msg.type == WSMsgType.TEXT else None
    except (TimeoutError, ValueError, AttributeError):
        token = None
    claims = _ws_claims(auth, token, iid)
    if claims is None:
        auth.throttle.failed(client)
        await ws.close(code=4401, message=b"unauthorized")
        return ws
    redis = request.app[RESOURCES_KEY].redis.client
    fanout = request.app[INTERVIEWS_KEY].live.fanout(redis)
    try:
        follower = fanout.join(iid, claims.jti)
    except LimitReached as err:
        await ws.close(code=4429, message=str(err).encode()[:120])
        return ws
    forwarder: asyncio.Task[None] | None = None
    try:
        # Records published from here on are queued for this socket, so the snapshot read
        # next leaves no gap (at worst a record comes twice).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                await fanout.wait_subscribed(iid)
        snapshot = await live_snapshot(ScoreStore(redis, iid, MonotonicClock()))
        iv = await asyncio.to_thread(db.get_interview, engine_of(request), iid)
        snapshot["state"] = str(iv.state) if iv is not None else None
        asked = await request.app[INTERVIEWS_KEY].question_now(iid)
        snapshot["question"] = {"index": asked[0], "text": asked[1]} if asked else None
        allowed = candidate_records(settings)
        if claims.role == "candidate":
            snapshot["scores"] = {}
            snapshot["events"] = [e for e in snapshot["events"] if e.get("type") in allowed]
        await ws.send_json(snapshot)
        followed = allowed | FEED_NOTICES

        async def forward() -> None:
            while True:
                record = await follower.get()
                if claims.role == "candidate" and record.get("type") not in followed:
                    continue
                await ws.send_json(record)

        forwarder = asyncio.create_task(forward())
        async for msg in ws:  # the client sends nothing more; this notices it leaving
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        fanout.leave(follower)
        if forwarder is not None:
            forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await forwarder
    return ws


def add_routes(app: web.Application) -> None:
    # The handlers read their bodies with the same models (read_body), already checked here.
    sdp_limit = MAX_SDP_BYTES + 1024
    add(
        app,
        (
            Operation(
                "POST",
                "/api/interviews/{id}/offer",
                plain(offer),
                "WebRTC: SDP offer in, SDP answer out; starts the live analysis, or rejoins it "
                "(same invite, live or interrupted within the grace period)",
                ("candidate",),
                {
                    200: Reply("OK", AnswerSdp),
                    400: "malformed SDP, or one that cannot be answered",
                    404: "no such interview",
                    409: "no consent yet, or an offer for it is being answered",
                    410: "invite used or expired, interview ended, or too late to rejoin",
                    503: "live-interview capacity reached",
                },
                body=OfferIn,
                params=IdPath,
                body_limit=sdp_limit,
            ),
            Operation(
                "POST",
                "/api/interviews/{id}/watch",
                plain(watch),
                "WebRTC for interviewers: receive the candidate's video",
                ("interviewer",),
                {
                    200: Reply("OK", AnswerSdp),
                    400: "malformed SDP or not live",
                    429: "too many viewers for this interview",
                },
                body=OfferIn,
                params=IdPath,
                body_limit=sdp_limit,
            ),
            Operation(
                "POST",
                "/api/interviews/{id}/question",
                plain(set_question),
                "The candidate moved to question `index`",
                ("candidate",),
                {
                    200: Reply("OK", QuestionOut),
                    400: "no such question",
                    404: "no such interview",
                    409: "not live",
                },
                body=QuestionIn,
                params=IdPath,
            ),
            Operation(
                "GET",
                "/api/interviews/{id}/live",
                plain(live_ws),
                'WebSocket: send {"token": ...} first; receive a snapshot, then '
                "captions, scores, face indicators, questions and warnings as they happen",
                (),
                {
                    101: Reply("switching protocols", json=False),
                    400: "not a WebSocket upgrade",
                    403: "cross-origin WebSocket refused",
                },
                params=IdPath,
            ),
        ),
    )

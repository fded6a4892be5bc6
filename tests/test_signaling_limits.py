"""Live signaling under bad offers and floods: real aiortc offers, the real server, real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from hr_bridge import interviews as db
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore, keys
from server.app import create_app
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY, RESOURCES_KEY
from server.live_fanout import Follower, LimitReached, LiveFanout
from server.redis_embedded import EmbeddedRedis
from server.settings import Settings
from server.web.signaling import live_snapshot
from tests.test_live_webrtc import admin, bearer, schedule

Client = TestClient[Any, Any]
DEADLINE_S = 30.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S:.0f} s: {what}")
        await asyncio.sleep(0.1)


async def make_client(settings: Settings) -> Client:
    c: Client = TestClient(TestServer(create_app(settings)))
    await c.start_server()
    return c


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        await c.close()


async def consented(c: Client) -> dict[str, Any]:
    iv = await schedule(c)
    r = await c.post(
        f"/api/interviews/{iv['id']}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(iv["candidate_token"]),
    )
    assert r.status == 200, await r.text()
    return iv


async def real_offer(*directions: tuple[str, str]) -> tuple[RTCPeerConnection, str]:
    """A real aiortc offer with one transceiver per (kind, direction), candidates gathered."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for kind, direction in directions:
        pc.addTransceiver(kind, direction=direction)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


def without(sdp: str, prefix: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


async def post_offer(c: Client, iv: dict[str, Any], sdp: str) -> tuple[int, dict[str, Any]]:
    r = await c.post(
        f"/api/interviews/{iv['id']}/offer",
        json={"sdp": sdp, "type": "offer"},
        headers=bearer(iv["candidate_token"]),
    )
    return r.status, await r.json()


async def invite_used(c: Client, iid: str) -> bool:
    iv = await asyncio.to_thread(db.get_interview, c.app[RESOURCES_KEY].engine, iid)
    assert iv is not None
    return iv.invite_used_at is not None


async def test_unanswerable_offers_spend_nothing(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(make_settings(max_live_interviews=1, media_timeout_s=60))
    clients.append(c)
    iv = await consented(c)
    iid = iv["id"]
    pc, good = await real_offer(("audio", "sendonly"), ("video", "sendonly"))
    video_pc, video_only = await real_offer(("video", "sendonly"))
    recv_pc, receive_only = await real_offer(("audio", "recvonly"))
    two_pc, two_audio = await real_offer(("audio", "sendonly"), ("audio", "sendonly"))
    refused = {
        "duplicate mid": (good.replace("a=mid:1", "a=mid:0"), "a=mid:0"),
        "video only": (video_only, "no audio"),
        "audio not sent": (receive_only, "no audio"),
        "two audio sections": (two_audio, "one is allowed"),
        "no fingerprint": (without(good, "a=fingerprint"), "a=fingerprint"),
        "no ICE credentials": (without(good, "a=ice-"), "ice-ufrag"),
        "no candidates": (without(good, "a=candidate"), "candidate"),
        "no connection data": (without(good, "c="), "c="),
        "no setup": (without(good, "a=setup"), "a=setup"),
        "plain RTP": (good.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"), "DTLS-SRTP"),
        "junk line": (good.replace("a=rtcp-mux", "a=rtcp-mux\r\n%$#junk", 1), "line"),
        "control bytes": (good.replace("s=-", "s=-\x01\x7f", 1), "control"),
        "unknown bundle mid": (good.replace("BUNDLE 0 1", "BUNDLE 0 1 7"), "BUNDLE"),
    }
    live = c.app[INTERVIEWS_KEY].live
    for name, (sdp, reason) in refused.items():
        status, body = await post_offer(c, iv, sdp)
        assert status == 400, (name, body)
        assert reason in body["error"], (name, body)
        # Nothing spent, held or started; no report.
        assert not await invite_used(c, iid), name
        assert len(live) == 0 and not live.negotiating, name
        r = await c.get(f"/api/interviews/{iid}", headers=admin(c))
        assert (await r.json())["state"] == "consented", name
        assert (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).status == 404

    # The same invite still works for a good offer.
    status, body = await post_offer(c, iv, good)
    assert status == 200, body
    await pc.setRemoteDescription(RTCSessionDescription(**body))
    assert len(live) == 1 and await invite_used(c, iid)
    r = await c.get(f"/api/interviews/{iid}", headers=admin(c))
    assert (await r.json())["state"] == "live"
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(iv["candidate_token"]))
    assert r.status == 200, await r.text()
    for p in (pc, video_pc, recv_pc, two_pc):
        await p.close()


async def test_concurrent_offers_do_not_overshoot_capacity(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(make_settings(max_live_interviews=1, media_timeout_s=60))
    clients.append(c)
    ivs = [await consented(c), await consented(c)]
    offers = [await real_offer(("audio", "sendonly")) for _ in ivs]
    results = await asyncio.gather(
        *(post_offer(c, iv, sdp) for iv, (_pc, sdp) in zip(ivs, offers, strict=True))
    )
    assert sorted(status for status, _ in results) == [200, 503], results
    assert len(c.app[INTERVIEWS_KEY].live) == 1 and not c.app[INTERVIEWS_KEY].live.negotiating
    refused = ivs[[status for status, _ in results].index(503)]
    assert not await invite_used(c, refused["id"])  # it may try again later
    for p, _ in offers:
        await p.close()


async def test_viewers_are_capped_checked_and_timed_out(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(
        make_settings(media_timeout_s=60, max_viewers_per_interview=2, viewer_connect_timeout_s=1)
    )
    clients.append(c)
    iv = await consented(c)
    iid = iv["id"]
    pc, sdp = await real_offer(("audio", "sendonly"))
    status, body = await post_offer(c, iv, sdp)
    assert status == 200, body
    await pc.setRemoteDescription(RTCSessionDescription(**body))
    live = c.app[INTERVIEWS_KEY].live.live[iid]

    async def watch(offer: str) -> tuple[int, dict[str, Any]]:
        r = await c.post(
            f"/api/interviews/{iid}/watch",
            json={"sdp": offer, "type": "offer"},
            headers=bearer(iv["viewer_token"]),
        )
        return r.status, await r.json()

    # Same checks as for the candidate, adapted: a viewer only receives.
    viewers = [await real_offer(("video", "recvonly")) for _ in range(4)]
    sending_pc, sending = await real_offer(("video", "sendrecv"))
    assert (await watch(sending))[0] == 400
    status, body = await watch(without(viewers[0][1], "a=fingerprint"))
    assert status == 400 and "a=fingerprint" in body["error"]
    status, body = await watch(viewers[0][1].replace("a=mid:0", "a=mid:"))
    assert status == 400, body
    assert not live.viewers and live.viewers_negotiating == 0

    # Two viewers that never complete their side; the third is over the cap.
    assert (await watch(viewers[0][1]))[0] == 200
    assert (await watch(viewers[1][1]))[0] == 200
    status, body = await watch(viewers[2][1])
    assert status == 429 and "viewers" in body["error"]

    async def none_left() -> bool:
        return not live.viewers

    await eventually(none_left, "viewers that never connect are dropped")
    assert (await watch(viewers[3][1]))[0] == 200  # their slots came back
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(iv["candidate_token"]))
    assert r.status == 200
    assert not live.viewers
    for p in (pc, sending_pc, *(v for v, _ in viewers)):
        await p.close()


async def ws_open(c: Client, iid: str, token: Any) -> tuple[ClientWebSocketResponse, Any]:
    """A live socket after its first message: (socket, the snapshot or the close message)."""
    ws = await c.ws_connect(f"/api/interviews/{iid}/live")
    await ws.send_json({"token": token})
    msg = await ws.receive(timeout=10)
    if msg.type == WSMsgType.TEXT:
        return ws, msg.json()
    return ws, msg


async def test_live_sockets_are_capped_and_share_one_subscription(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(
        make_settings(max_live_sockets_per_token=2, max_live_sockets_per_interview=3)
    )
    clients.append(c)
    iv = await schedule(c)
    iid = iv["id"]
    redis = c.app[RESOURCES_KEY].redis.client

    bad: Any
    for bad in (123, {}, None, ["x"]):
        ws, msg = await ws_open(c, iid, bad)
        assert msg.type == WSMsgType.CLOSE and msg.data == 4401, (bad, msg)
        await ws.close()

    held: list[ClientWebSocketResponse] = []
    for _ in range(2):
        ws, snap = await ws_open(c, iid, iv["candidate_token"])
        assert snap["type"] == "snapshot", snap
        held.append(ws)
    ws, msg = await ws_open(c, iid, iv["candidate_token"])  # a third with the same link
    assert msg.type == WSMsgType.CLOSE and msg.data == 4429 and "link" in msg.extra, msg
    ws, snap = await ws_open(c, iid, iv["viewer_token"])
    assert snap["type"] == "snapshot"
    held.append(ws)
    other_viewer = c.app[AUTH_KEY].issue(iid, "interviewer", ttl_s=3600)
    ws, msg = await ws_open(c, iid, other_viewer)  # a fourth on the interview
    assert msg.type == WSMsgType.CLOSE and msg.data == 4429 and "interview" in msg.extra, msg

    async def subscribers() -> int:
        ((_name, count),) = await redis.pubsub_numsub(keys(iid)["live"])
        return int(count)

    assert await subscribers() == 1  # three sockets, one Redis subscription
    store = ScoreStore(redis, iid, MonotonicClock())
    # A record both roles follow (candidates get no captions by default).
    await store.publish({"type": "question", "index": 0, "text": "hello", "t": 1.0})
    for ws in held:
        record = await ws.receive_json(timeout=10)
        assert record["type"] == "question" and record["text"] == "hello"

    for ws in held:
        await ws.close()

    async def unsubscribed() -> bool:
        return await subscribers() == 0

    await eventually(unsubscribed, "the last socket out ends the subscription")
    ws, snap = await ws_open(c, iid, iv["candidate_token"])  # the link's count came back
    assert snap["type"] == "snapshot" and [e["text"] for e in snap["events"]] == ["hello"]
    await ws.close()


def test_a_slow_follower_loses_the_oldest_records_and_is_told() -> None:
    follower = Follower("iv", "jti", size=3)
    for i in range(5):
        follower.put({"type": "caption", "i": i})

    async def read(n: int) -> list[dict[str, Any]]:
        return [await follower.get() for _ in range(n)]

    got = asyncio.run(read(4))
    assert got[0] == {"type": "dropped", "count": 2}
    assert [r["i"] for r in got[1:]] == [2, 3, 4]


async def test_fanout_survives_redis_going_away(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    url = await asyncio.to_thread(server.start)
    client = aioredis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    fanout = LiveFanout(client, max_per_token=2, max_per_interview=2, retry_max_s=0.5)
    try:
        async with fanout.follow("iv1", "jti") as follower:
            async with asyncio.timeout(10):
                await fanout.wait_subscribed("iv1")
            with pytest.raises(LimitReached):
                async with fanout.follow("iv1", "jti"), fanout.follow("iv1", "jti"):
                    pass
            await asyncio.to_thread(server.stop)
            assert await asyncio.wait_for(follower.get(), 10) == {
                "type": "feed",
                "state": "interrupted",
            }
            await asyncio.to_thread(server.start)
            assert await asyncio.wait_for(follower.get(), 20) == {
                "type": "feed",
                "state": "resumed",
            }
            await ScoreStore(client, "iv1", MonotonicClock()).publish({"type": "ended"})
            assert await asyncio.wait_for(follower.get(), 10) == {"type": "ended"}
        assert fanout.followers("iv1") == 0
    finally:
        await fanout.aclose()
        await client.aclose()
        await asyncio.to_thread(server.stop)


async def test_snapshot_with_redis_down_is_empty_and_flagged(tmp_path: Path) -> None:
    dead = aioredis.Redis(unix_socket_path=str(tmp_path / "nothing.sock"), socket_timeout=1)
    try:
        snap = await live_snapshot(ScoreStore(dead, "iv1", MonotonicClock()))
    finally:
        await dead.aclose()
    assert snap == {"type": "snapshot", "scores": {}, "events": [], "unavailable": True}


async def test_bad_socket_tokens_count_against_the_address(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(make_settings(auth_failure_limit=3))
    clients.append(c)
    iv = await schedule(c)
    for bad in ("forged", 123, None):
        ws, msg = await ws_open(c, iv["id"], bad)
        assert msg.type == WSMsgType.CLOSE and msg.data == 4401, (bad, msg)
        await ws.close()
    # Over the limit: refused before the token is read, even a good one, and the HTTP API
    # shares the budget.
    ws = await c.ws_connect(f"/api/interviews/{iv['id']}/live")
    msg = await ws.receive(timeout=10)
    assert msg.type == WSMsgType.CLOSE and msg.data == 4429, msg
    await ws.close()
    r = await c.get(f"/api/interviews/{iv['id']}", headers=bearer(iv["viewer_token"]))
    assert r.status == 429 and "Retry-After" in r.headers

"""Live interviews over real WebRTC on loopback: an aiortc candidate, the real server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.rtc_client import FaceTrack, SpeechTrack
from bench.speech import conversation
from pipeline.score_store import keys
from pipeline.text import wer
from server.app import create_app
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY, MODELS_KEY, RESOURCES_KEY
from server.rtc_audio import AUDIO_PREFETCH, audio_prefetch
from server.settings import Settings
from tests.conftest import ARTIFACTS

Client = TestClient[Any, Any]

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    # Long enough together (about 38 words, 13 s) for communication and composure to have
    # their minimum evidence, so the report has an overall.
    "When a deadline is at risk, I tell my manager early, explain what is late and why, "
    "and suggest two or three options.",
]
REQUISITION = {
    "title": "Customer support lead",
    "language": "en",
    "competencies": ["communication", "composure"],
    "questions": [{"text": "What is your greatest strength?", "time_limit_s": 120}],
}


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Client]:
    app = create_app(make_settings(max_live_interviews=1, media_timeout_s=5, rejoin_grace_s=3))
    async with TestClient(TestServer(app)) as c:
        yield c


def admin(c: Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {c.app[AUTH_KEY].admin_key}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def schedule(c: Client, **extra: Any) -> dict[str, Any]:
    r = await c.post("/api/requisitions", json=REQUISITION, headers=admin(c))
    assert r.status == 201, await r.text()
    rid = (await r.json())["id"]
    r = await c.post(
        "/api/interviews",
        json={"requisition_id": rid, "candidate_name": "Ada", **extra},
        headers=admin(c),
    )
    assert r.status == 201, await r.text()
    body: dict[str, Any] = await r.json()
    body["candidate_token"] = body["candidate_url"].split("#token=")[1]
    body["viewer_token"] = body["interviewer_urls"][0].split("#token=")[1]
    return body


async def offer_sdp(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


async def test_candidate_to_interviewer_over_webrtc(client: Client, tmp_path) -> None:
    c = client
    iv = await schedule(c, affect_allowed=True)
    iid, token = iv["id"], iv["candidate_token"]
    r = await c.post(
        f"/api/interviews/{iid}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(token),
    )
    assert r.status == 200 and (await r.json())["state"] == "consented"

    pcm, _ = await asyncio.to_thread(conversation, TEXTS, tmp_path, [1.2])
    speech = SpeechTrack(pcm)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(speech)
    pc.addTrack(await asyncio.to_thread(FaceTrack))
    r = await c.post(
        f"/api/interviews/{iid}/offer",
        json={"sdp": await offer_sdp(pc), "type": "offer"},
        headers=bearer(token),
    )
    assert r.status == 200, await r.text()
    await pc.setRemoteDescription(RTCSessionDescription(**(await r.json())))

    # An interviewer follows live; a second one joins late and gets the current state.
    ws = await c.ws_connect(f"/api/interviews/{iid}/live")
    await ws.send_json({"token": iv["viewer_token"]})
    snapshot = await ws.receive_json(timeout=10)
    assert snapshot["type"] == "snapshot"
    assert snapshot["state"] == "live" and snapshot["question"] is None
    # The candidate follows their own speech state, not captions (off by default).
    mine = await c.ws_connect(f"/api/interviews/{iid}/live")
    await mine.send_json({"token": token})
    assert (await mine.receive_json(timeout=10))["state"] == "live"
    r = await c.post(f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token))
    assert r.status == 200

    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        msg = await ws.receive_json(timeout=40)
        records.append(msg)
        if sum(1 for m in records if m["type"] == "caption" and m["final"]) == len(TEXTS):
            break
    finals = [m for m in records if m["type"] == "caption" and m["final"]]
    assert len(finals) == 2, [m["type"] for m in records]
    assert wer(" ".join(TEXTS), " ".join(f["text"] for f in finals)) <= 0.25
    assert any(m["type"] == "caption" and not m["final"] for m in records)
    assert any(m["type"] == "question" for m in records)
    assert any(m["type"] == "face" and m["faces"] == 1 for m in records)
    assert any(m["type"] == "scores" for m in records)
    # Each caption word: [start, end, text, probability 0..1 or null].
    words = [w for f in finals for w in f["words"]]
    assert words and all(len(w) == 4 for w in words)
    assert all(w[3] is None or 0 <= w[3] <= 1 for w in words)
    assert any(w[3] is not None and w[3] > 0.5 for w in words)

    late = await c.ws_connect(f"/api/interviews/{iid}/live")
    await late.send_json({"token": iv["viewer_token"]})
    snap = await late.receive_json(timeout=10)
    assert {"speaking_rate", "face_present", "eye_contact"} <= set(snap["scores"])
    competency = snap["scores"]["competency:communication"]
    # Two short sentences sit at the edge of communication's minimum evidence (25 words and
    # 8 s of speech in one answer): either a value with its evidence, or no number and why.
    detail = competency["evidence"]
    assert detail["formula"].startswith("0.35 rate") and detail["label"] == "communication"
    if competency["value"] is None:
        assert detail["status"] == "insufficient_evidence" and detail["needs"]
    else:
        assert 0 < competency["value"] <= 100 and detail["evidence"]
    assert "competency:overall" in snap["scores"]
    assert snap["question"] == {"index": 0, "text": "What is your greatest strength?"}
    assert [e["text"] for e in snap["events"] if e["type"] == "caption" and e["final"]] == [
        f["text"] for f in finals
    ]
    redis = c.app[RESOURCES_KEY].redis.client
    assert await redis.hlen(keys(iid)["scores"]) >= 3
    # Readiness reports the load: this interview's stream on the shared Whisper scheduler.
    load = (await (await c.get("/readyz")).json())["load"]
    assert load["live_interviews"] == 1, load
    (asr,) = load["asr"].values()
    assert asr["streams"] == 1 and asr["finals_served"] >= 2 and asr["partial_scale"] >= 1, asr
    # ...and its video: frames decoded, some sampled, each sample analysed, replaced or pending.
    video = load["video"]
    assert video["streams"] == 1 and video["analysed"] >= 1, video
    assert video["frames_in"] >= video["sampled"] >= video["analysed"] + video["replaced"]
    # The candidate's audio is released one packet after it arrives (aiortc's buffer for
    # playback holds four): replaced in place, so an aiortc upgrade that moves it fails here.
    assert audio_prefetch(c.app[INTERVIEWS_KEY].live.live[iid].pc) == [AUDIO_PREFETCH]

    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
    assert r.status == 200 and (await r.json())["state"] == "finished"
    seen: list[dict[str, Any]] = []
    while not any(m["type"] == "state" and m["state"] == "finished" for m in seen):
        seen.append(await mine.receive_json(timeout=10))
    kinds = {m["type"] for m in seen}
    assert "speech" in kinds and "question" in kinds and "ended" in kinds
    assert not kinds - {"speech", "question", "state", "gap", "ended", "dropped", "feed"}
    await mine.close()
    r = await c.get(f"/api/interviews/{iid}", headers=admin(c))
    body = await r.json()
    assert (
        body["state"] == "finished" and body["consent_at"] and body["notice_version"] == "2026-11"
    )
    # The finalized report: stored once, with the transcript, scores, evidence and versions.
    r = await c.get(f"/api/interviews/{iid}/report", headers=bearer(iv["viewer_token"]))
    report = await r.json()
    assert r.status == 200, report
    (answer,) = report["questions"]
    assert [u["text"] for u in answer["transcript"]] == [f["text"] for f in finals]
    assert answer["scores"]["communication"]["evidence"]
    assert report["overall"] is not None and report["rubric_version"]
    assert "whisper_tiny_en" in report["models"] and report["affect_analysed"] is True
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))  # again
    assert r.status == 200
    again = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    assert again["generated_at"] == report["generated_at"]  # finishing twice: one report
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    assert (await c.get(f"/api/interviews/{iid}/report")).status == 401
    assert len(c.app[INTERVIEWS_KEY].live) == 0
    # The video counters outlive the interview: a reader's difference stays a rate.
    after = (await (await c.get("/readyz")).json())["load"]
    assert after["live_interviews"] == 0, after
    assert after["video"]["streams"] == 1, after
    assert after["video"]["analysed"] >= video["analysed"], (after, video)
    for name in ("scores", "events"):  # live state is kept for a while, not forever
        assert 0 < await redis.ttl(keys(iid)[name]) <= 3600
    await ws.close()
    await late.close()
    await pc.close()
    # Nothing of the session is left running.
    await asyncio.sleep(0.2)
    names = {t.get_name() for t in asyncio.all_tasks()}
    prefixes = ("session-", "video-", "vad-", "asr-", "face-")
    # The process's Whisper scheduler (server.model_hub) serves the next interviews.
    shared = {n for n in names if n.startswith("asr-scheduler-")}
    assert not {n for n in names if n.startswith(prefixes)} - shared
    assert [s.streams for s in c.app[MODELS_KEY].schedulers] == [0]
    assert speech.readyState in ("live", "ended")


async def test_bad_input_is_refused_clearly(client: Client) -> None:
    c = client
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    url = f"/api/interviews/{iid}"
    # Wrong credentials.
    assert (await c.post("/api/requisitions", json=REQUISITION)).status == 401
    assert (
        await c.post(
            f"{url}/consent",
            json={"accepted": True, "notice_version": "2026-11"},
            headers=bearer(iv["viewer_token"]),
        )
    ).status == 401
    assert (
        await c.post(
            f"{url}/consent",
            json={"accepted": True, "notice_version": "2026-11"},
            headers=bearer(token[:-3] + "abc"),
        )
    ).status == 401
    expired = c.app[AUTH_KEY].issue(iid, "candidate", ttl_s=-1)
    r = await c.post(
        f"{url}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(expired),
    )
    assert r.status == 410
    # No media before consent.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendonly")
    sdp = await offer_sdp(pc)
    r = await c.post(f"{url}/offer", json={"sdp": sdp}, headers=bearer(token))
    assert r.status == 409 and "consent" in (await r.json())["error"]
    r = await c.post(
        f"{url}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(token),
    )
    assert r.status == 200
    # Malformed and oversize SDP; the invite is not spent by them.
    r = await c.post(f"{url}/offer", json={"sdp": "hello"}, headers=bearer(token))
    assert r.status == 400
    r = await c.post(
        f"{url}/offer", json={"sdp": "v=0\r\n" + "a=x\r\n" * 20_000}, headers=bearer(token)
    )
    assert r.status == 413
    r = await c.post(f"{url}/offer", data=b"{not json", headers=bearer(token))
    assert r.status == 400
    # A good offer; then another candidate token (not the invite that started the media):
    # gone. (The invite itself may rejoin: tests/test_rejoin.py.)
    r = await c.post(f"{url}/offer", json={"sdp": sdp}, headers=bearer(token))
    assert r.status == 200, await r.text()
    other_link = c.app[AUTH_KEY].issue(iid, "candidate", ttl_s=600)
    r = await c.post(f"{url}/offer", json={"sdp": sdp}, headers=bearer(other_link))
    assert r.status == 410 and "already used" in (await r.json())["error"]
    # The server takes one live interview here: a second one is refused with 503.
    other = await schedule(c)
    r = await c.post(
        f"/api/interviews/{other['id']}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(other["candidate_token"]),
    )
    pc2 = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc2.addTransceiver("audio", direction="sendonly")
    r = await c.post(
        f"/api/interviews/{other['id']}/offer",
        json={"sdp": await offer_sdp(pc2)},
        headers=bearer(other["candidate_token"]),
    )
    assert r.status == 503
    # WebSocket: wrong token closes, foreign Origin is refused.
    ws = await c.ws_connect(f"{url}/live")
    await ws.send_json({"token": "nope"})
    msg = await ws.receive(timeout=5)
    assert msg.type.name == "CLOSE" and msg.data == 4401
    r = await c.get(
        f"{url}/live",
        headers={
            "Origin": "https://evil.example",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert r.status == 403
    # Network loss: no media arrives; the server notices, the interview is interrupted and
    # waits for a rejoin (rejoin_grace_s), then is finished.
    service = c.app[INTERVIEWS_KEY]
    for _ in range(75):  # the watchdog checks every ~1 s; media timeout is 5 s here
        if not len(service.live):
            break
        await asyncio.sleep(0.2)
    assert len(service.live) == 0
    # The grace period ends: the session is released (closed, then its report stored).
    for _ in range(150):
        if not service.live.holds(iid):
            break
        await asyncio.sleep(0.1)
    assert not service.live.holds(iid)
    r = await c.get(url, headers=admin(c))
    assert (await r.json())["state"] == "finished"
    await pc.close()
    await pc2.close()


async def test_openapi_document(client: Client) -> None:
    r = await client.get("/api/openapi.json")
    doc = await r.json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/requisitions",
        "/api/interviews",
        "/api/interviews/{id}/offer",
        "/api/interviews/{id}/live",
        "/api/interviews/{id}/consent",
    ):
        assert path in doc["paths"]

"""Rejoin after a dropped connection, over real WebRTC on loopback: an aiortc candidate that
speaks, drops (its peer connection closed) and comes back with the same invite link; the
live feed before, during and after; the grace period; the time rebase of the ingresses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.rtc_client import FaceTrack, SpeechTrack
from bench.speech import conversation
from hr_bridge import interviews as db
from hr_bridge import lifecycle
from hr_bridge.interviews import InterviewState
from pipeline.audio_ingress import AudioIngress
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore
from pipeline.text import wer
from pipeline.video_ingress import VideoIngress
from server.app import create_app
from server.app_keys import INTERVIEWS_KEY, RESOURCES_KEY
from server.settings import Settings
from server.web.signaling import candidate_records
from tests.test_live_webrtc import admin, bearer, offer_sdp, schedule
from tests.test_signaling_limits import eventually

Client = TestClient[Any, Any]

BEFORE = "When a deadline is at risk, I tell my manager early and explain what is late and why."
AFTER = "Then I suggest two or three options and we agree together which one to take."


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the HR store: the default SQLite file, or the PostgreSQL test schema."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        await c.close()


async def make_client(clients: list[Client], settings: Settings) -> Client:
    c: Client = TestClient(TestServer(create_app(settings)))
    await c.start_server()
    clients.append(c)
    return c


class Feed:
    """A live WebSocket read in the background: every record, in order."""

    def __init__(self, ws: ClientWebSocketResponse, snapshot: dict[str, Any]) -> None:
        self.ws = ws
        self.snapshot = snapshot
        self.records: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, c: Client, iid: str, token: str) -> Feed:
        ws = await c.ws_connect(f"/api/interviews/{iid}/live")
        await ws.send_json({"token": token})
        snapshot = await ws.receive_json(timeout=10)
        assert snapshot["type"] == "snapshot", snapshot
        return cls(ws, snapshot)

    async def _read(self) -> None:
        async for msg in self.ws:
            self.records.append(msg.json())
            self._changed.set()

    async def wait(
        self, check: Callable[[dict[str, Any]], bool], what: str, within_s: float = 40
    ) -> dict[str, Any]:
        """The first record (already received or next) that passes `check`."""
        deadline = time.monotonic() + within_s
        while True:
            found = next((r for r in self.records if check(r)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            assert left > 0, f"no {what} on the feed: {[r.get('type') for r in self.records]}"
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("type") == kind]

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()


def state(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r.get("type") == "state" and r.get("state") == name


async def consent(c: Client, iid: str, token: str) -> None:
    r = await c.post(
        f"/api/interviews/{iid}/consent",
        json={"accepted": True, "notice_version": "2026-11"},
        headers=bearer(token),
    )
    assert r.status == 200, await r.text()


async def candidate_pc(pcm: Any) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(SpeechTrack(pcm))
    pc.addTrack(await asyncio.to_thread(FaceTrack))
    return pc


async def post_offer(c: Client, iid: str, token: str, pc: RTCPeerConnection) -> tuple[int, Any]:
    r = await c.post(
        f"/api/interviews/{iid}/offer",
        json={"sdp": await offer_sdp(pc), "type": "offer"},
        headers=bearer(token),
    )
    return r.status, await r.json()


async def connect(c: Client, iid: str, token: str, pc: RTCPeerConnection) -> None:
    status, body = await post_offer(c, iid, token, pc)
    assert status == 200, body
    await pc.setRemoteDescription(RTCSessionDescription(**body))


async def info(c: Client, iid: str, token: str) -> dict[str, Any]:
    r = await c.get(f"/api/interviews/{iid}?as=candidate", headers=bearer(token))
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_drop_and_rejoin_continue_one_session(
    clients: list[Client],
    make_settings: Callable[..., Settings],
    database: dict[str, Any],
    tmp_path: Path,
) -> None:
    c = await make_client(
        clients,
        make_settings(max_live_interviews=1, media_timeout_s=4, rejoin_grace_s=120, **database),
    )
    service = c.app[INTERVIEWS_KEY]
    iv = await schedule(c, affect_allowed=False)
    iid, token, viewer = iv["id"], iv["candidate_token"], iv["viewer_token"]

    # The interviewer's feed works before there is any session, and follows every change.
    watching = await Feed.open(c, iid, viewer)
    assert watching.snapshot["state"] == "scheduled" and watching.snapshot["question"] is None
    await consent(c, iid, token)
    await watching.wait(state("consented"), "consented")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before, _ = await asyncio.to_thread(conversation, [BEFORE], tmp_path / "a", [3.0])
    first = await candidate_pc(before)
    await connect(c, iid, token, first)
    await watching.wait(state("live"), "live")
    mine = await Feed.open(c, iid, token)  # the candidate's own feed
    r = await c.post(f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token))
    assert r.status == 200
    session = service.live.session_of(iid)
    assert session is not None

    # The connection drops in the middle of the answer.
    await watching.wait(lambda r: r.get("type") == "caption", "a caption")
    await first.close()
    await watching.wait(state("interrupted"), "interrupted")
    await mine.wait(state("interrupted"), "interrupted (candidate)")
    cut = await watching.wait(lambda r: r.get("type") == "caption" and r["final"], "a final")
    # The answer open at the drop was ended there: its final, then nothing of it after.
    assert cut["text"].strip()
    on_hold = await info(c, iid, token)
    assert on_hold["state"] == "interrupted" and on_hold["resumable"] is True
    assert on_hold["rejoin_until"] and on_hold["question_index"] == 0
    assert on_hold["captions"] is False
    assert service.live.session_of(iid) is session  # kept, not reported
    r = await c.get(f"/api/interviews/{iid}/report", headers=admin(c))
    assert r.status == 404

    # Two offers at once with the same link: one rejoins, the other is refused.
    after, _ = await asyncio.to_thread(conversation, [AFTER], tmp_path / "b", [3.0])
    second, spare = await candidate_pc(after), await candidate_pc(after)
    results = await asyncio.gather(
        post_offer(c, iid, token, second), post_offer(c, iid, token, spare)
    )
    assert sorted(status for status, _ in results) == [200, 409], results
    (status, body), (_, other) = results
    winner, answer = (second, body) if status == 200 else (spare, other)
    await winner.setRemoteDescription(RTCSessionDescription(**answer))
    await watching.wait(state("live"), "live again")
    gap = await watching.wait(lambda r: r.get("type") == "gap", "a gap")
    assert gap["t"] > 0 and gap["duration_s"] > 0 and "connection" in gap["reason"]
    await mine.wait(lambda r: r.get("type") == "gap", "a gap (candidate)")
    assert service.live.session_of(iid) is session  # the same analysis session
    back = await info(c, iid, token)
    assert back["state"] == "live" and back["resumable"] and back["question_index"] == 0
    # The page re-posts the question it resumes at: nothing new happens.
    r = await c.post(f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token))
    assert r.status == 200

    resumed = await watching.wait(
        lambda r: r.get("type") == "caption" and r["final"] and r["t_start"] >= gap["t"],
        "a final after the rejoin",
        within_s=60,
    )
    assert resumed["utterance"] > cut["utterance"]
    # Media after the gap sits after it on the timeline.
    assert resumed["t_start"] >= gap["t"] + gap["duration_s"]
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
    assert r.status == 200 and (await r.json())["state"] == "finished"
    await watching.wait(state("finished"), "finished")

    report = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    (answer,) = report["questions"]
    said = [u["text"] for u in answer["transcript"]]
    assert cut["text"] in said and resumed["text"] in said
    assert wer(AFTER, resumed["text"]) <= 0.3
    (flag,) = [f for f in report["flags"] if f["flag"] == "gap"]
    assert flag["start"] == round(gap["t"], 1) and flag["end"] > flag["start"]
    assert not [f for f in report["flags"] if f["flag"] == "interrupted"]
    assert len(watching.of("question")) == 1  # the re-post was a no-op
    # No utterance spans the gap: the one open at the drop ended before it.
    for final in (r for r in watching.of("caption") if r["final"]):
        assert final["t_end"] <= gap["t"] + 0.05 or final["t_start"] >= gap["t"], final
    kinds = {r["type"] for r in mine.records}
    assert {"speech", "question", "state", "gap", "ended"} <= kinds
    assert "caption" not in kinds and "scores" not in kinds  # captions off by default

    # Finished: the link refuses plainly.
    late = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    late.addTransceiver("audio", direction="sendonly")
    status, body = await post_offer(c, iid, token, late)
    assert status == 410 and "ended" in body["error"]
    assert (await info(c, iid, token))["resumable"] is False
    for pc in (first, second, spare, late):
        await pc.close()
    await watching.close()
    await mine.close()


async def test_no_rejoin_within_the_grace_period_finishes_with_the_kept_session(
    clients: list[Client],
    make_settings: Callable[..., Settings],
    database: dict[str, Any],
    tmp_path: Path,
) -> None:
    c = await make_client(
        clients,
        make_settings(max_live_interviews=1, media_timeout_s=4, rejoin_grace_s=3, **database),
    )
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(c, iid, token)
    watching = await Feed.open(c, iid, iv["viewer_token"])
    pcm, _ = await asyncio.to_thread(conversation, [BEFORE], tmp_path, [2.0])
    pc = await candidate_pc(pcm)
    await connect(c, iid, token, pc)
    r = await c.post(f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token))
    assert r.status == 200
    final = await watching.wait(lambda r: r.get("type") == "caption" and r["final"], "a final")
    await watching.wait(lambda r: r.get("type") == "face", "a face record")
    await pc.close()
    await watching.wait(state("interrupted"), "interrupted")
    await watching.wait(state("finished"), "finished after the grace period", within_s=30)

    report = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    (flag,) = [f for f in report["flags"] if f["flag"] == "interrupted"]
    assert "did not rejoin within 3 s" in flag["detail"]
    (answer,) = report["questions"]
    assert final["text"] in [u["text"] for u in answer["transcript"]]
    # Made from the kept session, not rebuilt from the history (which has no face signals).
    assert "rebuilt" not in flag["detail"] and "connection" in flag["detail"]
    assert iid not in c.app[INTERVIEWS_KEY].live.detached
    again = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    again.addTransceiver("audio", direction="sendonly")
    status, body = await post_offer(c, iid, token, again)
    assert status == 410, body
    await again.close()
    await pc.close()
    await watching.close()


async def test_a_reload_before_the_drop_is_noticed_rejoins_the_same_session(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    """The page reloads and offers again while the server still holds its old connection:
    the old one is let go, the new one carries the same session on."""
    c = await make_client(
        clients, make_settings(max_live_interviews=1, media_timeout_s=60, rejoin_grace_s=60)
    )
    service = c.app[INTERVIEWS_KEY]
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(c, iid, token)
    watching = await Feed.open(c, iid, iv["viewer_token"])
    quiet = np.zeros(16000 * 30, np.float32)
    first = await candidate_pc(quiet)
    await connect(c, iid, token, first)
    session = service.live.session_of(iid)
    old = service.live.live[iid].pc
    second = await candidate_pc(quiet)
    await connect(c, iid, token, second)  # no drop noticed: the interview is live
    assert service.live.session_of(iid) is session and service.live.live[iid].pc is not old
    assert old.connectionState == "closed"
    await watching.wait(lambda r: r.get("type") == "gap", "a gap")
    states = [r["state"] for r in watching.of("state")]
    assert states[-2:] == ["interrupted", "live"], states
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
    assert r.status == 200 and (await r.json())["state"] == "finished"
    report = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    assert [f["flag"] for f in report["flags"]].count("gap") == 1
    for pc in (first, second):
        await pc.close()
    await watching.close()


def spoken_history(text: str) -> list[dict[str, Any]]:
    """What a session published for one answer before the server went down."""
    words = [[1.0 + 0.4 * i, 1.3 + 0.4 * i, w, 0.9] for i, w in enumerate(text.split())]
    end = words[-1][1]
    return [
        {"type": "question", "index": 0, "text": "What is your greatest strength?", "t": 0.5},
        {"type": "speech", "state": "start", "utterance": 1, "t": 1.0},
        {"type": "speech", "state": "end", "utterance": 1, "t": end},
        {
            "type": "caption", "final": True, "utterance": 1, "segment": 0, "text": text,
            "stable": text, "t_start": 1.0, "t_end": end, "confidence": 0.9, "words": words,
            "language": "en", "language_prob": 0.99,
        },
    ]  # fmt: skip


async def test_a_rejoin_after_a_server_restart_continues_from_the_history(
    clients: list[Client],
    make_settings: Callable[..., Settings],
    database: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The server lost the session (restart while live): the same link rejoins a new session
    seeded from the live history, and one report covers both parts."""
    c = await make_client(
        clients,
        make_settings(max_live_interviews=1, media_timeout_s=60, rejoin_grace_s=120, **database),
    )
    service = c.app[INTERVIEWS_KEY]
    engine = c.app[RESOURCES_KEY].engine
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(c, iid, token)
    # As a previous run left it: live since 20 s, the invite used, an answer in the history.
    row = await asyncio.to_thread(db.get_interview, engine, iid)
    assert row is not None
    await asyncio.to_thread(db.use_invite, engine, iid, row.invite_jti)
    await asyncio.to_thread(
        lifecycle.move, engine, iid, InterviewState.LIVE, actor="candidate",
        action="interview.live", started_at=datetime.now(UTC) - timedelta(seconds=20),
    )  # fmt: skip
    store = ScoreStore(c.app[RESOURCES_KEY].redis.client, iid, MonotonicClock())
    for record in spoken_history(BEFORE):
        await store.publish(record)
    assert iid in (await service.recover()).interrupted  # what start-up does
    on_hold = await info(c, iid, token)
    assert on_hold["state"] == "interrupted" and on_hold["resumable"] and on_hold["rejoin_until"]
    assert on_hold["question_index"] == 0  # from the history: no session here yet

    watching = await Feed.open(c, iid, iv["viewer_token"])
    assert watching.snapshot["question"] == {"index": 0, "text": "What is your greatest strength?"}
    pcm, _ = await asyncio.to_thread(conversation, [AFTER], tmp_path, [3.0])
    pc = await candidate_pc(pcm)
    await connect(c, iid, token, pc)
    await watching.wait(state("live"), "live again")
    gap = await watching.wait(lambda r: r.get("type") == "gap", "a gap")
    assert "restarted" in gap["reason"] and gap["t"] >= 4.0 and gap["duration_s"] > 10
    assert (await info(c, iid, token))["question_index"] == 0  # from the seeded session
    r = await c.post(f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token))
    assert r.status == 200
    resumed = await watching.wait(
        lambda r: r.get("type") == "caption" and r["final"], "a final after the rejoin", 60
    )
    assert resumed["utterance"] > 1 and resumed["t_start"] >= gap["t"] + gap["duration_s"]
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
    assert r.status == 200 and (await r.json())["state"] == "finished"
    report = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    (answer,) = report["questions"]
    assert [u["text"] for u in answer["transcript"]] == [BEFORE, resumed["text"]]
    assert [f["flag"] for f in report["flags"]].count("gap") == 1
    assert not watching.of("question")  # the re-post was a no-op
    await pc.close()
    await watching.close()


def test_candidates_get_captions_only_with_the_setting(
    make_settings: Callable[..., Settings],
) -> None:
    assert "caption" not in candidate_records(make_settings())
    assert {"speech", "question", "state", "gap", "ended"} <= candidate_records(make_settings())
    assert "caption" in candidate_records(make_settings(candidate_captions=True))


def _audio(pts: int, samples: int = 960) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.full((1, samples), 0.1, np.float32), format="flt", layout="mono"
    )
    frame.sample_rate, frame.pts, frame.time_base = 48000, pts, Fraction(1, 48000)
    return frame


def _video(pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
    frame.pts, frame.time_base = pts, Fraction(1, 90000)
    return frame


def test_rebased_ingresses_continue_the_timeline_after_the_gap() -> None:
    """A new track's pts restart at a random origin; after rebase(t) its first frame is
    media time t and the rest follow their pts."""
    audio = AudioIngress()
    for i in range(50):  # 1 s at 20 ms a frame, pts from an arbitrary origin
        audio.push(_audio(123_456 + i * 960))
    tail = audio.flush()
    assert tail and abs(audio.end_t - 1.024) < 0.033
    base = audio.end_t + 5.0
    audio.rebase(base)
    chunks = [ch for i in range(50) for ch in audio.push(_audio(7 + i * 960))]
    assert chunks[0].t == pytest.approx(base)
    assert not any(ch.gap for ch in chunks)  # no silence filled in for the gap
    assert audio.end_t == pytest.approx(base + 1.0, abs=0.04)

    video = VideoIngress(fps=10)
    taken = [video.push(_video(5_000 + i * 3000)) for i in range(30)]  # 1 s at 30 fps
    assert max(s.t for s in taken if s) < 1.0
    base = video.end_t + 5.0
    video.rebase(base)
    after = [s for s in (video.push(_video(99 + i * 3000)) for i in range(30)) if s]
    assert after[0].t == pytest.approx(base)
    assert all(b.t > a.t for a, b in itertools.pairwise(after))
    assert after[-1].t == pytest.approx(base + 0.9, abs=0.05)  # sampled at 10 fps


async def test_an_invite_spent_by_a_crash_before_going_live_starts_afresh(
    clients: list[Client], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The invite was spent but the server died before the interview went live (it is still
    `consented`, and no process is starting it): the same link starts the interview, it is
    not refused as used. Another candidate link still is."""
    c = await make_client(clients, make_settings())
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(c, iid, token)
    engine = c.app[RESOURCES_KEY].engine
    row = await asyncio.to_thread(db.get_interview, engine, iid)
    assert row is not None
    await asyncio.to_thread(db.use_invite, engine, iid, row.invite_jti)
    pcm, _ = await asyncio.to_thread(conversation, [BEFORE], tmp_path, [1.0])
    pc = await candidate_pc(pcm)
    await connect(c, iid, token, pc)
    assert (await info(c, iid, token))["state"] == "live"
    r = await c.post(f"/api/interviews/{iid}/finish", headers=admin(c))
    assert r.status == 200
    await pc.close()


async def test_a_server_stop_mid_interview_leaves_it_resumable(
    clients: list[Client], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A real stop and start (a deploy) with the same data folder and its embedded Redis: the
    interview is not finished by the stop, the next start makes it interrupted, and the same
    link carries it on; one report has the answers from before and after the restart."""
    settings = make_settings(max_live_interviews=1, media_timeout_s=60, rejoin_grace_s=120)
    first = await make_client(clients, settings)
    iv = await schedule(first)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(first, iid, token)
    watching = await Feed.open(first, iid, iv["viewer_token"])
    pcm, _ = await asyncio.to_thread(conversation, [BEFORE], tmp_path, [2.0])
    pc = await candidate_pc(pcm)
    await connect(first, iid, token, pc)
    r = await first.post(
        f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token)
    )
    assert r.status == 200
    before = await watching.wait(lambda r: r.get("type") == "caption" and r["final"], "a final")
    await watching.close()
    clients.remove(first)
    await first.close()  # the server stops: cleanup contexts run, sessions end unreported
    await pc.close()

    second = await make_client(clients, settings)  # start-up recovers what the stop left
    engine = second.app[RESOURCES_KEY].engine
    assert await asyncio.to_thread(db.get_report, engine, iid) is None  # not finished
    on_hold = await info(second, iid, token)
    assert on_hold["state"] == "interrupted" and on_hold["resumable"]
    pcm, _ = await asyncio.to_thread(conversation, [AFTER], tmp_path, [2.0])
    pc = await candidate_pc(pcm)
    watching = await Feed.open(second, iid, iv["viewer_token"])
    await connect(second, iid, token, pc)
    after = await watching.wait(
        lambda r: r.get("type") == "caption" and r["final"] and r["utterance"] > 1,
        "a final after the restart",
        60,
    )
    r = await second.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
    assert r.status == 200 and (await r.json())["state"] == "finished"
    report = await (await second.get(f"/api/interviews/{iid}/report", headers=admin(second))).json()
    (answer,) = report["questions"]
    assert [u["text"] for u in answer["transcript"]] == [before["text"], after["text"]]
    await pc.close()
    await watching.close()


async def test_a_session_is_held_through_every_step_and_a_failed_end_frees_it(
    clients: list[Client], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a drop pauses the session, the interview is still held (no sweep or restart
    rejoin takes it) and its video still counts in /readyz. A grace period that ends in a
    failed drain lets go of it, and the sweep finishes the interview from its history."""
    c = await make_client(
        clients,
        make_settings(
            max_live_interviews=1,
            media_timeout_s=4,
            rejoin_grace_s=2,
            interrupted_finalize_after_s=1,
        ),
    )
    service = c.app[INTERVIEWS_KEY]
    iv = await schedule(c)
    iid, token = iv["id"], iv["candidate_token"]
    await consent(c, iid, token)
    pc = await candidate_pc(np.zeros(16_000 * 30, np.float32))
    await connect(c, iid, token, pc)
    session = service.live.live[iid].session

    async def analysing() -> bool:
        return bool(session.video.face.analyzed >= 5)

    await eventually(analysing, "the candidate's video reaches the analysis")
    pausing, paused = asyncio.Event(), asyncio.Event()
    pause = session.pause

    async def slow_pause() -> None:
        pausing.set()
        await paused.wait()
        await pause()

    async def failing_finish() -> None:
        raise RuntimeError("the last final could not be drained")

    monkeypatch.setattr(session, "pause", slow_pause)
    monkeypatch.setattr(session, "finish", failing_finish)
    await pc.close()
    await asyncio.wait_for(pausing.wait(), 30)  # the drop is pausing the session now
    seen = service.live.video_load().analysed
    assert iid not in service.live.live and service.live.holds(iid)
    assert service.live.detached_at(iid) is not None
    paused.set()

    async def let_go() -> bool:
        return not service.live.holds(iid)

    await eventually(let_go, "the failed end lets go of the session")
    assert service.live.video_load().analysed >= seen >= 5  # the ended session still counts
    assert await asyncio.to_thread(db.get_report, c.app[RESOURCES_KEY].engine, iid) is None
    await service.sweep()
    report = await (await c.get(f"/api/interviews/{iid}/report", headers=admin(c))).json()
    (flag,) = [f for f in report["flags"] if f["flag"] == "interrupted"]
    assert "rebuilt from the stored live history" in flag["detail"]

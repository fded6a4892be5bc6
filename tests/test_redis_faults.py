"""Redis faults with real Redis processes: a killed embedded server is restarted and the same
client answers again; a restarted external Redis is picked up by the same client; the score
store and a session's finish ride out an outage and catch up afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from redis.exceptions import RedisError

from bench.rtc_client import SpeechTrack
from bench.speech import conversation
from pipeline.asr_stage import AsrConfig
from pipeline.clock import FakeClock, MonotonicClock
from pipeline.raw_signals import Signal
from pipeline.score_store import FULL_WRITE_EVERY_S, ScoreStore, keys, unpack
from pipeline.scoring.rubric import rubric_from_dict
from pipeline.scoring.scorer import Scorer
from pipeline.session import InterviewSession, SessionModels
from pipeline.vad_stage import VadConfig
from server.app import create_app
from server.app_keys import INTERVIEWS_KEY, RESOURCES_KEY
from server.redis_conn import open_redis, redis_client
from server.redis_embedded import (
    RESTART_FIRST_S,
    EmbeddedRedis,
    redis_server_binary,
    supervise,
)
from server.settings import Settings
from tests.media import audio_frames
from tests.pipeline_run import tiny_en, vad_model
from tests.procs import pids_matching, wait_gone
from tests.test_live_webrtc import admin, bearer, offer_sdp, schedule
from tests.test_video_pipeline import face_model

DEADLINE_S = 20.0


async def poll(check: Callable[[], Any], deadline_s: float = DEADLINE_S) -> None:
    """Wait until `await check()` is truthy; Redis errors count as not yet."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            if await check():
                return
        except (RedisError, OSError):
            pass
        if loop.time() > end:
            raise AssertionError(f"not true within {deadline_s:.0f} s")
        await asyncio.sleep(0.1)


def reaped(pid: int) -> bool:
    """Gone from the process table: dead and waited for (no zombie left)."""
    return not Path(f"/proc/{pid}").exists()


async def test_killed_embedded_redis_restarts_and_the_same_client_answers(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.redis_embedded")
    async with open_redis(make_settings()) as handle:
        server = handle.embedded
        assert server is not None and server.socket_path is not None
        sock = str(server.socket_path)
        old = server.pid
        assert old is not None and await handle.client.ping()
        os.kill(old, signal.SIGKILL)

        async def answers_from_a_new_child() -> bool:
            return server.restarts > 0 and bool(await handle.client.ping())

        await poll(answers_from_a_new_child)
        new = server.pid
        assert new is not None and new != old and server.restarts == 1
        assert str(server.socket_path) == sock  # same URL for every client

        async def old_reaped() -> bool:
            return reaped(old)

        await poll(old_reaped)
        await asyncio.sleep(4 * RESTART_FIRST_S)  # a second restart would show by now
        assert server.restarts == 1 and server.pid == new
        assert pids_matching(sock) == [new]
        assert await handle.client.set("k", "v") and await handle.client.get("k") == b"v"
    assert await asyncio.to_thread(wait_gone, new) and pids_matching(sock) == []
    warnings = [
        r
        for r in caplog.records
        if r.name == "server.redis_embedded" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1 and "killed by SIGKILL" in warnings[0].getMessage()


async def kill_and_wait_restart(server: EmbeddedRedis) -> None:
    pid, restarts = server.pid, server.restarts
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    async def restarted() -> bool:
        return server.restarts > restarts

    await poll(restarted)


@pytest.mark.parametrize(("stable_s", "delays"), [(60.0, [0.1, 0.2, 0.4, 0.4]), (0.0, [0.1] * 4)])
async def test_restart_backoff_doubles_to_its_cap_and_resets_once_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, stable_s: float, delays: list[float]
) -> None:
    caplog.set_level(logging.WARNING, logger="server.redis_embedded")
    server = EmbeddedRedis(tmp_path)
    await asyncio.to_thread(server.start)
    task = asyncio.create_task(supervise(server, first_s=0.1, max_s=0.4, stable_s=stable_s))
    try:
        for _ in delays:  # each child dies right after it came up (or, stable_s=0, "stayed up")
            await kill_and_wait_restart(server)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(server.stop)
    logged = [r.getMessage() for r in caplog.records if r.name == "server.redis_embedded"]
    assert [float(m.rsplit(" in ", 1)[1].split()[0]) for m in logged] == delays, logged


async def test_stopped_embedded_redis_is_not_restarted(
    make_settings: Callable[..., Settings],
) -> None:
    async with open_redis(make_settings()) as handle:
        server = handle.embedded
        assert server is not None and server.socket_path is not None
        sock, pid = str(server.socket_path), server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # dies, then is stopped before the supervisor restarts it
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(4 * RESTART_FIRST_S)
        assert server.restarts == 0 and server.pid is None
        assert pids_matching(sock) == [] and reaped(pid)
    assert pids_matching(sock) == []


class TcpRedis:
    """A separate redis-server on one TCP port, started again after a kill: an external Redis
    a test may kill without touching the shared one."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.folder = folder
        self.procs: list[asyncio.subprocess.Process] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> asyncio.subprocess.Process:
        self.folder.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "", "--appendonly", "no",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.procs.append(proc)
        probe = aioredis.Redis.from_url(self.url)
        try:
            await poll(probe.ping)
        finally:
            await probe.aclose()
        return proc

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


@pytest.fixture
async def tcp_redis(tmp_path: Path) -> AsyncIterator[TcpRedis]:
    server = TcpRedis(tmp_path / "external")
    yield server
    await server.stop()


async def test_restarted_external_redis_is_picked_up_by_the_same_client(
    make_settings: Callable[..., Settings], tcp_redis: TcpRedis
) -> None:
    first = await tcp_redis.start()
    async with open_redis(make_settings(redis_url=tcp_redis.url)) as handle:
        assert await handle.client.set("k", "v")
        first.kill()
        await first.wait()
        await tcp_redis.start()
        # One call: the dead pooled connection fails, the retry reconnects.
        assert await handle.client.ping()
        assert await handle.client.get("k") is None  # the new server answered


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "data")
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


def sig(value: float) -> Signal:
    return Signal(value, value, "%", 1.0)


async def stream(client: aioredis.Redis, iid: str) -> list[dict[str, Any]]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(keys(iid)["events"])  # type: ignore[assignment]
    return [unpack(fields[b"r"]) for _id, fields in entries]


async def test_score_store_rides_out_an_outage_and_catches_up(
    embedded: EmbeddedRedis,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.score_store")
    client = redis_client(embedded.url, make_settings())
    iid = f"test-{uuid.uuid4().hex[:8]}"
    store = ScoreStore(client, iid, MonotonicClock(), buffer_size=5)
    await store.publish({"type": "question", "n": 0})
    store.update({"eye_contact": sig(10)})
    await store.flush()
    assert store.writes == 1 and not store.unreachable

    sock = embedded.socket_path
    await asyncio.to_thread(embedded.stop)
    # A Redis that lost its data (killed before its append-only file caught up): it comes back
    # empty.
    (embedded.dir / "live-state.aof").unlink()
    for n in range(1, 8):  # 7 records into a buffer of 5: the 2 oldest are dropped
        await store.publish({"type": "caption", "n": n})
    assert store.unreachable
    store.update({"eye_contact": sig(20), "pauses": sig(5)})
    await store.flush()
    store.update({"eye_contact": sig(30)})
    await store.aclose()
    await store.expire(600)
    await store.aclose()  # twice, as finish() then aclose() do
    assert store.dropped == 2 and store.writes == 1

    await asyncio.to_thread(embedded.start)  # same socket: the same client reconnects
    assert embedded.socket_path == sock

    async def caught_up() -> bool:
        return not store.unreachable

    await poll(caught_up)
    scores = {k.decode(): unpack(v) for k, v in (await client.hgetall(keys(iid)["scores"])).items()}
    # The restarted Redis came back empty: every current value is written, not just changes.
    assert {k: v["value"] for k, v in scores.items()} == {"eye_contact": 30.0, "pauses": 5.0}
    assert [r["n"] for r in await stream(client, iid)] == [3, 4, 5, 6, 7]
    assert 0 < await client.ttl(keys(iid)["events"]) <= 600
    assert 0 < await client.ttl(keys(iid)["scores"]) <= 600

    await store.publish({"type": "ended"})  # healthy again: straight through
    assert (await stream(client, iid))[-1] == {"type": "ended"}
    logged = [
        (r.levelno, r.getMessage()) for r in caplog.records if r.name == "pipeline.score_store"
    ]
    assert [lvl for lvl, _ in logged] == [logging.WARNING, logging.INFO], logged
    assert "5 event records replayed, 2 dropped" in logged[1][1]
    await store.delete()
    await client.aclose()


async def test_score_hash_heals_after_a_restart_the_client_rode_over(
    embedded: EmbeddedRedis, make_settings: Callable[..., Settings]
) -> None:
    client = redis_client(embedded.url, make_settings())
    iid = f"test-{uuid.uuid4().hex[:8]}"
    clock = FakeClock()
    store = ScoreStore(client, iid, clock)

    async def write(**values: float) -> set[bytes]:
        store.update({k: sig(v) for k, v in values.items()})
        await store.aclose()  # writes now
        fields: list[bytes] = await client.hkeys(keys(iid)["scores"])  # type: ignore[assignment]
        return set(fields)

    assert await write(eye_contact=1, pauses=2) == {b"eye_contact", b"pauses"}
    await client.delete(keys(iid)["scores"])  # as a restarted, empty Redis would be
    clock.advance(1)
    assert await write(eye_contact=3) == {b"eye_contact"}  # changes only, between full writes
    clock.advance(FULL_WRITE_EVERY_S)
    assert await write(eye_contact=4) == {b"eye_contact", b"pauses"}
    assert not store.unreachable
    await store.delete()
    await client.aclose()


RUBRIC = rubric_from_dict(
    {
        "competencies": ["communication", "logical structure"],
        "questions": [{"text": "Tell us about a deadline.", "concepts": ["deadline", "team"]}],
    }
)
ANSWER = "First I told the team about the deadline, then we cut the scope and shipped on time."


async def test_session_finishes_with_redis_down(
    embedded: EmbeddedRedis, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    pcm, _ = await asyncio.to_thread(conversation, [ANSWER], tmp_path, [0.2], "en", 0.5)
    frames = await asyncio.to_thread(audio_frames, pcm)
    client = redis_client(embedded.url, make_settings())
    iid = f"test-{uuid.uuid4().hex[:8]}"
    clock = MonotonicClock()
    store = ScoreStore(client, iid, clock)
    models = SessionModels(
        vad=vad_model, asr=tiny_en, face=face_model, expression=None,
        vad_config=VadConfig(), asr_config=AsrConfig(),
    )  # fmt: skip
    session = InterviewSession(iid, clock, models, store, Scorer(RUBRIC))
    session.start()
    await session.set_question(0, "Tell us about a deadline.")
    await asyncio.to_thread(embedded.stop)
    for frame in frames:  # as fast as the stages take it; the answer ends with the input
        await session.audio.push_frame_wait(frame)
    await asyncio.wait_for(session.finish(), 60)
    await session.aclose()

    assert session.finals == 1  # the last answer's final was produced with Redis down...
    assert store.unreachable and store.dropped == 0
    assert session.scorer is not None
    assert session.scorer.usable_speech()  # ...and folded into the scores

    await asyncio.to_thread(embedded.start)

    async def caught_up() -> bool:
        return not store.unreachable

    await poll(caught_up)
    records = await stream(client, iid)
    finals = [r for r in records if r["type"] == "caption" and r["final"]]
    assert len(finals) == 1 and "deadline" in finals[0]["text"].lower()
    assert records[-1] == {"type": "ended"}
    assert b"competency:overall" in await client.hkeys(keys(iid)["scores"])
    await store.delete()
    await client.aclose()


async def test_finish_over_webrtc_with_redis_down_stores_the_report(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The whole path: a live interview whose Redis goes away; finishing it still answers 200
    and stores the report; Redis back, the same client answers /readyz again."""
    app = create_app(make_settings(max_live_interviews=1, media_timeout_s=20))
    async with TestClient(TestServer(app)) as c:
        iv = await schedule(c)
        iid, token = iv["id"], iv["candidate_token"]
        r = await c.post(
            f"/api/interviews/{iid}/consent",
            json={"accepted": True, "notice_version": "2026-11"},
            headers=bearer(token),
        )
        assert r.status == 200
        pcm, _ = await asyncio.to_thread(conversation, [ANSWER], tmp_path, [1.0], "en", 0.5)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(await asyncio.to_thread(SpeechTrack, pcm))
        r = await c.post(
            f"/api/interviews/{iid}/offer",
            json={"sdp": await offer_sdp(pc), "type": "offer"},
            headers=bearer(token),
        )
        assert r.status == 200, await r.text()
        await pc.setRemoteDescription(RTCSessionDescription(**(await r.json())))
        r = await c.post(
            f"/api/interviews/{iid}/question", json={"index": 0}, headers=bearer(token)
        )
        assert r.status == 200

        redis = c.app[RESOURCES_KEY].redis
        assert redis.embedded is not None
        await asyncio.to_thread(redis.embedded.stop)  # down for good: stopped, not restarted
        assert (await c.get("/readyz")).status == 503
        session = c.app[INTERVIEWS_KEY].live.live[iid].session

        async def answered() -> bool:
            return session.finals >= 1

        await poll(answered, 40)
        r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(token))
        assert r.status == 200 and (await r.json())["state"] == "finished", await r.text()
        r = await c.get(f"/api/interviews/{iid}/report", headers=admin(c))
        report = await r.json()
        assert r.status == 200, report
        (answer,) = report["questions"]
        assert "deadline" in " ".join(u["text"] for u in answer["transcript"]).lower()
        assert session.store.unreachable  # the live state waits for Redis...

        await asyncio.to_thread(redis.embedded.start)  # ...which comes back on the same socket

        async def caught_up() -> bool:
            return not session.store.unreachable

        await poll(caught_up)
        assert (await c.get("/readyz")).status == 200
        records = await stream(redis.client, iid)
        assert records[-2] == {"type": "ended"}  # then the state record: finished
        assert records[-1]["type"] == "state" and records[-1]["state"] == "finished"
        assert await redis.client.ttl(keys(iid)["events"]) > 0  # the expiry waited too
        await pc.close()

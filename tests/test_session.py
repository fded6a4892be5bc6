"""An interview session end to end into Redis (embedded and external), no network."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis.asyncio as aioredis

from bench.speech import conversation
from pipeline.asr_stage import AsrConfig
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore, keys, unpack
from pipeline.session import InterviewSession, SessionModels
from pipeline.text import wer
from pipeline.vad_stage import VadConfig
from server.redis_embedded import EmbeddedRedis
from tests.media import audio_frames, face_canvas, video_frame
from tests.pipeline_run import tiny_en, vad_model
from tests.test_video_pipeline import expression_model, face_model

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
]


@pytest.fixture(params=["embedded", "external"])
async def redis_client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[aioredis.Redis]:
    if request.param == "embedded":
        server = EmbeddedRedis(tmp_path)
        await asyncio.to_thread(server.start)
        client = aioredis.Redis.from_url(server.url)
        yield client
        await client.aclose()
        await asyncio.to_thread(server.stop)
    else:
        url = request.getfixturevalue("external_redis_url")
        client = aioredis.Redis.from_url(url)
        yield client
        await client.aclose()


def models(affect: bool) -> SessionModels:
    return SessionModels(
        vad=vad_model, asr=tiny_en, face=face_model,
        expression=expression_model if affect else None,
        vad_config=VadConfig(), asr_config=AsrConfig(),
    )  # fmt: skip


async def test_session_streams_captions_and_scores_into_redis(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    pcm, _ = await asyncio.to_thread(conversation, TEXTS, tmp_path, [1.2])
    audio = audio_frames(pcm)
    faces = await asyncio.to_thread(lambda: [face_canvas(x_shift=i * 6) for i in range(10)])
    iid = f"test-{uuid.uuid4().hex[:8]}"
    clock = MonotonicClock()
    store = ScoreStore(redis_client, iid, clock)
    session = InterviewSession(iid, clock, models(affect=True), store)
    received: list[dict[str, Any]] = []

    async def listen() -> None:  # what a live viewer receives (server/live_fanout.py reads it)
        pubsub = redis_client.pubsub()
        await pubsub.subscribe(keys(iid)["live"])
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    received.append(rec := unpack(message["data"]))
                    if rec["type"] == "ended":
                        return
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.2)  # subscribed before anything happens
    session.start()
    await session.set_question(0, "Tell us about your strengths.")
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    for i, frame in enumerate(audio):  # real-time pace, video at 10 fps alongside
        if (d := t0 + i * 0.02 - time.monotonic()) > 0:
            await asyncio.sleep(d)
        session.push_audio(frame)
        if i % 5 == 0:
            session.push_video(video_frame(faces[(i // 5) % len(faces)], i * 0.02))
    await session.finish()
    await asyncio.wait_for(listener, 10)
    duration = time.monotonic() - t0

    finals = [r for r in received if r["type"] == "caption" and r["final"]]
    # One utterance per answer; a pause inside one (the comma) may end a caption segment.
    assert sorted({f["utterance"] for f in finals}) == [1, 2]
    for u in (1, 2):  # its segments in order (one decoded as silence has no caption)
        segments = [f["segment"] for f in finals if f["utterance"] == u]
        assert segments == sorted(set(segments))
    assert wer(" ".join(TEXTS), " ".join(f["text"] for f in finals)) <= 0.2
    assert any(r["type"] == "caption" and not r["final"] for r in received)
    assert received[0] == {
        "type": "question",
        "index": 0,
        "text": "Tell us about your strengths.",
        "t": 0.0,  # media time of the question: a lost session can be rebuilt from it
    }
    assert any(r["type"] == "face" and r["eye_contact"] for r in received)
    assert any(r["type"] == "affect" and r["top"] == "happy" for r in received)

    snap = await store.snapshot()
    scores = snap["scores"]
    assert {"speaking_rate", "pauses", "face_present", "eye_contact"} <= set(scores)
    assert 50 < scores["speaking_rate"]["raw"] < 250  # words per minute
    assert scores["face_present"]["value"] > 90 and scores["eye_contact"]["value"] > 90
    assert "words" in scores["speaking_rate"]["evidence"]
    assert [e["text"] for e in snap["events"] if e["type"] == "caption" and e["final"]] == [
        f["text"] for f in finals
    ]
    assert store.writes <= 10 * duration + 2  # throttled to ~10 score writes a second
    await session.aclose()
    await store.delete()
    assert await redis_client.exists(*keys(iid).values()) == 0


async def test_late_viewer_gets_current_state(redis_client: aioredis.Redis) -> None:
    from pipeline.raw_signals import Signal

    iid = f"test-{uuid.uuid4().hex[:8]}"
    store = ScoreStore(redis_client, iid, MonotonicClock(), max_rate_hz=10)
    for v in range(30):  # a burst of updates is coalesced
        store.update({"eye_contact": Signal(float(v), float(v), "%", v / 10)})
        await asyncio.sleep(0.005)
    await store.publish({"type": "caption", "final": True, "text": "hello"})
    await store.aclose()
    snap = await store.snapshot()
    assert snap["scores"]["eye_contact"]["value"] == 29.0
    assert snap["events"][-1]["text"] == "hello"
    assert store.writes <= 4
    await store.delete()
    assert await redis_client.exists(*keys(iid).values()) == 0
    assert np.isfinite(snap["scores"]["eye_contact"]["trend"])

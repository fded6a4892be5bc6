"""Video stages on a real face (scikit-image's astronaut) made into clips at test time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from models_onnx.assets import locate, manifest
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from pipeline.clock import MonotonicClock
from pipeline.events import (
    AffectObservation,
    Event,
    FaceObservation,
    StageDegraded,
    VideoFeatures,
)
from pipeline.stage import lower_thread_priority
from pipeline.video_features import RollingVideoFeatures
from pipeline.video_ingress import VideoIngress
from pipeline.video_pipeline import VideoPipeline
from tests.media import face_canvas, video_frame

FPS_IN = 30


def face_model() -> FaceLandmarkerModel:
    return FaceLandmarkerModel(locate("face_landmarker"))


def expression_model() -> ExpressionModel:
    return ExpressionModel(locate("expression"), manifest()["expression"].labels)


async def run_video(
    frames: list[av.VideoFrame],
    affect: bool = False,
    realtime: bool = False,
    faces=face_model,
    expressions=expression_model,
    nice: int = 0,
    before_end: Callable[[], None] = lambda: None,
) -> tuple[list[Event], VideoPipeline]:
    vp = VideoPipeline(MonotonicClock(), faces, expressions if affect else None, nice=nice)
    events: list[Event] = []

    async def feed() -> None:
        t0 = time.monotonic()
        for i, f in enumerate(frames):
            if realtime:
                if (d := t0 + i / FPS_IN - time.monotonic()) > 0:
                    await asyncio.sleep(d)
                vp.push_frame(f)
            else:
                await vp.push_frame_wait(f)
        before_end()
        await vp.end()

    feeder = asyncio.create_task(feed())
    async for ev in vp.events():
        events.append(ev)
    await feeder
    await vp.aclose()
    return events, vp


def faces_of(events: list[Event]) -> list[FaceObservation]:
    return [e for e in events if isinstance(e, FaceObservation)]


async def test_presence_follows_a_face_that_leaves_and_returns() -> None:
    absent = (2.0, 3.0)

    def clip() -> list[av.VideoFrame]:
        frames = []
        for i in range(5 * FPS_IN):
            t = i / FPS_IN
            gone = absent[0] <= t < absent[1]
            rgb = face_canvas(faces=0 if gone else 1, x_shift=int(80 * np.sin(t * 2)))
            frames.append(video_frame(rgb, t))
        return frames

    events, _vp = await run_video(await asyncio.to_thread(clip))
    obs = faces_of(events)
    assert 45 <= len(obs) <= 51  # 10 per second sampled from 30
    truth = [not (absent[0] <= o.t < absent[1]) for o in obs]
    right = sum(o.present == want for o, want in zip(obs, truth, strict=True))
    assert right / len(obs) >= 0.95
    first_absent = next(o.t for o in obs if o.t >= absent[0] and not o.present)
    assert first_absent - absent[0] <= 0.5
    assert all(o.eye_contact for o in obs if o.present and o.t < absent[0])
    feats = [e for e in events if isinstance(e, VideoFeatures)]
    assert feats and abs(feats[-1].face_present_ratio - 0.8) < 0.06
    assert [e for e in events if isinstance(e, AffectObservation)] == []  # affect is off


def _rotated_frames() -> list[av.VideoFrame]:
    frames = []
    for k, angle in enumerate([0, 0, 0, 20, 20, 20, -20, -20, -20]):
        frames += [video_frame(face_canvas(rotate_deg=angle), (k * 3 + j) / 10) for j in range(3)]
    return frames


async def test_head_roll_follows_a_known_rotation() -> None:
    # Drawing 27 rotated faces takes ~0.3 s of CPU: off the loop, which the guard watches.
    frames = await asyncio.to_thread(_rotated_frames)
    obs = faces_of((await run_video(frames))[0])
    assert all(o.present for o in obs)
    base = np.median([o.roll for o in obs[:9]])
    ccw = np.median([o.roll for o in obs[9:18]])
    cw = np.median([o.roll for o in obs[18:]])
    assert ccw - base > 12 and base - cw > 12  # sign and rough size follow the rotation
    assert abs((ccw - base) - 20) < 8 and abs((base - cw) - 20) < 8


async def test_smiling_face_gives_a_stable_happy_expression() -> None:
    def clip() -> list[av.VideoFrame]:
        return [video_frame(face_canvas(x_shift=(i % 10) * 6), i / FPS_IN) for i in range(60)]

    events, _vp = await run_video(await asyncio.to_thread(clip), affect=True)
    affect = [e for e in events if isinstance(e, AffectObservation)]
    assert len(affect) >= 15
    assert sum(a.top == "happy" for a in affect) / len(affect) >= 0.9
    assert np.mean([a.valence for a in affect]) > 0.5
    assert all(abs(sum(p for _, p in a.probabilities) - 1) < 1e-2 for a in affect)
    assert np.mean([o.smile for o in faces_of(events)]) > 0.5


async def test_two_faces_are_flagged() -> None:
    def clip() -> list[av.VideoFrame]:  # 15 HD frames: 0.1 s of CPU here, 0.3+ on slow hosts
        big = face_canvas(width=1280, height=720, faces=2, face_px=600)
        return [video_frame(big, i / 10) for i in range(15)]

    events, _ = await run_video(await asyncio.to_thread(clip))
    obs = faces_of(events)
    flagged = [o for o in obs if o.faces == 2 and "several_faces" in o.warnings]
    assert len(flagged) >= 0.8 * len(obs)
    feats = [e for e in events if isinstance(e, VideoFeatures)]
    assert feats[-1].several_faces_ratio >= 0.8


async def test_odd_sizes_dark_small_and_broken_frames_degrade_not_crash() -> None:
    rng = np.random.default_rng(0)
    frames = [
        video_frame(face_canvas(width=641, height=479), 0.0),  # odd size: fine
        video_frame(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), 0.1),  # unusable
        video_frame((face_canvas() * 0.25).astype(np.uint8), 0.2),  # too dark
        video_frame(face_canvas(x_shift=300), 0.3),  # at the edge
        video_frame(face_canvas(), 0.4),
    ]
    events, _vp = await run_video(frames)
    degraded = [e for e in events if isinstance(e, StageDegraded)]
    assert degraded[0].stage == "face" and not degraded[0].recovered
    assert "8x8" in degraded[0].reason
    assert degraded[1].recovered
    obs = faces_of(events)
    assert [round(o.t, 1) for o in obs] == [0.0, 0.2, 0.3, 0.4]
    assert obs[0].present
    assert "too_dark" in obs[1].warnings
    assert "cut_off" in obs[2].warnings
    assert obs[3].present and obs[3].warnings == ()


async def test_a_failing_face_model_degrades_the_stage_only() -> None:
    def broken() -> FaceLandmarkerModel:
        raise RuntimeError("face_landmarker.task unreadable")

    frames = [video_frame(face_canvas(), i / 10) for i in range(5)]
    events, _ = await run_video(frames, faces=broken)
    degraded = [e for e in events if isinstance(e, StageDegraded)]
    assert len(degraded) == 1 and "unreadable" in degraded[0].reason  # once, not per frame
    assert faces_of(events) == []


async def test_live_push_never_queues_and_keeps_ten_fps() -> None:
    def clip() -> list[av.VideoFrame]:
        return [video_frame(face_canvas(x_shift=(i % 20) * 4), i / FPS_IN) for i in range(90)]

    events, vp = await run_video(await asyncio.to_thread(clip), realtime=True)
    assert len(vp.face._input) <= 1
    obs = faces_of(events)
    assert len(obs) >= 25  # ~10 per second for 3 s
    assert vp.ingress.sampled == 30


def test_ingress_samples_by_media_time() -> None:
    ing = VideoIngress(fps=10)
    rgb = np.zeros((48, 64, 3), np.uint8)
    kept = [s.t for i in range(60) if (s := ing.push(video_frame(rgb, 5.0 + i / 30)))]
    assert len(kept) == 20 and kept[0] == 0.0
    assert all(0.09 < b - a < 0.11 for a, b in itertools.pairwise(kept))
    assert ing.push(video_frame(rgb, 5.0)) is None  # back in time: dropped


def test_rolling_features_fold() -> None:
    roll = RollingVideoFeatures(window_s=10, every_s=1)
    out = []
    for i in range(40):
        t = i / 10
        obs = FaceObservation(
            t, faces=0 if 1.0 <= t < 2.0 else 1, eye_contact=i % 2 == 0,
            smile=float(i % 2), blink=i % 30 == 0,
        )  # fmt: skip
        if f := roll.add(obs):
            out.append(f)
    assert [round(f.t, 1) for f in out] == [1.0, 2.0, 3.0]  # one a second of media time
    last = roll.snapshot(3.9)
    assert abs(last.face_present_ratio - 0.75) < 0.01
    assert abs(last.eye_contact_ratio - 0.5) < 0.05
    assert last.expressiveness > 0.5  # the smile swings fully every frame
    assert 25 < last.blinks_per_min < 35  # two blinks in 3.9 s
    still = RollingVideoFeatures()
    for i in range(20):
        still.add(FaceObservation(i / 10, faces=1, smile=0.8))
    assert still.snapshot(1.9).expressiveness == 0.0
    with pytest.raises(ValueError):
        VideoIngress(fps=0)


def _nice_of(tid: int | None = None) -> int:
    """A thread's nice value (Linux: per thread); the calling thread's by default."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id() if tid is None else tid)


def _threads() -> dict[int, int]:
    """Every thread of this process and its nice value."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # it ended since the listing
            out[int(task.name)] = _nice_of(int(task.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
async def test_face_and_affect_threads_yield_the_cores_to_speech() -> None:
    base = _nice_of()
    if base > 14:
        pytest.skip(f"pytest runs at nice {base}: no room to lower a thread's priority by 5")
    before = set(_threads())
    seen: dict[str, int] = {}

    def faces() -> FaceLandmarkerModel:
        seen["face"] = _nice_of()
        return face_model()

    def expressions() -> ExpressionModel:
        seen["affect"] = _nice_of()
        return expression_model()

    def count_new_threads() -> None:  # MediaPipe's own threads exist once the landmarker does
        niced = min(19, base + 5)
        started = {t: n for t, n in _threads().items() if t not in before}
        seen["new"] = sum(1 for n in started.values() if n == niced)
        seen["unniced_new"] = sum(1 for n in started.values() if n == base)

    frames = [video_frame(face_canvas(x_shift=i * 6), i / 10) for i in range(6)]
    events, _ = await run_video(
        frames, True, faces=faces, expressions=expressions, nice=5, before_end=count_new_threads
    )
    assert seen["face"] == seen["affect"] == min(19, base + 5)
    assert any(isinstance(e, FaceObservation) and e.faces == 1 for e in events)
    assert any(isinstance(e, AffectObservation) for e in events)
    # The two workers and the threads MediaPipe started on its worker run niced (7 more
    # on the development machine), none at the loop's priority...
    assert seen["new"] >= 3 and seen["unniced_new"] == 0, seen
    # ...and this test's event loop thread stays as it was.
    assert _nice_of() == base


def test_lower_thread_priority_leaves_other_threads_alone() -> None:
    base = _nice_of()
    result: dict[str, object] = {}

    def work() -> None:
        result["done"] = lower_thread_priority(3)
        result["nice"] = _nice_of()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert _nice_of() == base
    if sys.platform.startswith("linux"):
        assert result == {"done": True, "nice": min(19, base + 3)}
    else:
        assert result == {"done": False, "nice": base}
    assert lower_thread_priority(0) is False

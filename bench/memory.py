"""Memory per interview: `python -m bench.memory [--seconds S] [--steps 1,2,4,8]`.

Starts the process's ModelHub as the server does (server.model_hub), loads its models (VAD,
expression, the sentence encoder, and English Whisper with its scheduler), then
opens live InterviewSessions in this process, 1, 2, 4 and 8 of them (each step adds
sessions; the earlier ones go on), all fed in real time with real media: synthesized speech
(espeak-ng) as 48 kHz WebRTC audio frames, and a real face (scikit-image's astronaut) as
640x480 frames at 15 fps, what the candidate page asks the browser for. Half the sessions
show a still face, half a moving one, so the analysed rates of both show. Scores go to an
embedded Redis (its own process, not counted).

Reports the process's RSS before the hub, with the models loaded, and after each step (and
the growth per extra interview), the CPU the process used per step, and the faces analysed
per second per session, still and moving. Prints a table and writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import redis.asyncio as aioredis

from bench.common import write_json
from bench.speech import audio_frames, conversation
from bench.video import make_frames, rss_mb
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore
from pipeline.session import InterviewSession, SessionModels
from server import models
from server.interview_service import SharedModels
from server.model_hub import ModelHub
from server.redis_embedded import EmbeddedRedis
from server.settings import Settings, load_settings

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
]
VIDEO_FPS = 15  # web_client/static/candidate-device.js asks for 640x480 at 15 fps
AUDIO_FRAME_S = 0.02


@dataclass
class Fed:
    session: InterviewSession
    moving: bool
    audio: int = 0  # audio frames fed so far
    frame: int = 0  # video frames fed so far

    @property
    def t(self) -> float:
        return self.audio * AUDIO_FRAME_S


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _yuv(frames: list[av.VideoFrame]) -> list[npt.NDArray[np.uint8]]:
    """The clip's pixels, shared by the sessions: each push makes a new frame of them, as a
    decoder does (one frame object converted on two sessions' threads at once crashes PyAV:
    its reformatter is per frame)."""
    return [np.asarray(f.to_ndarray(), dtype=np.uint8) for f in frames]


async def run(settings: Settings, steps: list[int], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"rss_mb_start": round(rss_mb(), 1)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pcm, _ = await asyncio.to_thread(conversation, TEXTS, folder, [1.5], "en", 1.0)
        audio = await asyncio.to_thread(audio_frames, pcm)
        moving = _yuv(await asyncio.to_thread(make_frames, 640, 480, 60))
        still = _yuv(await asyncio.to_thread(make_frames, 640, 480, 1))
        redis_server = EmbeddedRedis(folder)
        await asyncio.to_thread(redis_server.start)
        client = aioredis.Redis.from_url(redis_server.url)
        hub = await asyncio.to_thread(ModelHub, settings)
        try:
            out["rss_mb_media_ready"] = round(rss_mb(), 1)
            await asyncio.to_thread(hub.load)
            shared = await asyncio.to_thread(SharedModels.load, settings, hub)
            asr = await hub.asr("en")  # tiny.en, loaded: one for all sessions
            out["rss_mb_models_loaded"] = round(rss_mb(), 1)
            session_models = SessionModels(
                vad=shared.vad,
                asr=asr,
                face=shared.face,
                expression=shared.expression,
                vad_config=shared.vad_config,
                asr_config=models.asr_config(settings, "en"),
                video_fps=settings.video_analysis_fps,
            )
            fed: list[Fed] = []
            out["steps"] = []

            def feed_due(f: Fed, until: float) -> None:
                """Push the media of `f` up to media time `until` (pts set on push: the
                clips are shared and looped)."""
                while f.t < until:
                    frame = audio[f.audio % len(audio)]
                    frame.pts = round(f.t * frame.sample_rate)
                    frame.time_base = Fraction(1, frame.sample_rate)
                    f.session.push_audio(frame)
                    if f.t * VIDEO_FPS >= f.frame:
                        clip = moving if f.moving else still
                        vf = av.VideoFrame.from_ndarray(clip[f.frame % len(clip)], "yuv420p")
                        vf.pts = round(f.frame / VIDEO_FPS * 90_000)
                        vf.time_base = Fraction(1, 90_000)
                        f.session.push_video(vf)
                        f.frame += 1
                    f.audio += 1

            for n in steps:
                while len(fed) < n:
                    iid = f"bench-{len(fed)}"
                    clock = MonotonicClock()
                    session = InterviewSession(
                        iid, clock, session_models, ScoreStore(client, iid, clock)
                    )
                    session.start()
                    await session.set_question(0, "Tell us about your strengths.")
                    fed.append(Fed(session, moving=len(fed) % 2 == 1))
                analyzed0 = [f.session.video.face.analyzed for f in fed]
                cpu0, t0 = _cpu_s(), time.monotonic()
                starts = {id(f): f.t for f in fed}
                rss_peak = 0.0
                while (elapsed := time.monotonic() - t0) < seconds:
                    for f in fed:
                        feed_due(f, starts[id(f)] + elapsed)
                    rss_peak = max(rss_peak, rss_mb())
                    await asyncio.sleep(AUDIO_FRAME_S)
                wall = time.monotonic() - t0
                rates = [
                    (f.moving, (f.session.video.face.analyzed - a0) / wall)
                    for f, a0 in zip(fed, analyzed0, strict=True)
                ]
                still_rates = [r for m, r in rates if not m]
                moving_rates = [r for m, r in rates if m]
                step = {
                    "sessions": n,
                    "rss_mb": round(rss_mb(), 1),
                    "rss_mb_peak": round(rss_peak, 1),
                    "cpu_cores": round((_cpu_s() - cpu0) / wall, 2),
                    "faces_per_s_still": round(float(np.mean(still_rates)), 2),
                    "faces_per_s_moving": (
                        round(float(np.mean(moving_rates)), 2) if moving_rates else None
                    ),
                    "face_loads": hub.loads["face"],
                    "asr_streams": asr.streams,
                }
                out["steps"].append(step)
                print(
                    f"{n} sessions: RSS {step['rss_mb']:.0f} MB (peak {step['rss_mb_peak']:.0f}),"
                    f" CPU {step['cpu_cores']:.2f} cores, faces/s still"
                    f" {step['faces_per_s_still']:.1f} moving {step['faces_per_s_moving']}",
                    flush=True,
                )
            for f in fed:
                await f.session.aclose()
            out["hub_loads"] = dict(hub.loads)
        finally:
            await client.aclose()
            await hub.aclose()
            await asyncio.to_thread(redis_server.stop)
    first, last = out["steps"][0], out["steps"][-1]
    extra = last["sessions"] - first["sessions"]
    out["rss_mb_per_extra_interview"] = (
        round((last["rss_mb"] - first["rss_mb"]) / extra, 1) if extra else None
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="real-time feeding per step")
    ap.add_argument("--steps", default="1,2,4,8", help="sessions open at each step")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    result = asyncio.run(run(load_settings(), steps, args.seconds))
    print(
        f"RSS: start {result['rss_mb_start']:.0f} MB, models loaded"
        f" {result['rss_mb_models_loaded']:.0f} MB, per extra interview"
        f" {result['rss_mb_per_extra_interview']} MB"
    )
    path = write_json("memory", {**result, "seconds_per_step": args.seconds}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Video analysis throughput and memory: `python -m bench.video [--seconds S] [--memory-minutes M]`.

1. Live: a moving real face (scikit-image's astronaut) arrives at 30 fps in real time, as
   decoded WebRTC frames, at 640x480 and at 1280x720; the pipeline samples 10 fps. Reports
   sustained analysed frames per second, ms per frame for the face stage (RGB conversion,
   landmarks, features) and for affect, and frames replaced before analysis. Then, with the
   live sessions' adaptive rate (pipeline.video_rate), a still and a moving face at 640x480:
   analysed fps and the process's CPU (cores) for each.
2. Memory: M minutes of media pushed losslessly (10 analysed frames per media second, as
   fast as the CPU allows) with the process's RSS sampled every media minute.
Prints a table and writes bench/results/video.json.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from bench.common import write_json
from pipeline.clock import MonotonicClock
from pipeline.events import AffectObservation, FaceObservation
from pipeline.video_pipeline import VideoPipeline
from pipeline.video_rate import STEADY_FPS
from server.models import expression_factory, face_factory
from server.settings import load_settings

FPS_IN = 30


def _face() -> npt.NDArray[np.uint8]:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[0:360, 80:440])  # type: ignore[no-untyped-call]


def make_frames(width: int, height: int, n: int, still: bool = False) -> list[av.VideoFrame]:
    """n frames of a face drifting left and right (a looped clip, as a webcam would give),
    or sitting still."""
    px = int(height * 0.62)
    face = cv2.resize(_face(), (px, px))
    frames = []
    for i in range(n):
        canvas = np.full((height, width, 3), 100, np.uint8)
        x = (width - px) // 2 + (0 if still else int(width * 0.08 * np.sin(i / 15)))
        y = (height - px) // 2
        canvas[y : y + px, x : x + px] = face
        f = av.VideoFrame.from_ndarray(canvas, format="rgb24").reformat(format="yuv420p")
        frames.append(f)
    return frames


def _stamp(frame: av.VideoFrame, t: float) -> av.VideoFrame:
    frame.pts = round(t * 90_000)
    frame.time_base = Fraction(1, 90_000)
    return frame


def rss_mb() -> float:
    with Path("/proc/self/status").open() as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def live(
    width: int,
    height: int,
    seconds: float,
    affect: bool,
    steady_fps: float | None = None,
    still: bool = False,
) -> dict[str, float]:
    settings = load_settings()
    clip = make_frames(width, height, 60, still)
    vp = VideoPipeline(
        MonotonicClock(),
        face_factory(settings),
        expression_factory(settings) if affect else None,
        fps=settings.video_analysis_fps,
        steady_fps=steady_fps,
    )
    faces = affects = 0

    async def consume() -> None:
        nonlocal faces, affects
        async for ev in vp.events():
            faces += isinstance(ev, FaceObservation)
            affects += isinstance(ev, AffectObservation)

    consumer = asyncio.create_task(consume())
    # Warm up (model load) before timing, as a session does before its first question.
    vp.push_frame(_stamp(clip[0], 0.0))
    await asyncio.sleep(1.5)
    faces = affects = 0
    busy0, n0 = vp.face.busy_s, vp.face.analyzed
    abusy0 = vp.affect.busy_s if vp.affect else 0.0
    an0 = vp.affect.analyzed if vp.affect else 0
    t0, cpu0 = time.monotonic(), time.process_time()
    n = int(seconds * FPS_IN)
    for i in range(1, n + 1):
        if (d := t0 + i / FPS_IN - time.monotonic()) > 0:
            await asyncio.sleep(d)
        vp.push_frame(_stamp(clip[i % len(clip)], 1.5 + i / FPS_IN))
    elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    await vp.end()
    await consumer
    analyzed = vp.face.analyzed - n0
    out = {
        "analyzed_fps": analyzed / elapsed,
        "face_ms_per_frame": (vp.face.busy_s - busy0) / max(1, analyzed) * 1000,
        "frames_replaced": float(vp.face.dropped),
        "frames_sampled": float(vp.ingress.sampled),
        "cpu_cores": cpu / elapsed,
    }
    if vp.affect:
        done = vp.affect.analyzed - an0
        out["affect_ms_per_frame"] = (vp.affect.busy_s - abusy0) / max(1, done) * 1000
        out["affect_fps"] = done / elapsed
    await vp.aclose()
    return out


async def memory(minutes: float) -> list[tuple[float, float]]:
    settings = load_settings()
    clip = make_frames(640, 480, 60)
    vp = VideoPipeline(
        MonotonicClock(), face_factory(settings), expression_factory(settings), fps=10
    )
    samples: list[tuple[float, float]] = []

    async def consume() -> None:
        async for _ in vp.events():
            pass

    consumer = asyncio.create_task(consume())
    total = int(minutes * 60 * 10)  # 10 analysed frames per media second, sent 10 per second
    for i in range(total):
        await vp.push_frame_wait(_stamp(clip[i % len(clip)], i / 10))
        if i % 600 == 0:  # every media minute
            samples.append((i / 10 / 60, rss_mb()))
    await vp.end()
    await consumer
    samples.append((total / 10 / 60, rss_mb()))
    await vp.aclose()
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="live run length per size")
    ap.add_argument("--memory-minutes", type=float, default=10.0, help="media minutes; 0 skips")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    for w, h in ((640, 480), (1280, 720)):
        for affect in (False, True):
            key = f"{w}x{h}" + (" +affect" if affect else "")
            results[key] = asyncio.run(live(w, h, args.seconds, affect))
    for still in (True, False):
        key = "640x480 adaptive " + ("still" if still else "moving")
        results[key] = asyncio.run(live(640, 480, args.seconds, False, STEADY_FPS, still))
    print(f"{'stream':<24} {'fps':>6} {'face ms':>8} {'affect ms':>9} {'replaced':>8} {'cpu':>5}")
    for key, r in results.items():
        aff = f"{r['affect_ms_per_frame']:.2f}" if "affect_ms_per_frame" in r else "-"
        print(
            f"{key:<24} {r['analyzed_fps']:>6.2f} {r['face_ms_per_frame']:>8.2f} {aff:>9} "
            f"{r['frames_replaced']:>8.0f} {r['cpu_cores']:>5.2f}"
        )
    mem: list[tuple[float, float]] = []
    if args.memory_minutes > 0:
        mem = asyncio.run(memory(args.memory_minutes))
        print("\nRSS over media minutes: " + ", ".join(f"{m:.0f}m {mb:.0f} MB" for m, mb in mem))
        first_min = next((mb for m, mb in mem if m >= 1), mem[0][1])
        print(f"growth after the first minute: {mem[-1][1] - first_min:+.1f} MB")
    path = write_json(
        "video",
        {"live": results, "rss_mb_by_media_minute": mem, "seconds_per_size": args.seconds},
        args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

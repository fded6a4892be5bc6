"""Drive the audio pipeline from tests: real-time pacing or as fast as possible."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import av

from models_onnx.assets import locate
from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_stage import AsrConfig, AsrStage
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import Clock, MonotonicClock
from pipeline.events import Event, Transcript
from pipeline.vad_stage import VadConfig

E = TypeVar("E")


def vad_model() -> SileroVad:
    return SileroVad(locate("vad"))


def tiny_en() -> WhisperAsr:
    return WhisperAsr(locate("whisper_tiny_en"))


@dataclass
class Run:
    events: list[tuple[float, Event]] = field(default_factory=list)  # (seconds since start, event)
    max_loop_lag_s: float = 0.0
    asr: AsrStage | None = None  # the pipeline's ASR stage, for its counters

    def all(self) -> list[Event]:
        return [e for _, e in self.events]

    def finals(self) -> list[Transcript]:
        return [e for _, e in self.events if isinstance(e, Transcript) and e.final]

    def partials(self) -> list[Transcript]:
        return [e for _, e in self.events if isinstance(e, Transcript) and not e.final]

    def of(self, cls: type[E]) -> list[E]:
        return [e for _, e in self.events if isinstance(e, cls)]


async def run_pipeline(
    frames: list[av.AudioFrame],
    realtime: bool = True,
    clock: Clock | None = None,
    asr: Callable[[], WhisperAsr] = tiny_en,
    vad_config: VadConfig | None = None,
    asr_config: AsrConfig | None = None,
    context: str | None = None,
    turn_each_frame: bool = False,
) -> Run:
    """`turn_each_frame` (not real time): give the loop a turn after each frame, so that the
    partial ticker runs now and then as it does between live frames."""
    pipe = AudioPipeline(
        clock or MonotonicClock(), vad_model, asr, vad_config, asr_config or AsrConfig(), context
    )
    run = Run(asr=pipe.asr)
    stop = asyncio.Event()

    async def heartbeat() -> None:  # measures how long the loop was held
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            run.max_loop_lag_s = max(run.max_loop_lag_s, time.perf_counter() - t - 0.01)

    async def play() -> None:
        t0 = time.monotonic()
        for i, frame in enumerate(frames):
            if realtime:
                due = t0 + i * frame.samples / frame.sample_rate
                if (d := due - time.monotonic()) > 0:
                    await asyncio.sleep(d)
                pipe.push_frame(frame)
            else:
                await pipe.push_frame_wait(frame)
                if turn_each_frame:
                    await asyncio.sleep(0)
        await pipe.end()

    pipe.start()
    await asyncio.sleep(0.5)  # let the models load, as a session does before questions
    beat = asyncio.create_task(heartbeat())
    player = asyncio.create_task(play())
    t0 = time.monotonic()
    try:
        async for ev in pipe.events():
            run.events.append((time.monotonic() - t0, ev))
        await player
    finally:
        stop.set()
        await beat
        await pipe.aclose()
    return run

"""Run the live audio stages over a recorded file, as fast as the CPU allows.

Same AudioIngress, VadStage and AsrStage as a live session; only the pacing differs: frames
are pushed losslessly and the clock stands still, so the hangover runs on media time alone.
Decoding the file happens on a worker thread, a batch of frames at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av

from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import FakeClock
from pipeline.events import Event, SpeechEnd, StageDegraded, Transcript
from pipeline.vad_stage import VadConfig

FRAMES_PER_BATCH = 64


class MediaError(Exception):
    """The file cannot be read as audio; the message says why."""


@dataclass(frozen=True)
class Utterance:
    index: int
    start: float
    end: float
    text: str
    confidence: float
    words: tuple[tuple[float, float, str], ...]


@dataclass
class Analysis:
    path: str
    language: str
    duration_s: float = 0.0
    speech_s: float = 0.0
    utterances: list[Utterance] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    gaps: int = 0
    asr_busy_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.path,
            "language": self.language,
            "duration_s": round(self.duration_s, 3),
            "speech_s": round(self.speech_s, 3),
            "asr_busy_s": round(self.asr_busy_s, 3),
            "gaps": self.gaps,
            "warnings": self.warnings,
            "utterances": [
                {
                    "start": round(u.start, 3),
                    "end": round(u.end, 3),
                    "text": u.text,
                    "confidence": u.confidence,
                    "words": [
                        {"start": round(s, 3), "end": round(e, 3), "word": w} for s, e, w in u.words
                    ],
                }
                for u in self.utterances
            ],
        }


def _open_audio(path: Path) -> tuple[av.container.InputContainer, av.AudioStream, float]:
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as err:
        raise MediaError(f"{path}: not a readable media file ({err})") from None
    if not container.streams.audio:
        container.close()
        raise MediaError(f"{path}: has no audio stream")
    stream = container.streams.audio[0]
    duration = 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    return container, stream, duration


def _batches(
    container: av.container.InputContainer, stream: av.AudioStream
) -> Iterator[list[av.AudioFrame]]:
    batch: list[av.AudioFrame] = []
    try:
        for frame in container.decode(stream):
            batch.append(frame)
            if len(batch) >= FRAMES_PER_BATCH:
                yield batch
                batch = []
    except av.error.FFmpegError as err:
        raise MediaError(f"decoding failed after {len(batch)} frames: {err}") from None
    if batch:
        yield batch


async def analyze_file(
    path: Path,
    vad_model: Callable[[], SileroVad],
    asr_model: Callable[[], WhisperAsr],
    language: str = "en",
    context: str | None = None,
    vad_config: VadConfig | None = None,
    asr_config: AsrConfig | None = None,
    progress: Callable[[float, float], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Analysis:
    container, stream, duration = await asyncio.to_thread(_open_audio, path)
    result = Analysis(str(path), language, duration_s=duration)
    pipeline = AudioPipeline(
        FakeClock(),  # never advanced: timers do not fire, the hangover runs on media time
        vad_model,
        asr_model,
        vad_config,
        asr_config or AsrConfig(language=language, partial_interval_s=None),
        context,
    )

    async def feed() -> None:
        batches = _batches(container, stream)
        media_t = 0.0
        try:
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                for frame in batch:
                    await pipeline.push_frame_wait(frame)
                    if frame.pts is not None and frame.time_base is not None:
                        media_t = float(frame.pts * frame.time_base)
                if progress:
                    progress(media_t, duration)
        finally:
            await pipeline.end()
            await asyncio.to_thread(container.close)

    feeder = asyncio.create_task(feed(), name="analyze-feed")
    try:
        async for event in pipeline.events():
            if on_event:
                on_event(event)
            if isinstance(event, Transcript) and event.final:
                result.utterances.append(
                    Utterance(
                        len(result.utterances) + 1,
                        event.t_start,
                        event.t_end,
                        event.text,
                        event.confidence,
                        tuple((w.start, w.end, w.text) for w in event.words),
                    )
                )
            elif isinstance(event, SpeechEnd):
                result.speech_s += event.t_end - event.t_start
            elif isinstance(event, StageDegraded):
                result.warnings.append(f"{event.stage}: {event.reason}")
        await feeder  # surfaces decode errors
    finally:
        if not feeder.done():
            feeder.cancel()
        await pipeline.aclose()
    result.gaps = pipeline.ingress.gaps
    result.asr_busy_s = pipeline.asr.busy_s
    if not result.duration_s:
        result.duration_s = pipeline.vad.media_t
    return result

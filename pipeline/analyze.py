"""Run the live stages over a recorded file, as fast as the CPU allows.

Same AudioIngress, VadStage and AsrStage (and, when the file has video, VideoIngress,
FaceStage and AffectStage) as a live session; only the pacing differs: frames are pushed
losslessly and the clock stands still, so the hangover runs on media time alone. Demuxing and
decoding happen on a worker thread, a batch of frames at a time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import FakeClock
from pipeline.events import (
    AffectObservation,
    Event,
    FaceObservation,
    SpeechEnd,
    StageDegraded,
    Transcript,
    VideoFeatures,
)
from pipeline.vad_stage import VadConfig
from pipeline.video_pipeline import VideoPipeline

FRAMES_PER_BATCH = 64


class MediaError(Exception):
    """The file cannot be read as audio or video; the message says why."""


@dataclass(frozen=True)
class Utterance:
    index: int
    start: float
    end: float
    text: str
    confidence: float
    words: tuple[tuple[float, float, str], ...]


@dataclass
class FaceSegment:
    start: float
    end: float
    state: str  # "absent", "one_face", "several_faces"


@dataclass
class VideoSummary:
    frames_analyzed: int = 0
    face_present_frames: int = 0
    eye_contact_frames: int = 0
    segments: list[FaceSegment] = field(default_factory=list)
    features: list[VideoFeatures] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    affect_top: Counter[str] = field(default_factory=Counter)
    valence_sum: float = 0.0

    def add_face(self, obs: FaceObservation, step: float) -> None:
        self.frames_analyzed += 1
        self.face_present_frames += obs.present
        self.eye_contact_frames += obs.eye_contact
        self.warnings.update(obs.warnings)
        state = "absent" if not obs.faces else "one_face" if obs.faces == 1 else "several_faces"
        if self.segments and self.segments[-1].state == state:
            self.segments[-1].end = obs.t + step
        else:
            self.segments.append(FaceSegment(obs.t, obs.t + step, state))

    def as_dict(self) -> dict[str, Any]:
        n, present = self.frames_analyzed, self.face_present_frames
        affect = sum(self.affect_top.values())
        return {
            "frames_analyzed": n,
            "face_present_ratio": round(present / n, 4) if n else 0.0,
            "eye_contact_ratio": round(self.eye_contact_frames / present, 4) if present else 0.0,
            "quality_warnings": dict(self.warnings),
            "timeline": [
                {"start": round(s.start, 3), "end": round(s.end, 3), "state": s.state}
                for s in self.segments
            ],
            "features": [{k: v for k, v in vars(f).items() if k != "kind"} for f in self.features],
            "affect": (
                {
                    "frames": affect,
                    "top_classes": dict(self.affect_top.most_common()),
                    "mean_valence": round(self.valence_sum / affect, 4),
                }
                if affect
                else None
            ),
        }


@dataclass
class Analysis:
    path: str
    language: str
    duration_s: float = 0.0
    speech_s: float = 0.0
    has_audio: bool = False
    utterances: list[Utterance] = field(default_factory=list)
    video: VideoSummary | None = None
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
            "video": self.video.as_dict() if self.video else None,
        }


@dataclass
class _Media:
    container: av.container.InputContainer
    audio: av.AudioStream | None
    video: av.VideoStream | None
    duration: float


def _open(path: Path) -> _Media:
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as err:
        raise MediaError(f"{path}: not a readable media file ({err})") from None
    audio = container.streams.audio[0] if container.streams.audio else None
    video = container.streams.video[0] if container.streams.video else None
    if audio is None and video is None:
        container.close()
        raise MediaError(f"{path}: has neither an audio nor a video stream")
    duration = 0.0
    for stream in (audio, video):  # the answer's length is the sound track's, if there is one
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
            break
    else:
        if container.duration is not None:
            duration = container.duration / 1_000_000
    return _Media(container, audio, video, duration)


def _batches(media: _Media) -> Iterator[list[av.AudioFrame | av.VideoFrame]]:
    streams = [s for s in (media.audio, media.video) if s is not None]
    batch: list[av.AudioFrame | av.VideoFrame] = []
    decoded = 0
    try:
        for frame in media.container.decode(*streams):
            batch.append(frame)  # type: ignore[arg-type]
            decoded += 1
            if len(batch) >= FRAMES_PER_BATCH:
                yield batch
                batch = []
    except av.error.FFmpegError as err:
        raise MediaError(f"decoding failed after {decoded} frames: {err}") from None
    if batch:
        yield batch


async def _merge(*sources: AsyncIterator[Event]) -> AsyncIterator[Event]:
    queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=256)

    async def drain(src: AsyncIterator[Event]) -> None:
        try:
            async for ev in src:
                await queue.put(ev)
        finally:
            await queue.put(None)

    tasks = [asyncio.create_task(drain(s)) for s in sources]
    remaining = len(tasks)
    try:
        while remaining:
            ev = await queue.get()
            if ev is None:
                remaining -= 1
            else:
                yield ev
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def analyze_file(
    path: Path,
    vad_model: Callable[[], SileroVad],
    asr_model: Callable[[], WhisperAsr],
    language: str = "en",
    context: str | None = None,
    vad_config: VadConfig | None = None,
    asr_config: AsrConfig | None = None,
    face_model: Callable[[], FaceLandmarkerModel] | None = None,
    expression_model: Callable[[], ExpressionModel] | None = None,
    video_fps: float = 10.0,
    progress: Callable[[float, float], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Analysis:
    """`face_model` None skips video; `expression_model` given = affect allowed."""
    media = await asyncio.to_thread(_open, path)
    result = Analysis(str(path), language, duration_s=media.duration)
    result.has_audio = media.audio is not None
    clock = FakeClock()  # never advanced: timers do not fire; hangover runs on media time
    audio = (
        AudioPipeline(
            clock,
            vad_model,
            asr_model,
            vad_config,
            asr_config or AsrConfig(language=language, partial_interval_s=None),
            context,
        )
        if media.audio is not None
        else None
    )
    video = (
        VideoPipeline(clock, face_model, expression_model, fps=video_fps)
        if media.video is not None and face_model is not None
        else None
    )
    if video is not None:
        result.video = VideoSummary()

    async def feed() -> None:
        batches = _batches(media)
        media_t = 0.0
        try:
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                for frame in batch:
                    if isinstance(frame, av.AudioFrame):
                        if audio is not None:
                            await audio.push_frame_wait(frame)
                    elif video is not None:
                        await video.push_frame_wait(frame)
                    if frame.pts is not None and frame.time_base is not None:
                        media_t = max(media_t, float(frame.pts * frame.time_base))
                if progress:
                    progress(media_t, result.duration_s)
        finally:
            if audio is not None:
                await audio.end()
            if video is not None:
                await video.end()
            await asyncio.to_thread(media.container.close)

    sources = [p.events() for p in (audio, video) if p is not None]
    feeder = asyncio.create_task(feed(), name="analyze-feed")
    step = 1.0 / video_fps
    try:
        async for event in _merge(*sources):
            if on_event:
                on_event(event)
            _collect(result, event, step)
        await feeder  # surfaces decode errors
    finally:
        if not feeder.done():
            feeder.cancel()
        for p in (audio, video):
            if p is not None:
                await p.aclose()
    if audio is not None:
        result.gaps = audio.ingress.gaps
        result.asr_busy_s = audio.asr.busy_s
        if not result.duration_s:
            result.duration_s = audio.vad.media_t
    return result


def _collect(result: Analysis, event: Event, step: float) -> None:
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
    elif isinstance(event, StageDegraded) and not event.recovered:
        result.warnings.append(f"{event.stage}: {event.reason}")
    elif result.video is not None:
        if isinstance(event, FaceObservation):
            result.video.add_face(event, step)
        elif isinstance(event, VideoFeatures):
            result.video.features.append(event)
        elif isinstance(event, AffectObservation):
            result.video.affect_top[event.top] += 1
            result.video.valence_sum += event.valence

"""The video path of one session: VideoIngress -> FaceStage (-> AffectStage) -> one event
stream, with rolling features folded in after every face observation.

Live: `push_frame()` never blocks and never queues (the newest sampled frame wins).
Offline: `push_frame_wait()` waits until the face stage has taken the previous sample.
`steady_fps` given: the analysis rate adapts (pipeline.video_rate), `fps` on change and
`steady_fps` on a still face; without it every `1/fps` of media time is analysed (files).
`nice` > 0: the face and affect threads run at lower CPU priority, so on a saturated host
speech recognition and the event loop get the cores first and faces are analysed at what is
left (fewer samples, seen as the face stage's lag), never the other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import av

from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from pipeline.affect_stage import AffectStage
from pipeline.channel import Channel, Overflow
from pipeline.clock import Clock
from pipeline.events import Event, FaceObservation
from pipeline.face_stage import FaceStage
from pipeline.video_features import RollingVideoFeatures
from pipeline.video_ingress import VideoIngress
from pipeline.video_rate import AdaptiveRate, RateConfig


@dataclass(frozen=True)
class VideoCounts:
    """How much of a video stream was analysed, since it started; summed over a server's
    sessions, the load it reports (`/readyz`), so that the face analysis rate under load is
    measured, not inferred."""

    streams: int = 0
    frames_in: int = 0  # decoded frames that reached the ingress
    sampled: int = 0  # picked for analysis (the adaptive rate)
    analysed: int = 0  # face frames analysed
    replaced: int = 0  # sampled but replaced by a newer one before the face stage took it

    @staticmethod
    def total(parts: Iterable[VideoCounts]) -> VideoCounts:
        out = VideoCounts()
        for p in parts:
            out = VideoCounts(
                out.streams + p.streams,
                out.frames_in + p.frames_in,
                out.sampled + p.sampled,
                out.analysed + p.analysed,
                out.replaced + p.replaced,
            )
        return out


class VideoPipeline:
    def __init__(
        self,
        clock: Clock,
        face_model: Callable[[], FaceLandmarkerModel],
        expression_model: Callable[[], ExpressionModel] | None = None,
        fps: float = 10.0,
        window_s: float = 10.0,
        steady_fps: float | None = None,
        nice: int = 0,
    ) -> None:
        """`expression_model` given = affect analysis allowed by the interview's policy."""
        self.rate = (
            AdaptiveRate(RateConfig(fast_fps=fps, steady_fps=min(steady_fps, fps)))
            if steady_fps is not None
            else None
        )
        self.ingress = VideoIngress(fps, self.rate)
        self.affect = AffectStage(clock, expression_model, nice=nice) if expression_model else None
        self.face = FaceStage(
            clock, face_model, self.affect.push if self.affect else None, self.rate, nice
        )
        self.features = RollingVideoFeatures(window_s)
        self._merged: Channel[Event] = Channel(1024, Overflow.BLOCK)
        self._pumps: list[asyncio.Task[None]] = []
        self._closer: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._pumps:
            return
        self._pumps.append(asyncio.create_task(self._pump_face(), name="video-face"))
        if self.affect is not None:
            self._pumps.append(asyncio.create_task(self._pump(self.affect), name="video-affect"))
        self._closer = asyncio.create_task(self._close_when_done(), name="video-merge")

    async def _pump_face(self) -> None:
        try:
            async for ev in self.face:
                await self._merged.put(ev)
                if isinstance(ev, FaceObservation) and (feat := self.features.add(ev)):
                    await self._merged.put(feat)
        finally:
            if self.affect is not None:
                self.affect.end()

    async def _pump(self, stage: AffectStage) -> None:
        async for ev in stage:
            await self._merged.put(ev)

    async def _close_when_done(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._pumps, return_exceptions=True)
        self._merged.close()

    def counts(self) -> VideoCounts:
        i = self.ingress
        return VideoCounts(1, i.frames_in, i.sampled, self.face.analyzed, self.face.dropped)

    def push_frame(self, frame: av.VideoFrame) -> None:
        if sample := self.ingress.push(frame):
            self.face.push(sample)

    async def push_frame_wait(self, frame: av.VideoFrame) -> None:
        if sample := self.ingress.push(frame):
            await self.face.push_wait(sample)

    async def end(self) -> None:
        self.face.end()

    async def events(self) -> AsyncIterator[Event]:
        self.start()
        async for ev in self._merged:
            yield ev

    async def aclose(self) -> None:
        for task in [*self._pumps, *([self._closer] if self._closer else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._merged.close()
        await self.face.aclose()
        if self.affect is not None:
            await self.affect.aclose()

"""The audio path of one session: AudioIngress -> VadStage -> AsrStage, one event stream out.

Live: `push_frame()` never blocks (the VAD's input drops the oldest windows if the loop falls
16 s behind). Offline: `push_frame_wait()` waits for room instead, so nothing is lost.
`asr_model` is a Whisper factory (a private model) or the process's shared AsrScheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import av

from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_scheduler import AsrScheduler
from pipeline.asr_stage import AsrConfig, AsrStage
from pipeline.audio_ingress import AudioIngress
from pipeline.clock import Clock
from pipeline.events import Event
from pipeline.vad_stage import VadConfig, VadStage


class AudioPipeline:
    def __init__(
        self,
        clock: Clock,
        vad_model: Callable[[], SileroVad],
        asr_model: Callable[[], WhisperAsr] | AsrScheduler,
        vad_config: VadConfig | None = None,
        asr_config: AsrConfig | None = None,
        context: str | None = None,
    ) -> None:
        self.clock = clock
        self.ingress = AudioIngress()
        self.vad = VadStage(clock, vad_model, vad_config)
        self.asr = AsrStage(clock, asr_model, asr_config, context)
        self._pump: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._pump is None:
            self.vad.start()
            self.asr.start()
            self._pump = asyncio.create_task(self._vad_to_asr(), name="vad-to-asr")

    async def _vad_to_asr(self) -> None:
        try:
            async for item in self.vad:
                await self.asr.push_wait(item)
        finally:
            self.asr.end()

    def push_frame(self, frame: av.AudioFrame) -> None:
        for chunk in self.ingress.push(frame):
            self.vad.push(chunk)

    async def push_frame_wait(self, frame: av.AudioFrame) -> None:
        for chunk in self.ingress.push(frame):
            await self.vad.push_wait(chunk)

    async def end(self) -> None:
        """No more frames: flush the ingress; events finish once the stages drain."""
        for chunk in self.ingress.flush():
            await self.vad.push_wait(chunk)
        self.vad.end()

    def set_context(self, text: str | None) -> None:
        self.asr.set_context(text)

    async def events(self) -> AsyncIterator[Event]:
        self.start()
        async for event in self.asr:
            yield event

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.vad.aclose()
        await self.asr.aclose()

"""VadStage: silero VAD per 32 ms window -> speech start/end with hysteresis and hangover.

Besides the session events it forwards the speech audio (with a little pre-roll, since a VAD
notices speech a few windows late) and pause/resume marks to the ASR stage, which uses a
pause to start the final decode before the hangover is over.

States: silence -> (prob >= start for min_speech) -> speech -> (prob < end) -> pause
-> (hangover of quiet) -> silence, or (prob >= start) -> speech again. The hangover runs on
media time while windows arrive, and on the injected clock when they stop (a muted or lost
track still ends its utterance).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from models_onnx.vad import SileroVad
from pipeline.channel import ChannelClosed, Overflow
from pipeline.clock import Clock
from pipeline.events import SpeechEnd, SpeechStart, StageDegraded, StageLag
from pipeline.media import WINDOW_S, AudioChunk
from pipeline.stage import Stage


@dataclass(frozen=True)
class VadConfig:
    start_threshold: float = 0.5
    end_threshold: float = 0.35  # lower than start: hysteresis against flutter
    min_speech_ms: int = 96  # 3 windows above start before speech is declared
    hangover_ms: int = 300  # quiet that ends an utterance
    pre_roll_ms: int = 384  # audio before the declared start handed to ASR (VAD reacts late)
    input_capacity: int = 512  # windows (16 s) queued before the oldest are dropped

    def __post_init__(self) -> None:
        if not 0 < self.end_threshold <= self.start_threshold < 1:
            raise ValueError("need 0 < end_threshold <= start_threshold < 1")


@dataclass(frozen=True)
class SpeechAudio:
    utterance: int
    chunk: AudioChunk
    prob: float
    arrived_at: float  # clock time the chunk entered the pipeline


@dataclass(frozen=True)
class SpeechPause:
    """Quiet began inside an utterance at media time `t`; it may still resume."""

    utterance: int
    t: float


@dataclass(frozen=True)
class SpeechResume:
    utterance: int
    t: float


VadOutput = (
    SpeechStart | SpeechEnd | SpeechAudio | SpeechPause | SpeechResume | StageLag | StageDegraded
)


class _State(enum.Enum):
    SILENCE = "silence"
    SPEECH = "speech"
    PAUSE = "pause"


class VadStage(Stage[AudioChunk, VadOutput]):
    name = "vad"

    def __init__(
        self, clock: Clock, model_factory: Callable[[], SileroVad], config: VadConfig | None = None
    ) -> None:
        self.config = config or VadConfig()
        super().__init__(clock, self.config.input_capacity, Overflow.DROP_OLDEST)
        self._model_factory = model_factory
        self._model: SileroVad | None = None
        self._state = _State.SILENCE
        self._utterance = 0
        self._run_start: list[tuple[AudioChunk, float, float]] = []  # candidate start windows
        self._pre_roll: deque[tuple[AudioChunk, float, float]] = deque(
            maxlen=max(1, round(self.config.pre_roll_ms / 1000 / WINDOW_S))
        )
        self._speech_t0 = 0.0
        self._pause_t = 0.0  # media time quiet began
        self._last_t_end = 0.0

    @property
    def media_t(self) -> float:
        """Media time up to which audio has been analysed."""
        return self._last_t_end

    @property
    def in_speech(self) -> bool:
        return self._state is not _State.SILENCE

    def _infer_batch(self, chunks: list[AudioChunk]) -> list[float]:
        if self._model is None:
            self._model = self._model_factory()
        return [self._model.infer(c.pcm) for c in chunks]

    async def _run(self) -> None:
        hangover_s = self.config.hangover_ms / 1000
        while True:
            # Wait for audio, but no longer than the hangover while an utterance is open:
            # if frames stop, the clock ends the utterance.
            if self.in_speech:
                got = await self._get_or_timeout(hangover_s)
                if got is None:
                    await self._end_utterance(
                        self._pause_t if self._state is _State.PAUSE else self._last_t_end
                    )
                    continue
            else:
                got = await self._input.get()
            batch = [got]
            while len(self._input) and len(batch) < 32:  # a burst: one executor call
                batch.append(await self._input.get())
            chunks = [c for c, _ in batch]
            try:
                probs = await self._call(self._infer_batch, chunks)
                await self._succeeded(chunks[0].t)
            except Exception as err:  # a broken window or model: say so, treat as quiet
                await self._failed(chunks[0].t, f"VAD failed: {err}")
                probs = [0.0] * len(chunks)
            for (chunk, arrived), prob in zip(batch, probs, strict=True):
                await self._step(chunk, arrived, prob)
            if lag := self._lag_event(batch[-1][1], chunks[-1].t):
                await self._emit(lag)

    async def _get_or_timeout(self, wait_s: float) -> tuple[AudioChunk, float] | None:
        get = asyncio.ensure_future(self._input.get())
        sleep = asyncio.ensure_future(self.clock.sleep(wait_s))
        try:
            done, _ = await asyncio.wait({get, sleep}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (get, sleep):
                if not fut.done():
                    fut.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ChannelClosed):
                        await fut
                elif not fut.cancelled():
                    # Marks the outcome as seen: when this task is cancelled (hang-up) just as
                    # the input closes, the ChannelClosed below is never read, and asyncio
                    # would log "Task exception was never retrieved".
                    fut.exception()
        if get in done:
            return get.result()  # raises ChannelClosed at end of input
        return None

    async def _step(self, chunk: AudioChunk, arrived: float, prob: float) -> None:
        cfg = self.config
        if chunk.t - self._last_t_end > cfg.hangover_ms / 1000:
            # Media time jumped (a rejoin after a dropped connection, a loss too long to
            # fill): nothing spans the jump, neither an open utterance nor a half-confirmed
            # start, nor pre-roll from before it.
            if self.in_speech:
                await self._end_utterance(self._open_end())
            self._run_start.clear()
            self._pre_roll.clear()
        self._last_t_end = chunk.t_end
        item = (chunk, prob, arrived)
        if self._state is _State.SILENCE:
            if prob >= cfg.start_threshold:
                self._run_start.append(item)
                if len(self._run_start) * WINDOW_S * 1000 >= cfg.min_speech_ms:
                    await self._begin_utterance()
            else:
                self._pre_roll.extend(self._run_start)
                self._run_start.clear()
                self._pre_roll.append(item)
            return
        await self._emit(SpeechAudio(self._utterance, chunk, prob, arrived))
        if self._state is _State.SPEECH:
            if prob < cfg.end_threshold:
                self._state = _State.PAUSE
                self._pause_t = chunk.t
                await self._emit(SpeechPause(self._utterance, chunk.t))
        elif prob >= cfg.start_threshold:  # PAUSE -> speech resumed within the hangover
            self._state = _State.SPEECH
            await self._emit(SpeechResume(self._utterance, chunk.t))
        elif chunk.t_end - self._pause_t >= cfg.hangover_ms / 1000:
            await self._end_utterance(self._pause_t)

    def _open_end(self) -> float:
        """Where the open utterance ends if it must end now."""
        return self._pause_t if self._state is _State.PAUSE else self._last_t_end

    async def _begin_utterance(self) -> None:
        self._utterance += 1
        self._state = _State.SPEECH
        self._speech_t0 = self._run_start[0][0].t
        await self._emit(SpeechStart(self._utterance, self._speech_t0))
        for chunk, prob, arrived in [*self._pre_roll, *self._run_start]:
            await self._emit(SpeechAudio(self._utterance, chunk, prob, arrived))
        self._pre_roll.clear()
        self._run_start.clear()

    async def _end_utterance(self, t_end: float) -> None:
        self._state = _State.SILENCE
        await self._emit(SpeechEnd(self._utterance, self._speech_t0, max(t_end, self._speech_t0)))

    async def _on_input_end(self) -> None:
        # End of input inside an utterance still closes it (recordings end mid-word).
        if self.in_speech:
            await self._end_utterance(
                self._pause_t if self._state is _State.PAUSE else self._last_t_end
            )

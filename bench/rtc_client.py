"""A test candidate built on aiortc: synthesized speech and a moving real face as tracks."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack

from bench.faces import face_canvas


class SpeechTrack(MediaStreamTrack):
    """16 kHz float audio sent as 20 ms 48 kHz frames in real time, then silence."""

    kind = "audio"

    def __init__(self, pcm16k: npt.NDArray[np.float32]) -> None:
        super().__init__()
        up = np.interp(np.arange(len(pcm16k) * 3) / 3, np.arange(len(pcm16k)), pcm16k)
        self._s16 = (np.clip(up, -1, 1) * 32767).astype(np.int16)
        self._i = 0
        self._t0: float | None = None
        self.started_at: float | None = None  # monotonic time the first sample was sent

    @property
    def done(self) -> bool:
        return self._i * 960 >= len(self._s16)

    async def recv(self) -> av.AudioFrame:
        if self._t0 is None:
            self._t0 = self.started_at = time.monotonic()
        delay = self._t0 + self._i * 0.02 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        block = self._s16[self._i * 960 : (self._i + 1) * 960]
        block = np.pad(block, (0, 960 - len(block)))
        frame = av.AudioFrame.from_ndarray(block[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, self._i * 960, Fraction(1, 48_000)
        self._i += 1
        return frame


class FaceTrack(MediaStreamTrack):
    """The astronaut drifting left and right at 15 fps, 640x480."""

    kind = "video"

    def __init__(self, fps: int = 15) -> None:
        super().__init__()
        self.fps = fps
        self._frames = [face_canvas(x_shift=int(40 * np.sin(i / 5))) for i in range(30)]
        self._i = 0
        self._t0: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        delay = self._t0 + self._i / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame.from_ndarray(
            self._frames[self._i % len(self._frames)], format="rgb24"
        )
        frame.pts, frame.time_base = self._i * (90_000 // self.fps), Fraction(1, 90_000)
        self._i += 1
        return frame

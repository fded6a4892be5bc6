"""A test candidate built on aiortc: synthesized speech and a moving real face as tracks."""

from __future__ import annotations

import asyncio
import functools
import time
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack

from bench.faces import face_canvas
from bench.speech import audio_frame, audio_frame_count

_SILENCE = np.zeros(320, np.float32)  # one 20 ms frame at 16 kHz


class SpeechTrack(MediaStreamTrack):
    """16 kHz float audio sent as 20 ms 48 kHz frames in real time, then silence."""

    kind = "audio"

    def __init__(self, pcm16k: npt.NDArray[np.float32]) -> None:
        super().__init__()
        self._pcm = pcm16k
        self._count = audio_frame_count(pcm16k)
        self._i = 0
        self._t0: float | None = None
        self.started_at: float | None = None  # monotonic time the first sample was sent

    async def recv(self) -> av.AudioFrame:
        if self._t0 is None:
            self._t0 = self.started_at = time.monotonic()
        delay = self._t0 + self._i * 0.02 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # Each frame is built when due: building a long recording's frames up front held the
        # caller's event loop for a third of a second on a slow host.
        if self._i < self._count:
            frame = audio_frame(self._pcm, self._i, channels=1)
        else:  # the recording is over: silence, as a muted-but-open microphone sends
            frame = audio_frame(_SILENCE, 0, channels=1)
            frame.pts = self._i * 960
        self._i += 1
        return frame


@functools.cache
def _drifting_face() -> tuple[npt.NDArray[np.uint8], ...]:
    """The 30 pictures a FaceTrack loops over, drawn once per process (0.2-0.5 s of CPU)."""
    pictures = tuple(face_canvas(x_shift=int(40 * np.sin(i / 5))) for i in range(30))
    for picture in pictures:
        picture.setflags(write=False)  # shared by every track in the process
    return pictures


class FaceTrack(MediaStreamTrack):
    """The astronaut drifting left and right at 15 fps, 640x480."""

    kind = "video"

    def __init__(self, fps: int = 15) -> None:
        super().__init__()
        self.fps = fps
        self._frames = _drifting_face()
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

"""Cheap candidate media for bench.live: encode once, send the same packets from every candidate.

The candidates run on the cores the server is measured on, so encoding VP8 640x480 at 15 fps
and Opus per candidate would charge the server's budget for work a real candidate's browser
does. Here the face video is encoded ONCE (a loop of a few seconds whose first frame is a key
frame) and the answers' audio ONCE as Opus; each candidate's tracks return those `av.Packet`s,
which aiortc's RTCRtpSender packetizes without encoding. Timestamps are rewritten per track so
the receiver sees one continuous stream; a keyframe request is answered by the next loop start.
"""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack

from bench.faces import face_canvas
from bench.speech import audio_frames

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms at 48 kHz, what aiortc's Opus encoder sends
# aiortc's VP8 encoder settings (aiortc/codecs/vpx.py) at its default bitrate, so the server
# decodes what it would get from an aiortc candidate.
VP8_BITRATE = 500_000
VP8_OPTIONS = {
    "bufsize": str(VP8_BITRATE),
    "cpu-used": "-6",
    "deadline": "realtime",
    "lag-in-frames": "0",
    "minrate": str(VP8_BITRATE),
    "maxrate": str(VP8_BITRATE),
    "noise-sensitivity": "4",
    "overshoot-pct": "15",
    "partitions": "0",
    "static-thresh": "1",
    "undershoot-pct": "100",
}


def face_loop_vp8(seconds: float = 4.0, fps: int = 15) -> list[bytes]:
    """The astronaut drifting left and right, one smooth loop, as VP8 frames (the first is a
    key frame and the only one: a loop restart is a clean place to join)."""
    n = round(seconds * fps)
    ctx = av.CodecContext.create("libvpx", "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height, ctx.pix_fmt = 640, 480, "yuv420p"
    ctx.bit_rate, ctx.gop_size, ctx.qmin, ctx.qmax = VP8_BITRATE, n, 2, 56
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps, 1)
    ctx.options = VP8_OPTIONS
    out: list[bytes] = []
    for i in range(n):
        rgb = face_canvas(x_shift=int(40 * np.sin(2 * np.pi * i / n)))
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        if i == 0:
            frame.pict_type = av.video.frame.PictureType.I
        out.append(b"".join(bytes(p) for p in ctx.encode(frame)))
    tail = b"".join(bytes(p) for p in ctx.encode(None))
    if tail:  # lag-in-frames is 0, so nothing should be held back; keep it anyway
        out[-1] += tail
    if not all(out):
        raise RuntimeError("the VP8 encoder held frames back")
    return out


def opus_packets(pcm16k: npt.NDArray[np.float32]) -> tuple[list[bytes], bytes]:
    """16 kHz audio as 20 ms Opus packets (48 kHz stereo, aiortc's settings), and one packet
    of silence to send after it."""

    def encode(pcm: npt.NDArray[np.float32]) -> list[bytes]:
        ctx = av.CodecContext.create("libopus", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.bit_rate, ctx.format, ctx.layout = 96_000, "s16", "stereo"
        ctx.sample_rate, ctx.time_base = AUDIO_RATE, Fraction(1, AUDIO_RATE)
        ctx.options = {"application": "voip"}
        packets = [bytes(p) for f in audio_frames(pcm, channels=2) for p in ctx.encode(f)]
        return packets + [bytes(p) for p in ctx.encode(None)]

    silence = encode(np.zeros(16_000, np.float32))
    return encode(pcm16k), silence[len(silence) // 2]


class _Paced(MediaStreamTrack):
    """Returns packet i at start + i * period (real time), stamped i * ticks in 1/clock."""

    def __init__(self, period_s: float, ticks: int, clock: int) -> None:
        super().__init__()
        self._period, self._ticks, self._tb = period_s, ticks, Fraction(1, clock)
        self._i = 0
        self.started_at: float | None = None  # monotonic time packet 0 was handed out

    def payload(self, i: int) -> bytes:
        raise NotImplementedError

    async def recv(self) -> av.Packet[Any]:
        if self.started_at is None:
            self.started_at = time.monotonic()
        delay = self.started_at + self._i * self._period - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self.payload(self._i))
        packet.pts, packet.time_base = self._i * self._ticks, self._tb
        self._i += 1
        return packet


class FaceLoopTrack(_Paced):
    """Pre-encoded VP8 face video, looped (640x480 at `fps`)."""

    kind = "video"

    def __init__(self, loop: list[bytes], fps: int = 15) -> None:
        super().__init__(1 / fps, VIDEO_CLOCK // fps, VIDEO_CLOCK)
        self._frames = loop

    def payload(self, i: int) -> bytes:
        return self._frames[i % len(self._frames)]


class OpusTrack(_Paced):
    """Pre-encoded speech, then silence, as a muted-but-open microphone sends."""

    kind = "audio"

    def __init__(self, packets: list[bytes], silence: bytes) -> None:
        super().__init__(AUDIO_FRAME / AUDIO_RATE, AUDIO_FRAME, AUDIO_RATE)
        self._packets, self._silence = packets, silence

    def payload(self, i: int) -> bytes:
        return self._packets[i] if i < len(self._packets) else self._silence

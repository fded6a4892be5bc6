"""Test media made at test time: speech from espeak-ng, a real face from scikit-image."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from bench import speech
from bench.faces import astronaut_rgb, face_canvas
from pipeline.text import wer, words_of

__all__ = [
    "astronaut_rgb",
    "audio_frames",
    "face_canvas",
    "read_wav_16k",
    "synth_speech",
    "wer",
    "words_of",
]


def synth_speech(text: str, out: Path, voice: str = "en", rate_wpm: int = 150) -> Path:
    try:
        return speech.synth(text, out, voice, rate_wpm)
    except speech.ToolMissing as err:
        # `make test` installs these (scripts/install-system-deps.sh): missing is a failure.
        pytest.fail(str(err))


read_wav_16k = speech.read_wav


def audio_frames(
    pcm16k: npt.NDArray[np.float32],
    rate: int = 48_000,
    channels: int = 2,
    frame_ms: int = 20,
    fmt: str = "s16",
) -> list[av.AudioFrame]:
    """Cut 16 kHz audio into frames as a WebRTC Opus decoder gives them (48 kHz stereo s16
    by default), with pts in samples and time base 1/rate."""
    up = np.interp(
        np.arange(int(len(pcm16k) * rate / 16_000)) * 16_000 / rate,
        np.arange(len(pcm16k)),
        pcm16k,
    ).astype(np.float32)
    n = rate * frame_ms // 1000
    frames = []
    layout = "stereo" if channels == 2 else "mono"
    for i in range(len(up) // n):
        block = up[i * n : (i + 1) * n]
        if fmt == "s16":
            data = np.repeat((block * 32767).astype(np.int16), channels)[None, :]
        else:  # planar float
            data = np.repeat(block[None, :], channels, axis=0)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate = rate
        frame.pts = i * n
        frame.time_base = Fraction(1, rate)
        frames.append(frame)
    return frames


def video_frame(rgb: npt.NDArray[np.uint8], t: float) -> av.VideoFrame:
    """An RGB image as a decoded WebRTC frame would arrive: pts on the 90 kHz RTP clock."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.pts = round(t * 90_000)
    frame.time_base = Fraction(1, 90_000)
    return frame

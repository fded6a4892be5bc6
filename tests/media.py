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
from bench.speech import audio_frames
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


def video_frame(rgb: npt.NDArray[np.uint8], t: float) -> av.VideoFrame:
    """An RGB image as a decoded WebRTC frame would arrive: pts on the 90 kHz RTP clock."""
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.pts = round(t * 90_000)
    frame.time_base = Fraction(1, 90_000)
    return frame

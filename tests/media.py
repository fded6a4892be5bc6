"""Test media made at test time: speech from espeak-ng, a real face from scikit-image."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from bench import speech
from bench.faces import astronaut_rgb, face_canvas
from bench.speech import audio_frames
from pipeline.text import wer, words_of

__all__ = [
    "astronaut_rgb",
    "audio_frames",
    "browser_media",
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


def browser_media(folder: Path, texts: list[str], gap_s: float, tail_s: float) -> tuple[Path, Path]:
    """Chromium's fake devices: a microphone file (2 s of quiet, `texts` spoken `gap_s` apart,
    `tail_s` of quiet before it loops) and a camera file with a face moving a little."""
    pcm, _ = speech.conversation(texts, folder, [gap_s], lead_s=2.0)
    pcm = np.concatenate([pcm, np.zeros(int(speech.SR * tail_s), np.float32)])
    wav = speech.write_wav(folder / "mic.wav", pcm)
    frames = folder / "frames"
    frames.mkdir(exist_ok=True)
    for i in range(30):
        Image.fromarray(face_canvas(x_shift=int(30 * np.sin(i / 5)))).save(frames / f"{i:03d}.png")
    y4m = folder / "camera.y4m"
    subprocess.run(
        [speech.tool("ffmpeg"), "-y", "-loglevel", "error", "-framerate", "15", "-i",
         str(frames / "%03d.png"), "-pix_fmt", "yuv420p", str(y4m)],
        check=True,
    )  # fmt: skip
    return wav, y4m

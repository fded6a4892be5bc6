"""Test media made at test time: speech from espeak-ng, a real face from scikit-image."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        # `make test` installs these (scripts/install-system-deps.sh); a bare pytest may not have.
        pytest.fail(f"{name} is not installed: run `make test` or scripts/install-system-deps.sh")
    return path


def synth_speech(text: str, out: Path, voice: str = "en", rate_wpm: int = 150) -> Path:
    """Speak `text` with espeak-ng into a 16 kHz mono 16-bit WAV file."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(
        [require_tool("espeak-ng"), "-v", voice, "-s", str(rate_wpm), "-w", str(raw), text],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [require_tool("sox"), str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    raw.unlink()
    return out


def read_wav_16k(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16_000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return (pcm.astype(np.float32) / 32768.0).copy()


def astronaut_rgb() -> npt.NDArray[np.uint8]:
    """A real, smiling, frontal face (Eileen Collins, public domain) as 512x512 RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]


def words_of(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference length."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1] / max(len(ref), 1)

"""Synthesized speech with known text (espeak-ng + sox), for tests and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from pipeline.audio_ingress import AudioIngress

SR = 16_000
# How Whisper spells an English hesitation.
EN_FILLERS = {"um", "umm", "uhm", "uh", "uhh", "er", "erm", "hmm", "hm", "mm", "mmm", "ah", "eh"}


class ToolMissing(RuntimeError):
    pass


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed: run scripts/install-system-deps.sh")
    return path


def synth(text: str, out: Path, voice: str = "en", rate_wpm: int = 150) -> Path:
    """Speak `text` into a 16 kHz mono 16-bit WAV file."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(
        [tool("espeak-ng"), "-v", voice, "-s", str(rate_wpm), "-w", str(raw), text],
        check=True, capture_output=True,
    )  # fmt: skip
    # -D: no dither. Sox otherwise adds fresh random noise on each run, and the same text
    # came out as different audio, which tiny.en heard as different words (a bench's WER
    # moved by up to 2 points between runs of the same code).
    subprocess.run(
        [tool("sox"), "-D", str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    raw.unlink()
    return out


def read_wav(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path)) as w:
        if w.getframerate() != SR or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return (pcm.astype(np.float32) / 32768.0).copy()


def write_wav(path: Path, pcm: npt.NDArray[np.float32]) -> Path:
    """16 kHz mono float32 in [-1, 1] to a 16-bit WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def speech_bounds(pcm: npt.NDArray[np.float32], threshold: float = 0.01) -> tuple[float, float]:
    """First and last sample above `threshold` (espeak pads its output with silence), in s."""
    loud = np.flatnonzero(np.abs(pcm) > threshold)
    if len(loud) == 0:
        return 0.0, 0.0
    return loud[0] / SR, (loud[-1] + 1) / SR


@dataclass(frozen=True)
class Spoken:
    text: str
    start: float  # seconds into the recording where speech really starts
    end: float


def conversation(
    texts: list[str], folder: Path, gaps_s: list[float], voice: str = "en", lead_s: float = 1.0
) -> tuple[npt.NDArray[np.float32], list[Spoken]]:
    """Utterances separated by silence; returns the 16 kHz audio and where each one is."""
    parts = [np.zeros(int(lead_s * SR), np.float32)]
    spoken = []
    t = lead_s
    for i, text in enumerate(texts):
        pcm = read_wav(synth(text, folder / f"u{i}.wav", voice=voice))
        a, b = speech_bounds(pcm)
        spoken.append(Spoken(text, t + a, t + b))
        parts.append(pcm)
        t += len(pcm) / SR
        gap = gaps_s[i % len(gaps_s)]
        parts.append(np.zeros(int(gap * SR), np.float32))
        t += gap
    return np.concatenate(parts), spoken


def audio_frames(
    pcm16k: npt.NDArray[np.float32],
    rate: int = 48_000,
    channels: int = 2,
    frame_ms: int = 20,
    fmt: str = "s16",
) -> list[av.AudioFrame]:
    """Cut 16 kHz audio into frames as a WebRTC Opus decoder gives them (48 kHz stereo s16
    by default), with pts in samples and time base 1/rate."""
    count = audio_frame_count(pcm16k, rate, frame_ms)
    return [audio_frame(pcm16k, i, rate, channels, frame_ms, fmt) for i in range(count)]


def audio_frame_count(
    pcm16k: npt.NDArray[np.float32], rate: int = 48_000, frame_ms: int = 20
) -> int:
    """How many whole frames `audio_frames` cuts `pcm16k` into."""
    return int(len(pcm16k) * rate / 16_000) // (rate * frame_ms // 1000)


def audio_frame(
    pcm16k: npt.NDArray[np.float32],
    i: int,
    rate: int = 48_000,
    channels: int = 2,
    frame_ms: int = 20,
    fmt: str = "s16",
) -> av.AudioFrame:
    """Frame `i` of `audio_frames(pcm16k, ...)`, built alone: a sender that makes each frame
    when it is due spends no time up front (upsampling a minute at once takes tens of ms)."""
    n = rate * frame_ms // 1000
    at = np.arange(i * n, (i + 1) * n) * 16_000 / rate  # where each output sample falls
    lo = int(at[0])
    hi = min(int(np.ceil(at[-1])) + 1, len(pcm16k))  # linear interpolation is local
    block = np.interp(at, np.arange(lo, hi), pcm16k[lo:hi]).astype(np.float32)
    layout = "stereo" if channels == 2 else "mono"
    if fmt == "s16":
        data = np.repeat((np.clip(block, -1, 1) * 32767).astype(np.int16), channels)[None, :]
    else:  # planar float
        data = np.repeat(block[None, :], channels, axis=0)
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
    frame.sample_rate = rate
    frame.pts = i * n
    frame.time_base = Fraction(1, rate)
    return frame


def as_received(pcm16k: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The 16 kHz audio the pipeline gets from `audio_frames(pcm16k)`: the same frames through
    the same ingress. An offline decode to compare a streamed one with must hear this, not the
    recording: the trip through 48 kHz frames alone moves tiny.en's WER on the long answers of
    bench/asr_incremental.py from 0.113 to 0.148 (a few words decided differently either way)."""
    ingress = AudioIngress()
    chunks = [c for f in audio_frames(pcm16k) for c in ingress.push(f)] + ingress.flush()
    return np.concatenate([c.pcm for c in chunks]) if chunks else np.zeros(0, np.float32)


def trimmed(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`pcm` without espeak's leading and trailing silence."""
    a, b = speech_bounds(pcm)
    return pcm[int(a * SR) : int(b * SR)]


def hesitant(
    pieces: list[tuple[str, bool]],
    folder: Path,
    voice: str = "en",
    rate_wpm: int = 150,
    filler_wpm: int = 80,
    pause_s: float = 0.2,
) -> npt.NDArray[np.float32]:
    """One answer from (text, is_filler) pieces: each piece synthesized on its own, fillers
    slowly (hesitations are drawn out) with a pause either side; 0.3 s of silence around."""
    gap = np.zeros(int(pause_s * SR), np.float32)
    parts = [np.zeros(int(0.3 * SR), np.float32)]
    for i, (text, filler) in enumerate(pieces):
        wav = synth(text, folder / f"p{i}.wav", voice, filler_wpm if filler else rate_wpm)
        pcm = trimmed(read_wav(wav))
        parts += [gap, pcm, gap] if filler else [pcm]
    parts.append(np.zeros(int(0.3 * SR), np.float32))
    return np.concatenate(parts)

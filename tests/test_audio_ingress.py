from __future__ import annotations

import itertools
from fractions import Fraction

import av
import numpy as np
import pytest

from pipeline.audio_ingress import AudioIngress
from pipeline.media import SAMPLE_RATE, WINDOW
from tests.media import audio_frames


def _tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _run(frames: list[av.AudioFrame], ingress: AudioIngress | None = None):
    ing = ingress or AudioIngress()
    out = [c for f in frames for c in ing.push(f)]
    return out + ing.flush(), ing


@pytest.mark.parametrize(
    ("rate", "channels", "fmt"),
    [(48_000, 2, "s16"), (48_000, 1, "s16"), (44_100, 2, "fltp"), (16_000, 1, "fltp")],
)
def test_any_rate_and_layout_becomes_16k_mono_windows(rate: int, channels: int, fmt: str) -> None:
    chunks, _ = _run(audio_frames(_tone(2.0), rate=rate, channels=channels, fmt=fmt))
    assert all(c.pcm.shape == (WINDOW,) and c.pcm.dtype == np.float32 for c in chunks)
    total = len(chunks) * WINDOW / SAMPLE_RATE
    assert 1.95 <= total <= 2.05
    ts = [c.t for c in chunks]
    assert ts[0] == 0.0
    assert np.allclose(np.diff(ts), WINDOW / SAMPLE_RATE)
    # The tone survives resampling: its spectrum peaks at 440 Hz.
    pcm = np.concatenate([c.pcm for c in chunks[4:-4]])
    peak_hz = np.argmax(np.abs(np.fft.rfft(pcm))) * SAMPLE_RATE / len(pcm)
    assert abs(peak_hz - 440) < 5
    assert not any(c.gap for c in chunks)


def test_lost_packets_are_filled_and_flagged_without_shifting_time() -> None:
    frames = audio_frames(_tone(2.0))
    kept = [f for i, f in enumerate(frames) if i not in (40, 41, 42)]  # 60 ms lost at 0.8 s
    chunks, ing = _run(kept)
    assert ing.gaps == 1 and abs(ing.gap_s - 0.06) < 1e-6
    flagged = [c for c in chunks if c.gap]
    assert flagged and all(0.75 <= c.t <= 0.9 for c in flagged)
    # Time after the gap is the senders' time: 2 s of media give 2 s of windows.
    assert abs(chunks[-1].t_end - 2.0) < 0.04


def test_long_gap_jumps_ahead_instead_of_filling() -> None:
    frames = audio_frames(_tone(1.0))
    late = audio_frames(_tone(0.5))
    for f in late:  # the same stream 10 s later (a muted track resumed)
        f.pts = (f.pts or 0) + 11 * 48_000
    chunks, _ing = _run(frames + late, AudioIngress(max_fill_s=2.0))
    ts = [c.t for c in chunks]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert any(c.t >= 11.0 for c in chunks)
    assert len(chunks) * WINDOW / SAMPLE_RATE < 2.0  # 10 s of silence were not invented


def test_duplicates_dropped_and_origin_is_first_pts() -> None:
    frames = audio_frames(_tone(1.0))
    for f in frames:
        f.pts = (f.pts or 0) + 123_456  # an arbitrary starting timestamp, as RTP has
    dup = frames[:25] + frames[20:25] + frames[25:]
    chunks, _ = _run(dup)
    assert chunks[0].t == 0.0
    assert abs(len(chunks) * WINDOW / SAMPLE_RATE - 1.0) < 0.04


def test_frames_without_pts_are_taken_as_contiguous() -> None:
    frames = audio_frames(_tone(1.0))
    for f in frames:
        f.pts = None
    chunks, _ = _run(frames)
    assert abs(len(chunks) * WINDOW / SAMPLE_RATE - 1.0) < 0.04


def test_time_base_other_than_sample_rate() -> None:
    frames = audio_frames(_tone(1.0))
    for f in frames:  # 90 kHz clock, as in RTP video-style stamping
        f.pts = int((f.pts or 0) * 90_000 / 48_000)
        f.time_base = Fraction(1, 90_000)
    chunks, ing = _run(frames)
    assert ing.gaps == 0
    assert abs(chunks[-1].t_end - 1.0) < 0.04

"""AudioIngress: any av.AudioFrame -> 16 kHz mono float32 windows stamped with media time.

Media time comes from the frames' pts and time base, relative to the first frame. Lost
packets (a pts jump) become silence flagged `gap=True` so later timestamps stay true rather
than silently shifting; a gap longer than `max_fill_s` is not filled: time jumps ahead.
Resampling a 10-20 ms frame costs microseconds, so it runs inline on the caller's thread.

A new track (the candidate rejoined on a new connection) restarts its pts: `rebase(t)` makes
its first frame media time `t` and the rest follow from their pts as before.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from pipeline.media import SAMPLE_RATE, WINDOW, AudioChunk

JITTER_S = 0.005  # timestamp wobble below this is not a gap


class AudioIngress:
    def __init__(self, max_fill_s: float = 2.0) -> None:
        self.max_fill_s = max_fill_s
        self._resampler = _resampler()
        self._origin: float | None = None  # pts time of the first frame
        self._offset = 0.0  # media time of the first frame (> 0 after a rebase)
        self._in_end: float | None = None  # media time where the last input frame ended
        self._buf = np.zeros(0, dtype=np.float32)
        self._fill = np.zeros(0, dtype=bool)
        self._buf_t = 0.0  # media time of _buf[0]
        self.frames_in = 0
        self.gaps = 0
        self.gap_s = 0.0

    def _media_time(self, frame: av.AudioFrame) -> float | None:
        if frame.pts is None or frame.time_base is None:
            return None
        t = float(frame.pts * Fraction(frame.time_base))
        if self._origin is None:
            self._origin = t
        return t - self._origin + self._offset

    @property
    def end_t(self) -> float:
        """Media time where the input so far ends."""
        return max(self._in_end or 0.0, self._buf_t)

    def rebase(self, t: float) -> None:
        """The next frame starts a new track at media time `t` (>= end_t); call flush()
        first, or the audio still held is dropped."""
        self._resampler = _resampler()
        self._origin = None
        self._offset = t
        self._in_end = None
        self._buf = np.zeros(0, dtype=np.float32)
        self._fill = np.zeros(0, dtype=bool)
        self._buf_t = t

    def push(self, frame: av.AudioFrame) -> list[AudioChunk]:
        """Take one decoded frame; return the whole windows now complete."""
        self.frames_in += 1
        duration = frame.samples / float(frame.sample_rate or SAMPLE_RATE)
        t = self._media_time(frame)
        out: list[AudioChunk] = []
        if t is None or self._in_end is None:
            t = self._in_end if t is None and self._in_end is not None else (t or self._offset)
        else:
            missing = t - self._in_end
            if missing < -duration + JITTER_S:  # wholly before what we have: a duplicate
                return out
            if missing > JITTER_S:
                self.gaps += 1
                self.gap_s += missing
                if missing <= self.max_fill_s:
                    self._append(np.zeros(round(missing * SAMPLE_RATE), np.float32), fill=True)
                else:  # too long to fill: finish the open window, then jump ahead
                    out += self._flush_partial()
                    self._buf_t = t
        self._in_end = t + duration
        for resampled in self._resampler.resample(frame):
            self._append(_mono_f32(resampled), fill=False)
        out += self._windows()
        return out

    def flush(self) -> list[AudioChunk]:
        """End of stream: drain the resampler and pad the last window with silence."""
        for resampled in self._resampler.resample(None):
            self._append(_mono_f32(resampled), fill=False)
        return self._windows() + self._flush_partial()

    def _append(self, pcm: npt.NDArray[np.float32], fill: bool) -> None:
        self._buf = np.concatenate([self._buf, pcm])
        self._fill = np.concatenate([self._fill, np.full(len(pcm), fill)])

    def _windows(self) -> list[AudioChunk]:
        out = []
        n = len(self._buf) // WINDOW
        for i in range(n):
            sl = slice(i * WINDOW, (i + 1) * WINDOW)
            out.append(AudioChunk(self._buf_t, self._buf[sl].copy(), bool(self._fill[sl].any())))
            self._buf_t += WINDOW / SAMPLE_RATE
        self._buf = self._buf[n * WINDOW :]
        self._fill = self._fill[n * WINDOW :]
        return out

    def _flush_partial(self) -> list[AudioChunk]:
        if len(self._buf) == 0:
            return []
        pad = WINDOW - len(self._buf)
        self._append(np.zeros(pad, np.float32), fill=False)
        return self._windows()


def _resampler() -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


def _mono_f32(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)

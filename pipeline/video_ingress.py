"""VideoIngress: pick the frames to analyse and stamp them with media time from pts and time
base, relative to the first frame. A fixed rate (default 10 per second), or an AdaptiveRate
(pipeline.video_rate: 5 per second on a still face, 10 on change). Picking is cheap; a frame
not picked is never converted; converting a picked one to RGB happens once, on the face
stage's worker thread. After a rejoin `rebase(t)` puts the new track's first frame at media
time `t`."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from pipeline.video_rate import AdaptiveRate


@dataclass(frozen=True)
class VideoSample:
    t: float  # media time, seconds
    frame: av.VideoFrame


class VideoIngress:
    def __init__(self, fps: float = 10.0, rate: AdaptiveRate | None = None) -> None:
        if fps <= 0:
            raise ValueError("analysis fps must be positive")
        self.interval = 1.0 / fps
        self.rate = rate
        self._origin: float | None = None
        self._offset = 0.0  # media time of the first frame (> 0 after a rebase)
        self._grid: float | None = None  # when the last sample was due (None: take the next)
        self._last_t = -1.0
        self.frames_in = 0
        self.sampled = 0
        self.sampled_fast = 0  # taken while an AdaptiveRate was at its fast rate

    def push(self, frame: av.VideoFrame) -> VideoSample | None:
        """The sample to analyse, or None when this frame falls between samples."""
        self.frames_in += 1
        if frame.pts is not None and frame.time_base is not None:
            pts_t = float(frame.pts * Fraction(frame.time_base))
            if self._origin is None:
                self._origin = pts_t
            t = pts_t - self._origin + self._offset
        else:  # no timestamps: assume 30 fps, the browsers' default
            t = max(self._last_t + 1 / 30, self._offset) if self._last_t >= 0 else self._offset
        if t <= self._last_t:  # a duplicate or reordered frame: time never goes back
            return None
        self._last_t = t
        interval = self.rate.interval(t) if self.rate is not None else self.interval
        if self._grid is not None:
            due = self._grid + interval
            if t + 1e-6 < due:
                return None
            # Samples stay on their grid, but never behind: after a stall we do not catch up.
            self._grid = max(due, t - interval * 0.5)
        else:
            self._grid = t
        self.sampled += 1
        self.sampled_fast += self.rate is not None and self.rate.fast_at(t)
        return VideoSample(t, frame)

    @property
    def end_t(self) -> float:
        """Media time of the last frame taken (0 before any)."""
        return max(self._last_t, 0.0)

    def rebase(self, t: float) -> None:
        """The next frame starts a new track (new pts) at media time `t` (> end_t); it is
        analysed."""
        self._origin = None
        self._offset = t
        self._grid = None
        if self.rate is not None:
            self.rate.rebase()

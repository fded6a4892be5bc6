"""VideoIngress: pick the frames to analyse (default 10 per second) and stamp them with media
time from pts and time base, relative to the first frame. Picking is cheap; converting a frame
to RGB happens once, on the face stage's worker thread. After a rejoin `rebase(t)` puts the new
track's first frame at media time `t`."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av


@dataclass(frozen=True)
class VideoSample:
    t: float  # media time, seconds
    frame: av.VideoFrame


class VideoIngress:
    def __init__(self, fps: float = 10.0) -> None:
        if fps <= 0:
            raise ValueError("analysis fps must be positive")
        self.interval = 1.0 / fps
        self._origin: float | None = None
        self._offset = 0.0  # media time of the first frame (> 0 after a rebase)
        self._next_t = 0.0
        self._last_t = -1.0
        self.frames_in = 0
        self.sampled = 0

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
        if t + 1e-6 < self._next_t:
            return None
        # Next sample one interval on, but never behind: after a stall we do not catch up.
        self._next_t = max(self._next_t + self.interval, t + self.interval * 0.5)
        self.sampled += 1
        return VideoSample(t, frame)

    @property
    def end_t(self) -> float:
        """Media time of the last frame taken (0 before any)."""
        return max(self._last_t, 0.0)

    def rebase(self, t: float) -> None:
        """The next frame starts a new track (new pts) at media time `t` (> end_t)."""
        self._origin = None
        self._offset = t
        self._next_t = max(self._next_t, t)

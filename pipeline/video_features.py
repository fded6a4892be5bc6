"""Rolling video features over a window of face observations (a pure fold, no I/O).

- face_present_ratio: analysed frames with a face / analysed frames.
- eye_contact_ratio: frames with eye contact / frames with a face (absence is counted once,
  by the presence ratio, not twice).
- expressiveness: mean absolute deviation of the expression signals (smile, brow raise,
  brow down) from their own window means, scaled so that 1 means they swing over their whole
  range; a still face scores near 0.
- blinks_per_min: blink onsets in the window, per minute of window (people blink ~15-20/min).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from pipeline.events import FaceObservation, VideoFeatures

EXPRESSIVENESS_SCALE = 4.0  # a MAD of 0.25 (a signal swinging over half its range) maps to 1


class RollingVideoFeatures:
    def __init__(self, window_s: float = 10.0, every_s: float = 1.0) -> None:
        self.window_s = window_s
        self.every_s = every_s
        self._obs: deque[FaceObservation] = deque()
        self._next_emit: float | None = None

    @property
    def last_t(self) -> float:
        return self._obs[-1].t if self._obs else 0.0

    def add(self, obs: FaceObservation) -> VideoFeatures | None:
        """Fold one observation in; return features when `every_s` of media time has passed."""
        self._obs.append(obs)
        while self._obs and self._obs[0].t < obs.t - self.window_s:
            self._obs.popleft()
        if self._next_emit is None:
            self._next_emit = obs.t + self.every_s
        if obs.t < self._next_emit:
            return None
        self._next_emit = obs.t + self.every_s
        return self.snapshot(obs.t)

    def snapshot(self, t: float) -> VideoFeatures:
        obs = list(self._obs)
        n = len(obs)
        with_face = [o for o in obs if o.present]
        span = max(self.every_s, (obs[-1].t - obs[0].t) if n > 1 else self.every_s)
        if with_face:
            signals = np.array([(o.smile, o.brow_raise, o.brow_down) for o in with_face])
            mad = float(np.mean(np.abs(signals - signals.mean(axis=0))))
            expressiveness = min(1.0, mad * EXPRESSIVENESS_SCALE)
        else:
            expressiveness = 0.0
        return VideoFeatures(
            t=t,
            window_s=self.window_s,
            frames=n,
            face_present_ratio=round(len(with_face) / n, 4) if n else 0.0,
            eye_contact_ratio=(
                round(sum(o.eye_contact for o in with_face) / len(with_face), 4)
                if with_face
                else 0.0
            ),
            expressiveness=round(expressiveness, 4),
            blinks_per_min=round(sum(o.blink for o in obs) * 60.0 / span, 2),
            several_faces_ratio=round(sum(o.faces > 1 for o in obs) / n, 4) if n else 0.0,
        )

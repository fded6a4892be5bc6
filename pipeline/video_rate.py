"""How often a live session analyses the candidate's face: at the rate the signals need.

The signals built on face observations are presence, eye contact, several faces, quality
warnings (the live view's indicators, updated twice a second) and the rolling ratios over
10 s windows. A still face changes none of them between frames, so 5 analysed frames a second
describe it as well as 10; what needs the full rate is change: the face moved or turned, the
number of faces changed, the eyes are closing (a blink lasts 100-400 ms: at 5 fps a short one
can fall between two samples), the expression moved, or a quality warning appeared. After any
of these the rate stays at the fast rate for `hold_s`, so a movement is followed through to
its end.

Every frame the ingress does not pick is never converted or analysed (it stays the decoder's
YUV frame until the next one replaces it), so the steady rate halves the face work of a
candidate sitting still (9 ms of CPU a frame on this machine). The frames are still decoded:
VP8/H.264 inter frames depend on the previous ones, and aiortc's receiver decodes every frame
before the track hands it to us; the browser is asked for 640x480 at 15 fps.

A turn is yaw or pitch, what eye contact reads; roll (an in-plane tilt) feeds no signal, and
its estimate flips between about -4 and +5 degrees on a face that only slides sideways.
Yaw, pitch and expression are compared as medians of the last three observations: one
frame's estimate can be far off (a VP8 frame of a sliding face read as a 32 degree turn), and
a single outlier must not buy a second of double-rate analysis; a real turn holds, and counts
one sample later (0.2 s at the steady rate). Position, size, face count, warnings and the
eyes are taken as they come.

Ratios folded over observations (eye contact, presence) weight fast periods a little more:
they are counts of analysed frames, and a period of change has twice as many.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

from pipeline.events import FaceObservation

POSE = ("yaw", "pitch")  # a turn (roll feeds no signal)
EXPRESSION = ("smile", "brow_raise", "brow_down")
MEDIAN_OF = 3  # observations per median of pose and expression
Smoothed = dict[str, float | None]  # POSE and EXPRESSION fields -> their recent median

STEADY_FPS = 5.0  # a live session's rate on a still face


@dataclass(frozen=True)
class RateConfig:
    fast_fps: float = 10.0
    steady_fps: float = STEADY_FPS
    hold_s: float = 1.0  # stay fast this long after the last change
    move_frac: float = 0.03  # the face's centre moved by this share of the frame
    size_frac: float = 0.08  # its height changed by this fraction (leaning in or back)
    turn_deg: float = 6.0  # yaw or pitch changed by this much
    expression_delta: float = 0.15  # smile or brow signals changed by this much (of 1)
    eyes_closing: float = 0.3  # eyeBlink level from which the eyes count as closing

    def __post_init__(self) -> None:
        if not 0 < self.steady_fps <= self.fast_fps:
            raise ValueError("need 0 < steady_fps <= fast_fps")


class AdaptiveRate:
    """Fed every observation (and the eyes' closure level), says which interval is due."""

    def __init__(self, config: RateConfig | None = None) -> None:
        self.config = config or RateConfig()
        self._fast_until = float("-inf")  # media time
        self._prev: FaceObservation | None = None
        self._prev_eyes = 0.0
        self._recent: deque[FaceObservation] = deque(maxlen=MEDIAN_OF)  # with a face, in a row
        self._prev_smoothed: Smoothed | None = None
        self.changes = 0  # observations that counted as change

    def interval(self, t: float) -> float:
        """The analysis interval at media time `t`."""
        fast = t < self._fast_until
        return 1.0 / (self.config.fast_fps if fast else self.config.steady_fps)

    def fast_at(self, t: float) -> bool:
        return t < self._fast_until

    def observe(self, obs: FaceObservation, eyes: float) -> bool:
        """Fold one observation in; True if it counted as change."""
        if obs.bbox is None:
            self._recent.clear()
        else:
            self._recent.append(obs)
        smoothed = _medians(self._recent)
        changed = self._changed(obs, eyes, smoothed)
        self._prev, self._prev_eyes, self._prev_smoothed = obs, eyes, smoothed
        if changed:
            self.changes += 1
            self._fast_until = max(self._fast_until, obs.t + self.config.hold_s)
        return changed

    def rebase(self) -> None:
        """A new track (rejoin): nothing to compare the next observation with."""
        self._prev = None
        self._recent.clear()
        self._prev_smoothed = None

    def _changed(self, obs: FaceObservation, eyes: float, smoothed: Smoothed) -> bool:
        cfg, prev = self.config, self._prev
        if prev is None or obs.faces != prev.faces or obs.warnings != prev.warnings:
            return True
        # Eyes starting to close (a crossing, not the level: a candidate reading notes or
        # squinting sits near the threshold and would keep the fast rate for good).
        if (eyes >= cfg.eyes_closing > self._prev_eyes) or obs.blink:
            return True
        if obs.bbox is None or prev.bbox is None:
            return False  # no face, still no face
        (x0, y0, x1, y1), (p0, q0, p1, q1) = obs.bbox, prev.bbox
        moved = max(abs((x0 + x1) - (p0 + p1)), abs((y0 + y1) - (q0 + q1))) / 2
        height, prev_height = y1 - y0, max(q1 - q0, 1e-6)
        before = self._prev_smoothed or {}
        turned = max(_delta(smoothed[k], before.get(k)) for k in POSE)
        expression = max(_delta(smoothed[k], before.get(k)) for k in EXPRESSION)
        return (
            moved >= cfg.move_frac
            or abs(height - prev_height) / prev_height >= cfg.size_frac
            or turned >= cfg.turn_deg
            or expression >= cfg.expression_delta
        )


def _medians(recent: deque[FaceObservation]) -> Smoothed:
    """Per signal, the median of the recent observations that have it."""

    def median(xs: list[float | None]) -> float | None:
        have = [x for x in xs if x is not None]
        return statistics.median(have) if have else None

    return {name: median([getattr(o, name) for o in recent]) for name in POSE + EXPRESSION}


def _delta(a: float | None, b: float | None) -> float:
    return abs(a - b) if a is not None and b is not None else 0.0

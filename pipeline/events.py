"""Events the pipeline emits: small frozen dataclasses with media times (seconds from the
session start, from frame timestamps, never the wall clock)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class EventKind(enum.StrEnum):
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"
    TRANSCRIPT = "transcript"
    FACE = "face"
    AFFECT = "affect"
    VIDEO_FEATURES = "video_features"
    STAGE_LAG = "stage_lag"
    STAGE_DEGRADED = "stage_degraded"
    SESSION_ENDED = "session_ended"
    MEDIA_GAP = "media_gap"


@dataclass(frozen=True)
class TimedWord:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class SpeechStart:
    utterance: int
    t: float
    kind: EventKind = field(default=EventKind.SPEECH_START, init=False)


@dataclass(frozen=True)
class SpeechEnd:
    utterance: int
    t_start: float
    t_end: float
    kind: EventKind = field(default=EventKind.SPEECH_END, init=False)


@dataclass(frozen=True)
class Transcript:
    """A partial (`final=False`) or final hypothesis of one utterance.

    `stable` is the prefix of `text` that consecutive hypotheses agreed on; it only grows
    within an utterance, so captions built from it never flicker.
    """

    utterance: int
    final: bool
    t_start: float
    t_end: float
    text: str
    stable: str
    words: tuple[TimedWord, ...] = ()
    confidence: float = 0.0
    # Finals: the language the answer was spoken in (ISO 639-1; "und" when an English-only
    # model can tell it is not English but not what it is) and its probability; None when
    # the recogniser cannot say. Partials leave both None.
    language: str | None = None
    language_prob: float | None = None
    segment: int = 0  # > 0 when a long utterance was cut into several finals
    kind: EventKind = field(default=EventKind.TRANSCRIPT, init=False)


@dataclass(frozen=True)
class FaceObservation:
    """One analysed video frame. Angles in degrees, 0 when facing the camera; roll > 0 when
    the head tilts counter-clockwise as seen in the image. `bbox` is (x0, y0, x1, y1) as
    fractions of the frame. Fields other than `faces` describe the largest face."""

    t: float
    faces: int
    bbox: tuple[float, float, float, float] | None = None
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    gaze: float | None = None  # iris offset from the eye centre, 0 centred, 1 at a corner
    eye_contact: bool = False
    blink: bool = False  # a blink started in this frame
    smile: float = 0.0  # 0..1 from blendshapes
    brow_raise: float = 0.0
    brow_down: float = 0.0
    warnings: tuple[str, ...] = ()  # "several_faces", "too_small", "too_dark", "cut_off"
    kind: EventKind = field(default=EventKind.FACE, init=False)

    @property
    def present(self) -> bool:
        return self.faces > 0


@dataclass(frozen=True)
class AffectObservation:
    """Facial-expression probabilities of the main face (only where the policy allows)."""

    t: float
    probabilities: tuple[tuple[str, float], ...]
    top: str
    valence: float  # -1 (negative) .. 1 (positive)
    kind: EventKind = field(default=EventKind.AFFECT, init=False)


@dataclass(frozen=True)
class VideoFeatures:
    """Rolling features over the last `window_s` seconds of analysed frames."""

    t: float
    window_s: float
    frames: int
    face_present_ratio: float
    eye_contact_ratio: float  # of frames with a face
    expressiveness: float  # 0..1
    blinks_per_min: float
    several_faces_ratio: float
    kind: EventKind = field(default=EventKind.VIDEO_FEATURES, init=False)


@dataclass(frozen=True)
class StageLag:
    """How far a stage's output trails the media it has been given, in wall-clock seconds."""

    stage: str
    t: float
    lag_s: float
    # ASR only: how long its latest decode waited in the shared scheduler's queue, and the
    # interval partials are spaced at now (it grows under load).
    queue_wait_s: float | None = None
    partial_interval_s: float | None = None
    kind: EventKind = field(default=EventKind.STAGE_LAG, init=False)


@dataclass(frozen=True)
class StageDegraded:
    """A stage stopped producing results (`recovered=False`) or started again (`True`)."""

    stage: str
    t: float
    reason: str
    recovered: bool = False
    kind: EventKind = field(default=EventKind.STAGE_DEGRADED, init=False)


@dataclass(frozen=True)
class MediaGap:
    """The candidate's media stopped at media time `t` (a dropped connection) and came back
    on a new connection `duration_s` wall-clock seconds later. The timeline goes on across
    it: media after the gap starts at `t + duration_s`, so times keep their wall-clock
    meaning. Session-level: the stages never see it."""

    t: float
    duration_s: float
    reason: str
    kind: EventKind = field(default=EventKind.MEDIA_GAP, init=False)


Event = (
    SpeechStart
    | SpeechEnd
    | Transcript
    | FaceObservation
    | AffectObservation
    | VideoFeatures
    | StageLag
    | StageDegraded
)

"""Events the pipeline emits: small frozen dataclasses with media times (seconds from the
session start, from frame timestamps, never the wall clock)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class EventKind(enum.StrEnum):
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"
    TRANSCRIPT = "transcript"
    STAGE_LAG = "stage_lag"
    STAGE_DEGRADED = "stage_degraded"
    SESSION_ENDED = "session_ended"


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
    language: str = "en"
    segment: int = 0  # > 0 when a long utterance was cut into several finals
    kind: EventKind = field(default=EventKind.TRANSCRIPT, init=False)


@dataclass(frozen=True)
class StageLag:
    """How far a stage's output trails the media it has been given, in wall-clock seconds."""

    stage: str
    t: float
    lag_s: float
    kind: EventKind = field(default=EventKind.STAGE_LAG, init=False)


@dataclass(frozen=True)
class StageDegraded:
    stage: str
    t: float
    reason: str
    kind: EventKind = field(default=EventKind.STAGE_DEGRADED, init=False)


Event = SpeechStart | SpeechEnd | Transcript | StageLag | StageDegraded

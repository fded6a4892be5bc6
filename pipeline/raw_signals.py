"""Raw live signals per interview, a pure fold over pipeline events (no I/O).

The live view shows them beside the competency scores, in neutral colours: they describe how
the candidate speaks and sits, they are not judgments. Same shape (name -> value 0..100 with its
evidence) as the competency scores.

- speaking_rate: words per minute of speech, over final transcripts (spoken words divided by
  the time from each utterance's first to last word). 100 at 150 wpm or more.
- pauses: share of the time between the first and the last utterance spent in silence
  between utterances, as a percentage; a dropped connection (MediaGap) is not a pause.
- face_present / eye_contact: the latest rolling video ratios, as percentages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.events import Event, MediaGap, SpeechEnd, Transcript, VideoFeatures

FULL_SCALE_WPM = 150.0  # a brisk conversational rate maps to 100


@dataclass
class Signal:
    value: float | None  # 0..100; None: no value yet (not enough evidence)
    raw: float | None  # in its own unit (wpm, %)
    unit: str
    t: float  # media time of the latest evidence
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawSignals:
    words: int = 0
    word_time_s: float = 0.0
    speech_spans: list[tuple[float, float]] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)  # away (dropped connection)
    signals: dict[str, Signal] = field(default_factory=dict)

    def fold(self, event: Event | MediaGap) -> set[str]:
        """Fold one event in; return the names of the signals it changed."""
        if isinstance(event, MediaGap):
            self.gaps.append((event.t, event.t + event.duration_s))
            return set()
        if isinstance(event, Transcript) and event.final and event.words:
            self.words += len(event.words)
            self.word_time_s += max(0.1, event.words[-1].end - event.words[0].start)
            wpm = self.words / self.word_time_s * 60
            self.signals["speaking_rate"] = Signal(
                round(min(100.0, wpm / FULL_SCALE_WPM * 100), 1),
                round(wpm, 1),
                "wpm",
                event.t_end,
                {
                    "utterance": event.utterance,
                    "words": self.words,
                    "speech_s": round(self.word_time_s, 2),
                },
            )
            return {"speaking_rate"}
        if isinstance(event, SpeechEnd):
            self.speech_spans.append((event.t_start, event.t_end))
            if len(self.speech_spans) < 2:
                return set()
            first, last = self.speech_spans[0][0], self.speech_spans[-1][1]
            away = sum(max(0.0, min(b, last) - max(a, first)) for a, b in self.gaps)
            total = last - first - away
            spoken = sum(b - a for a, b in self.speech_spans)
            share = max(0.0, 1 - spoken / total) * 100 if total > 0 else 0.0
            self.signals["pauses"] = Signal(
                round(share, 1), round(share, 1), "%", event.t_end,
                {"utterances": len(self.speech_spans), "span_s": round(total, 2)},
            )  # fmt: skip
            return {"pauses"}
        if isinstance(event, VideoFeatures) and event.frames:
            ev = {"window_s": event.window_s, "frames": event.frames}
            self.signals["face_present"] = Signal(
                round(event.face_present_ratio * 100, 1),
                round(event.face_present_ratio * 100, 1), "%", event.t, ev,
            )  # fmt: skip
            self.signals["eye_contact"] = Signal(
                round(event.eye_contact_ratio * 100, 1),
                round(event.eye_contact_ratio * 100, 1), "%", event.t, ev,
            )  # fmt: skip
            return {"face_present", "eye_contact"}
        return set()

"""Candidate answers for bench.live: about 5 s and about 30 s of continuous speech, and where
each caption the interviewer receives belongs.

A long answer is several sentences in one espeak call (only the short pauses between
sentences), so the server's VAD may split it into utterances and the ASR cut it into
segments: every final that overlaps an answer belongs to it, and the one that reaches its end
of speech is the answer's final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.speech import conversation

SHORT = [
    "In my last role I managed a small team of four engineers and two analysts.",
    "We reduced the response time of our support desk by half in a single year.",
    "I usually plan my week on Monday morning and I review it on Friday afternoon.",
    "When a deadline is at risk, I tell my manager early and I suggest some options.",
    "I am looking for a role where I can grow into a technical leader over time.",
    "Yes, I have worked with relational databases and cloud services for five years.",
]
LONG = [
    "Let me describe the largest project of my last job. Our company sold spare parts to "
    "repair shops, and the ordering system was twenty years old. I led a team of six people "
    "that replaced it over eighteen months. We started with the part catalogue, because every "
    "other feature depended on it, and we moved one region at a time so that the shops never "
    "lost a day of orders. The hardest part was agreeing on priorities with the sales team, "
    "who wanted new features before the old ones were stable.",
    "I handle conflict by talking to people early and in private. In one case two senior "
    "engineers disagreed about the design of our billing service, and the argument had "
    "started to slow down the whole team. I met each of them separately, wrote down what "
    "each one actually needed, and found that they agreed on most of it. We then tried both "
    "designs on a small prototype for one week, measured them, and chose the faster one "
    "together. Both of them still work on that service today.",
]
GAP_S = 1.6  # silence between answers: well past the VAD's hangover
MATCH_S = 0.7  # a caption this far outside an answer still belongs to it (< GAP_S / 2)


@dataclass(frozen=True)
class Answer:
    kind: str  # "short" or "long"
    start: float  # seconds into the candidate's recording where speech starts
    end: float


def answers(short: int, long: int, folder: Path) -> tuple[npt.NDArray[np.float32], list[Answer]]:
    """One candidate's recording: `short` and `long` answers, the long ones spread among the
    short ones, separated by GAP_S of silence."""
    kinds = ["short"] * short
    for k in range(long):  # spread: S L S S L S ...
        kinds.insert(min(len(kinds), 1 + k * (short // max(1, long) + 1)), "long")
    texts, si, li = [], 0, 0
    for kind in kinds:
        if kind == "short":
            texts.append(SHORT[si % len(SHORT)])
            si += 1
        else:
            texts.append(LONG[li % len(LONG)])
            li += 1
    pcm, spoken = conversation(texts, folder, [GAP_S])
    return pcm, [Answer(k, s.start, s.end) for k, s in zip(kinds, spoken, strict=True)]


@dataclass(frozen=True)
class Caption:
    """A caption record as the interviewer received it (times in media seconds)."""

    arrived: float  # monotonic
    final: bool
    utterance: int
    segment: int
    t_start: float
    t_end: float


@dataclass
class AnswerResult:
    answer: Answer
    captions: list[Caption] = field(default_factory=list)

    @property
    def finals(self) -> list[Caption]:
        return [c for c in self.captions if c.final]

    def last_final(self) -> Caption | None:
        """The final that reaches the end of speech (None: it never came)."""
        finals = self.finals
        if not finals:
            return None
        last = max(finals, key=lambda c: (c.t_end, c.utterance, c.segment))
        return last if last.t_end >= self.answer.end - MATCH_S else None

    def final_latency_s(self, started_at: float) -> float | None:
        last = self.last_final()
        return None if last is None else last.arrived - (started_at + self.answer.end)

    def first_caption_latency_s(self, started_at: float) -> float | None:
        """Speech start -> the first caption shown for it (a partial, or a final if no partial
        came before it)."""
        if not self.captions:
            return None
        return min(c.arrived for c in self.captions) - (started_at + self.answer.start)


def assign(captions: list[Caption], spoken: list[Answer]) -> list[AnswerResult]:
    """Each caption to the answer its media time overlaps most (captions outside every
    answer are dropped: noise the VAD took for speech)."""
    out = [AnswerResult(a) for a in spoken]
    for c in captions:
        overlaps = [
            min(c.t_end, a.end + MATCH_S) - max(c.t_start, a.start - MATCH_S) for a in spoken
        ]
        best = int(np.argmax(overlaps))
        if overlaps[best] > 0:
            out[best].captions.append(c)
    return out

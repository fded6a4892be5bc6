"""What the engine can measure: one entry per measure, with its names in English and Chinese,
the signals and formula behind it, and the minimum evidence below which it abstains.

A requisition names its competencies in its own words ("Logical structure", "沟通能力",
"Stress resilience"). Each is mapped explicitly to a measure here (`measure: composure`), or
found by its normalised name or an alias; a competency that matches nothing is rated by
interviewers only: it keeps its weight in the requisition and shows in every report, but the
engine never puts a number on it. An explicit mapping to a measure that does not exist is an
error (the API answers 400), never a silent drop.

Minimum evidence is per answer. Below it the answer's score is `insufficient_evidence`; the
interview's value for a measure exists when at least one answer has one. English counts
words, Chinese counts characters (about 1.7 characters per English word of content).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

INTERVIEWER_ONLY = "interviewer_only"


@dataclass(frozen=True)
class MinEvidence:
    """What one answer needs before a measure has a value on it."""

    words: int = 0  # transcribed words (English and other spaced languages)
    chars: int = 0  # transcribed characters (Chinese)
    speech_s: float = 0.0  # seconds of voiced speech (VAD)
    frames: int = 0  # analysed video frames
    concepts: bool = False  # the question lists expected concepts

    def describe(self, language: str) -> str:
        parts = []
        if language == "zh" and self.chars:
            parts.append(f"{self.chars} characters")
        elif self.words:
            parts.append(f"{self.words} words")
        if self.speech_s:
            parts.append(f"{self.speech_s:g} s of speech")
        if self.frames:
            parts.append(f"{self.frames} analysed video frames")
        if self.concepts:
            parts.append("a question with expected concepts")
        return ", ".join(parts)


@dataclass(frozen=True)
class Measure:
    id: str
    names: dict[str, str]  # language -> display name
    aliases: tuple[str, ...]  # other names a requisition may use (any language)
    signals: tuple[str, ...]  # the component names the scorer reports for it
    formula: str  # one line, shown with the score
    min_evidence: MinEvidence
    language_dependent: bool  # needs an answer in the interview's language

    def name(self, language: str) -> str:
        return self.names.get(language, self.names["en"])


CATALOGUE: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure(
            "communication",
            {"en": "Communication", "zh": "沟通表达"},
            ("communication skills", "verbal communication", "clarity", "沟通", "沟通能力",
             "表达能力", "语言表达"),
            ("speaking_rate", "hesitations", "pauses", "length"),
            "0.35 rate + 0.35 hesitations + 0.15 pauses + 0.15 length",
            MinEvidence(words=25, chars=45, speech_s=8.0),
            True,
        ),
        Measure(
            "logical_structure",
            {"en": "Logical structure", "zh": "逻辑结构"},
            ("structure", "structured thinking", "logic", "logical thinking",
             "answer structure", "逻辑", "逻辑思维", "条理性", "结构化思维"),
            ("star_parts", "connectives"),
            "60 x STAR parts / 4 + 40 x min(1, reason and sequence links / 3)",
            MinEvidence(words=40, chars=70),
            True,
        ),
        Measure(
            "job_knowledge",
            {"en": "Job knowledge", "zh": "专业知识"},
            ("domain knowledge", "technical knowledge", "expertise", "role knowledge",
             "专业能力", "岗位知识", "业务知识"),
            ("covered", "expected"),
            "100 x expected concepts covered / expected concepts",
            MinEvidence(words=20, chars=35, concepts=True),
            True,
        ),
        Measure(
            "engagement",
            {"en": "Engagement", "zh": "投入度"},
            ("attention", "presence", "eye contact", "投入", "专注度", "参与度"),
            ("presence", "eye_contact"),
            "100 x face-present share x eye-contact share",
            MinEvidence(speech_s=3.0, frames=30),
            False,
        ),
        Measure(
            "composure",
            {"en": "Composure", "zh": "沉着冷静"},
            ("stress resilience", "stress tolerance", "calm under pressure", "poise",
             "抗压能力", "抗压", "沉着", "情绪稳定"),
            ("voice", "affect"),
            "0.5 hesitations + 0.5 pauses (x 0.7 + 0.3 affect where allowed)",
            MinEvidence(words=15, chars=25, speech_s=10.0),
            True,
        ),
    )
}  # fmt: skip


def normalise(name: str) -> str:
    """One key per name: Unicode-folded, lower case, words joined by "_"
    ("Logical  Structure" and "logical-structure" -> "logical_structure")."""
    folded = unicodedata.normalize("NFKC", name).casefold().strip()
    return re.sub(r"[\s\-_/]+", "_", folded).strip("_")


_BY_NAME: dict[str, str] = {}
for _m in CATALOGUE.values():
    for _n in (_m.id, *_m.names.values(), *_m.aliases):
        _BY_NAME[normalise(_n)] = _m.id


class UnknownMeasure(ValueError):
    """A competency is mapped to a measure the engine does not have."""


def resolve(name: str, measure: str | None = None) -> str | None:
    """The measure for a requisition competency: the explicit mapping when given (a catalogue
    id, one of its names, or "interviewer_only"), else the one whose name or alias matches;
    None: rated by interviewers only."""
    if measure is not None:
        key = normalise(measure)
        if key == INTERVIEWER_ONLY:
            return None
        if key in _BY_NAME:
            return _BY_NAME[key]
        known = ", ".join([*CATALOGUE, INTERVIEWER_ONLY])
        raise UnknownMeasure(
            f"competency {name!r}: unknown measure {measure!r}; use one of {known}"
        )
    return _BY_NAME.get(normalise(name))

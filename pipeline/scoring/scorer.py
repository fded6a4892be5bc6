"""Competency scores from pipeline events: a pure fold, no I/O, every score with evidence.

Per answer (the events between one question and the next), each on 0-100 with a confidence
in 0-1 that grows with the amount of material it rests on:

- communication = 0.35 rate + 0.35 fillers + 0.15 pauses + 0.15 length, where
  rate: 100 inside 110-160 words per minute (a clear interview pace), falling linearly to 0 at
  60 and 220; fillers: 100 - 12 per filler in 100 words (8 in 100 is rambling: 0);
  pauses: 100 while silence between utterances is at most 25% of the answer, then -2 per
  point; length: 100 when the answer uses 25%-90% of its time limit, falling to 0 at 5% and
  to 50 at 100% and beyond. Confidence: words / 60.
- logical_structure = 60 x (STAR parts present / 4) + 40 x min(1, reason and sequence markers
  / 3). Confidence: words / 80.
- job_knowledge = 100 x expected concepts mentioned / expected concepts (stems or synonyms);
  absent when the question lists no concepts. Confidence: 0.5 + 0.5 x words / 80.
- engagement = 100 x face-present ratio x eye-contact ratio (of frames with a face).
  Confidence: analysed frames / 50.
- composure = 0.5 fillers + 0.5 pauses (voice steadiness); where the policy allows affect,
  0.7 of that + 0.3 x (50 + 50 x mean valence). Confidence: speech seconds / 20.

The interview's value for a competency is the mean over answers weighted by confidence; the
overall score is the rubric-weighted mean of the competencies that have a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.events import AffectObservation, Event, FaceObservation, SpeechEnd, Transcript
from pipeline.scoring import lexicon
from pipeline.scoring.rubric import Rubric


@dataclass(frozen=True)
class Evidence:
    kind: str  # "filler", "structure:result", "concept:budget", "pace", "face"...
    text: str
    t_start: float
    t_end: float
    utterance: int | None = None


@dataclass(frozen=True)
class Score:
    name: str
    value: float
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    components: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class _Unit:
    norm: str  # lower-case token (en) or character (zh)
    stem: str
    start: float
    end: float
    utterance: int


@dataclass
class _Answer:
    index: int
    t0: float
    units: list[_Unit] = field(default_factory=list)
    words: int = 0
    spans: list[tuple[float, float]] = field(default_factory=list)
    text: list[tuple[int, float, float, str]] = field(default_factory=list)  # finals
    frames: int = 0
    present: int = 0
    eye: int = 0
    valences: list[float] = field(default_factory=list)


def _linear(x: float, zero: float, full: float) -> float:
    """0 at `zero`, 1 at `full`, clamped; works in either direction."""
    if full == zero:
        return 1.0
    return min(1.0, max(0.0, (x - zero) / (full - zero)))


class Scorer:
    def __init__(self, rubric: Rubric, affect_allowed: bool = False) -> None:
        self.rubric = rubric
        self.language = rubric.language
        self.affect_allowed = affect_allowed
        self.answers: dict[int, _Answer] = {}
        self.current: _Answer | None = None
        # Scores of answers that did not change since they were computed: live updates then
        # cost one answer's work, not the whole interview's.
        self._cache: dict[int, dict[str, Score]] = {}

    def start_question(self, index: int, t: float) -> None:
        self.current = self.answers.setdefault(index, _Answer(index, t))

    def fold(self, event: Event) -> bool:
        """Take one event; True when scores may have changed."""
        a = self.current
        if a is None:
            self.start_question(0, 0.0)
            a = self.current
            assert a is not None
        self._cache.pop(a.index, None)
        if isinstance(event, Transcript) and event.final:
            a.text.append((event.utterance, event.t_start, event.t_end, event.text))
            for w in event.words:
                a.words += 1
                parts = (
                    [ch for ch in w.text if not ch.isspace()]
                    if lexicon.is_unspaced(self.language)
                    else lexicon.tokens(w.text)
                )
                for p in parts:
                    a.units.append(_Unit(p, lexicon.stem(p), w.start, w.end, event.utterance))
            return True
        if isinstance(event, SpeechEnd):
            a.spans.append((event.t_start, event.t_end))
            return True
        if isinstance(event, FaceObservation):
            a.frames += 1
            a.present += event.present
            a.eye += event.present and event.eye_contact
            return a.frames % 10 == 0
        if isinstance(event, AffectObservation) and self.affect_allowed:
            a.valences.append(event.valence)
            return False
        return False

    # Matching

    def _phrase_hits(self, a: _Answer, phrase: str, by_stem: bool) -> list[Evidence]:
        unspaced = lexicon.is_unspaced(self.language)
        target = [ch for ch in phrase if not ch.isspace()] if unspaced else lexicon.tokens(phrase)
        if not target:
            return []
        key = [lexicon.stem(t) for t in target] if by_stem else target
        seq = [u.stem if by_stem else u.norm for u in a.units]
        hits = []
        n = len(key)
        i = 0
        while i + n <= len(seq):
            if seq[i : i + n] == key:
                span = a.units[i : i + n]
                text = ("" if unspaced else " ").join(u.norm for u in span)
                hits.append(Evidence("", text, span[0].start, span[-1].end, span[0].utterance))
                i += n
            else:
                i += 1
        return hits

    # Scores per answer

    def answer_scores(self, index: int) -> dict[str, Score]:
        if index not in self._cache and index in self.answers:
            self._cache[index] = self._answer_scores(index)
        return self._cache.get(index, {})

    def _answer_scores(self, index: int) -> dict[str, Score]:
        a = self.answers.get(index)
        if a is None:
            return {}
        q = self.rubric.questions[index] if index < len(self.rubric.questions) else None
        out: dict[str, Score] = {}
        speech_s = sum(e - s for s, e in a.spans)
        span_s = (a.spans[-1][1] - a.spans[0][0]) if a.spans else 0.0
        word_s = sum(max(0.1, u.end - u.start) for u in a.units) if a.units else 0.0

        fillers = [
            Evidence("filler", h.text, h.t_start, h.t_end, h.utterance)
            for f in lexicon.FILLERS.get(self.language, [])
            for h in self._phrase_hits(a, f.strip(", "), by_stem=False)
        ]
        per100 = 100 * len(fillers) / max(1, a.words)
        filler_score = max(0.0, 100 - 12 * per100)
        pause_share = max(0.0, 1 - speech_s / span_s) if span_s > 0 else 0.0
        pause_score = 100.0 if pause_share <= 0.25 else max(0.0, 100 - (pause_share - 0.25) * 200)

        if a.words:
            spoken_s = max(1.0, speech_s or word_s)
            wpm = a.words / spoken_s * 60
            rate = 100 * min(_linear(wpm, 60, 110), _linear(wpm, 220, 160))
            length = 100.0
            if q is not None:
                used = span_s / q.time_limit_s
                length = 100 * (
                    _linear(used, 0.05, 0.25)
                    if used < 0.25
                    else 1.0
                    if used <= 0.9
                    else max(0.5, 1 - (used - 0.9) * 5)
                )
            value = 0.35 * rate + 0.35 * filler_score + 0.15 * pause_score + 0.15 * length
            pace = Evidence(
                "pace",
                f"{a.words} words in {spoken_s:.1f} s ({wpm:.0f} wpm)",
                a.spans[0][0] if a.spans else a.t0,
                a.spans[-1][1] if a.spans else a.t0,
            )
            out["communication"] = Score(
                "communication",
                round(value, 1),
                round(min(1.0, a.words / 60), 2),
                (pace, *fillers[:20]),
                (
                    ("speaking_rate", round(rate, 1)),
                    ("fillers", round(filler_score, 1)),
                    ("pauses", round(pause_score, 1)),
                    ("length", round(length, 1)),
                ),
            )

            markers: dict[str, list[Evidence]] = {}
            for role, phrases in lexicon.STRUCTURE.get(self.language, {}).items():
                for p in phrases:
                    for h in self._phrase_hits(a, p, by_stem=False):
                        markers.setdefault(role, []).append(
                            Evidence(f"structure:{role}", h.text, h.t_start, h.t_end, h.utterance)
                        )
            star = sum(1 for r in lexicon.STAR if r in markers) / 4
            links = len(markers.get("reason", [])) + len(markers.get("sequence", []))
            structure = 60 * star + 40 * min(1.0, links / 3)
            out["logical_structure"] = Score(
                "logical_structure",
                round(structure, 1),
                round(min(1.0, a.words / 80), 2),
                tuple(e for role in markers for e in markers[role])[:30],
                (("star_parts", round(star * 4)), ("connectives", links)),
            )

            if q is not None and q.concepts:
                found, missing = [], []
                for c in q.concepts:
                    hits = [h for form in c.forms for h in self._phrase_hits(a, form, by_stem=True)]
                    if hits:
                        h = hits[0]
                        found.append(
                            Evidence(f"concept:{c.name}", h.text, h.t_start, h.t_end, h.utterance)
                        )
                    else:
                        missing.append(c.name)
                coverage = len(found) / len(q.concepts)
                out["job_knowledge"] = Score(
                    "job_knowledge",
                    round(100 * coverage, 1),
                    round(0.5 + 0.5 * min(1.0, a.words / 80), 2),
                    tuple(found),
                    (("covered", len(found)), ("expected", len(q.concepts))),
                )

            voice = 0.5 * filler_score + 0.5 * pause_score
            comps: list[tuple[str, float]] = [("voice", round(voice, 1))]
            if self.affect_allowed and a.valences:
                mood = 50 + 50 * sum(a.valences) / len(a.valences)
                voice = 0.7 * voice + 0.3 * mood
                comps.append(("affect", round(mood, 1)))
            out["composure"] = Score(
                "composure",
                round(voice, 1),
                round(min(1.0, speech_s / 20), 2),
                tuple(fillers[:10]),
                tuple(comps),
            )

        if a.frames:
            presence = a.present / a.frames
            eye = a.eye / a.present if a.present else 0.0
            out["engagement"] = Score(
                "engagement",
                round(100 * presence * eye, 1),
                round(min(1.0, a.frames / 50), 2),
                (
                    Evidence(
                        "face",
                        f"face present {presence:.0%}, eye contact {eye:.0%} of that",
                        a.t0,
                        a.spans[-1][1] if a.spans else a.t0,
                    ),
                ),
                (("presence", round(100 * presence, 1)), ("eye_contact", round(100 * eye, 1))),
            )
        return out

    def overall(self) -> tuple[dict[str, Score], float | None]:
        """Per competency over all answers (confidence-weighted) and the rubric-weighted total."""
        per: dict[str, list[Score]] = {}
        for index in sorted(self.answers):
            for name, s in self.answer_scores(index).items():
                per.setdefault(name, []).append(s)
        out = {}
        for name, scores in per.items():
            weight = sum(s.confidence for s in scores)
            value = sum(s.value * s.confidence for s in scores) / weight if weight else 0.0
            out[name] = Score(
                name,
                round(value, 1),
                round(min(1.0, weight / max(1, len(scores))), 2),
                tuple(e for s in scores for e in s.evidence[:5]),
            )
        weights = {k: w for k, w in self.rubric.weights.items() if k in out}
        total_w = sum(weights.values())
        total = (
            round(sum(out[k].value * w for k, w in weights.items()) / total_w, 1)
            if total_w
            else None
        )
        return out, total

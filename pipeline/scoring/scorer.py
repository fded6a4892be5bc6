"""Competency scores from pipeline events: a pure fold, no I/O, every score with evidence,
and no number without evidence.

Per answer (the events between one question and the next), each measure of the catalogue
(pipeline.scoring.catalogue) on 0-100 with a confidence in 0-1 that grows with the amount of
material it rests on. Below a measure's minimum evidence (catalogue `min_evidence`) the
answer's score has no value: status `insufficient_evidence` and what it needs.

- communication = 0.35 rate + 0.35 hesitations + 0.15 pauses + 0.15 length, where
  rate: English 100 inside 110-160 words per minute, falling linearly to 0 at 60 and 220;
  Chinese 100 inside 180-300 characters per minute, 0 at 90 and 400;
  hesitations: 100 - 12 per hesitation in 100 words (Chinese: per 170 characters), counting
  each filler ("um", "呃"...) as one and each silent pause of HESITATION_GAP_S or more
  between two words of one utterance as a half;
  pauses: 100 while silence between utterances is at most 25% of the answer, then -2 per
  point; length: 100 when the answer uses 25%-90% of its time limit, falling to 0 at 5% and
  to 50 at 100% and beyond. Confidence: words / 60.
- logical_structure = 60 x (STAR parts present / 4) + 40 x min(1, reason and sequence markers
  / 3). A part is present by its marker words, else by meaning (a window of the answer close
  to one of the part's prototype sentences, with a sentence-embedding model), so recognition
  errors ("another result") still count. Confidence: words / 80.
- job_knowledge = 100 x expected concepts covered / expected concepts, by stems or synonyms,
  else by meaning at a stricter similarity (CONCEPT_SIMILARITY). Needs a question with
  expected concepts. Confidence: 0.5 + 0.5 x words / 80.
- engagement = 100 x face-present ratio x eye-contact ratio (of frames with a face).
  Confidence: analysed frames / 50.
- composure = 0.5 hesitations + 0.5 pauses (voice steadiness); where the policy allows affect,
  0.7 of that + 0.3 x (50 + 50 x mean valence). Confidence: speech seconds / 20.

Transcripts that must not be scored are dropped with their reason, and the report flags them:
recognition loops ("4-4-4-4..."), echoes of the question or prompt, and answers whose detected
language is not the interview's (kept out of the language-dependent measures).

A competency's interview value is the confidence-weighted mean over the answers that have a
value. The overall score is the weighted mean of the requisition's competencies that have
values, and exists only when they hold at least MIN_OVERALL_COVERAGE of the weight the engine
can measure; otherwise it is incomplete and names what is missing. An interview without usable
speech has no scores at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.events import AffectObservation, Event, FaceObservation, SpeechEnd, Transcript
from pipeline.scoring import answer_checks, lexicon
from pipeline.scoring.catalogue import CATALOGUE, Measure
from pipeline.scoring.rubric import Rubric, RubricQuestion
from pipeline.scoring.semantic import Encoder, SemanticIndex
from pipeline.scoring.semantic import Unit as SemanticUnit

MIN_OVERALL_COVERAGE = 0.6  # of the measurable weight, for an overall score
HESITATION_GAP_S = 0.8  # a silence this long between two words of one utterance
FOREIGN_MIN_PROB = 0.7  # detected-language probability needed to call an answer foreign
ZH_CHARS_PER_WORD = 1.7
# A concept name is a word or two: against such short queries the sentence encoder rates
# windows that merely share a generic word high ("spent time at the" vs "delivery time":
# 0.69), so concepts need a closer match by meaning than the sentence-long structure
# prototypes (recognition variants such as "customer complains" reach 0.8 and more).
CONCEPT_SIMILARITY = 0.75
# Structure parts by meaning: on the ladder bench, short windows of off-topic or garbled
# answers reached 0.45-0.52 against the part prototypes ("i help to arrange" as a task),
# while recognition errors of real markers stay above 0.6 ("and a result the": 0.67).
STRUCTURE_SIMILARITY = 0.55


@dataclass(frozen=True)
class Evidence:
    kind: str  # "filler", "pause", "structure:result", "concept:budget", "pace", "face"...
    text: str
    t_start: float
    t_end: float
    utterance: int | None = None
    route: str | None = None  # "lexical" or "semantic" for matched phrases
    similarity: float | None = None
    matched: str | None = None  # the concept or prototype a semantic match was close to


@dataclass(frozen=True)
class Score:
    name: str
    value: float | None  # None: not enough evidence (see `needs`), or not measurable
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    components: tuple[tuple[str, float], ...] = ()
    status: str = "scored"  # scored, insufficient_evidence, interviewer_only
    needs: str | None = None


@dataclass(frozen=True)
class Dropped:
    """A final transcript kept out of scoring, and why."""

    reason: str  # repetition_loop, echo, wrong_language
    question: int
    utterance: int
    t_start: float
    t_end: float
    detail: str
    text: str


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
    gaps: list[Evidence] = field(default_factory=list)  # silent pauses inside utterances
    spans: list[tuple[float, float]] = field(default_factory=list)
    text: list[tuple[int, float, float, str]] = field(default_factory=list)  # finals
    frames: int = 0
    present: int = 0
    eye: int = 0
    valences: list[float] = field(default_factory=list)
    semantic: SemanticIndex | None = None


def _linear(x: float, zero: float, full: float) -> float:
    """0 at `zero`, 1 at `full`, clamped; works in either direction."""
    if full == zero:
        return 1.0
    return min(1.0, max(0.0, (x - zero) / (full - zero)))


def _route_evidence(kind: str, e: Evidence, route: str) -> Evidence:
    return Evidence(kind, e.text, e.t_start, e.t_end, e.utterance, route, e.similarity, e.matched)


class Scorer:
    def __init__(
        self,
        rubric: Rubric,
        affect_allowed: bool = False,
        encoder: Encoder | None = None,
    ) -> None:
        """`encoder`: the sentence-embedding model for matching by meaning; without it only
        the lexical route matches (and the evidence says so)."""
        self.rubric = rubric
        self.language = rubric.language
        self.unspaced = lexicon.is_unspaced(self.language)
        self.affect_allowed = affect_allowed
        self.encoder = encoder
        self.answers: dict[int, _Answer] = {}
        self.current: _Answer | None = None
        self.dropped: list[Dropped] = []
        # Scores of answers that did not change since they were computed: live updates then
        # cost one answer's work, not the whole interview's.
        self._cache: dict[int, dict[str, Score]] = {}

    def start_question(self, index: int, t: float) -> None:
        self.current = self.answers.setdefault(index, _Answer(index, t))

    def _question(self, index: int) -> RubricQuestion | None:
        qs = self.rubric.questions
        return qs[index] if index < len(qs) else None

    def fold(self, event: Event) -> bool:
        """Take one event; True when scores may have changed. A final transcript costs one
        encoding of its text windows when an encoder is set: call from a worker thread."""
        a = self.current
        if a is None:
            self.start_question(0, 0.0)
            a = self.current
            assert a is not None
        if isinstance(event, Transcript | SpeechEnd):
            self._cache.pop(a.index, None)  # the text measures change; engagement is live
        if isinstance(event, Transcript) and event.final:
            if (reason := self._unusable(a, event)) is not None:
                self.dropped.append(
                    Dropped(reason[0], a.index, event.utterance, event.t_start, event.t_end,
                            reason[1], event.text)
                )  # fmt: skip
                return True
            self._add_final(a, event)
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

    def _unusable(self, a: _Answer, event: Transcript) -> tuple[str, str] | None:
        """Why a final must not be scored (reason, detail), or None."""
        text = event.text.strip()
        if not text:
            return None
        if (loop := answer_checks.repetition_loop(text, self.language)) is not None:
            return "repetition_loop", loop
        q = self._question(a.index)
        prompts = [q.text] if q else []
        if prompts and answer_checks.is_echo(text, prompts, self.language):
            return "echo", "the transcript repeats the question"
        lang, prob = event.language, event.language_prob
        if lang and lang != self.language and (prob or 0.0) >= FOREIGN_MIN_PROB:
            return "wrong_language", f"detected {lang} ({prob:.0%}), interview in {self.language}"
        return None

    def _add_final(self, a: _Answer, event: Transcript) -> None:
        a.text.append((event.utterance, event.t_start, event.t_end, event.text))
        new: list[_Unit] = []
        prev_end: float | None = None
        for w in event.words:
            a.words += 1
            if prev_end is not None and w.start - prev_end >= HESITATION_GAP_S:
                a.gaps.append(
                    Evidence("pause", f"{w.start - prev_end:.1f} s silence", prev_end, w.start,
                             event.utterance)
                )  # fmt: skip
            prev_end = w.end
            parts = (
                [ch for ch in w.text if not ch.isspace() and ch.isalnum()]
                if self.unspaced
                else lexicon.tokens(w.text)
            )
            for p in parts:
                new.append(_Unit(p, lexicon.stem(p), w.start, w.end, event.utterance))
        a.units.extend(new)
        if self.encoder is not None and new:
            if a.semantic is None:
                a.semantic = SemanticIndex(self.encoder)
            a.semantic.add(
                [SemanticUnit(u.norm, u.start, u.end, u.utterance) for u in new], self.language
            )

    # Matching

    def _phrase_hits(self, a: _Answer, phrase: str, by_stem: bool) -> list[Evidence]:
        target = (
            [ch for ch in phrase if not ch.isspace()] if self.unspaced else lexicon.tokens(phrase)
        )
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
                text = ("" if self.unspaced else " ").join(u.norm for u in span)
                hits.append(Evidence("", text, span[0].start, span[-1].end, span[0].utterance,
                                     "lexical"))  # fmt: skip
                i += n
            else:
                i += 1
        return hits

    def _by_meaning(
        self, a: _Answer, kind: str, queries: list[str], min_similarity: float = 0.0
    ) -> Evidence | None:
        if a.semantic is None or not queries:
            return None
        top = a.semantic.top(queries)
        if top is None or top[1] < 0 or top[0].similarity < min_similarity:
            return None
        hit = top[0]
        return Evidence(kind, hit.text, hit.start, hit.end, hit.utterance, "semantic",
                        round(hit.similarity, 3), hit.query)  # fmt: skip

    # Scores per answer

    def answer_scores(self, index: int) -> dict[str, Score]:
        """Measure id -> score for one answer; every measure is present, with a value or
        with the evidence it still needs. The text measures are cached until the answer's
        text or speech changes (video frames only move engagement)."""
        a = self.answers.get(index)
        if a is None:
            return {}
        if index not in self._cache:
            self._cache[index] = self._answer_scores(index)
        return {**self._cache[index], "engagement": self._engagement(a)}

    def _size(self, a: _Answer) -> float:
        """The answer's length in English-word equivalents."""
        return len(a.units) / ZH_CHARS_PER_WORD if self.unspaced else float(a.words)

    def _needs(self, m: Measure, a: _Answer, speech_s: float, q: RubricQuestion | None) -> str:
        """What the answer lacks for `m` ("" when it has enough)."""
        me = m.min_evidence
        lacks = []
        if me.concepts and not (q and q.concepts):
            return "a question with expected concepts"
        if self.unspaced and len(a.units) < me.chars:
            lacks.append(f"{me.chars} characters (has {len(a.units)})")
        if not self.unspaced and a.words < me.words:
            lacks.append(f"{me.words} words (has {a.words})")
        if speech_s < me.speech_s:
            lacks.append(f"{me.speech_s:g} s of speech (has {speech_s:.1f})")
        if a.frames < me.frames:
            lacks.append(f"{me.frames} analysed video frames (has {a.frames})")
        return ", ".join(lacks)

    def _answer_scores(self, index: int) -> dict[str, Score]:
        a = self.answers[index]
        q = self._question(index)
        speech_s = self._speech_s(a)
        computed = self._measured(a, q, speech_s)
        out: dict[str, Score] = {}
        for m in CATALOGUE.values():
            if m.id != "engagement":
                out[m.id] = self._gate(m, a, speech_s, q, computed.get(m.id))
        return out

    @staticmethod
    def _speech_s(a: _Answer) -> float:
        return sum(e - s for s, e in a.spans)

    def _gate(
        self, m: Measure, a: _Answer, speech_s: float, q: RubricQuestion | None, s: Score | None
    ) -> Score:
        """`s` when the answer has the measure's minimum evidence, else an abstention."""
        needs = self._needs(m, a, speech_s, q)
        if needs or s is None:
            return Score(m.id, None, 0.0, status="insufficient_evidence",
                         needs=needs or "usable speech")  # fmt: skip
        return s

    def _measured(self, a: _Answer, q: RubricQuestion | None, speech_s: float) -> dict[str, Score]:
        out: dict[str, Score] = {}
        span_s = (a.spans[-1][1] - a.spans[0][0]) if a.spans else 0.0
        word_s = sum(max(0.1, u.end - u.start) for u in a.units) if a.units else 0.0
        size = self._size(a)

        sounds = lexicon.FILLER_SOUNDS.get(self.language)
        listed = set(lexicon.FILLERS.get(self.language, []))
        fillers = [
            Evidence("filler", h.text, h.t_start, h.t_end, h.utterance, "lexical")
            for f in listed
            for h in self._phrase_hits(a, f.strip(", "), by_stem=False)
        ] + [
            Evidence("filler", u.norm, u.start, u.end, u.utterance, "lexical")
            for u in a.units
            if sounds is not None and u.norm not in listed and sounds.match(u.norm)
        ]
        fillers.sort(key=lambda e: e.t_start)
        per100 = 100 * (len(fillers) + 0.5 * len(a.gaps)) / max(1.0, size)
        hesitation_score = max(0.0, 100 - 12 * per100)
        pause_share = max(0.0, 1 - speech_s / span_s) if span_s > 0 else 0.0
        pause_score = 100.0 if pause_share <= 0.25 else max(0.0, 100 - (pause_share - 0.25) * 200)
        hesitations = sorted([*fillers, *a.gaps], key=lambda e: e.t_start)

        if a.units:
            spoken_s = max(1.0, speech_s or word_s)
            if self.unspaced:
                per_min = len(a.units) / spoken_s * 60
                rate = 100 * min(_linear(per_min, 90, 180), _linear(per_min, 400, 300))
                pace_text = f"{len(a.units)} characters in {spoken_s:.1f} s ({per_min:.0f}/min)"
            else:
                per_min = a.words / spoken_s * 60
                rate = 100 * min(_linear(per_min, 60, 110), _linear(per_min, 220, 160))
                pace_text = f"{a.words} words in {spoken_s:.1f} s ({per_min:.0f} wpm)"
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
            value = 0.35 * rate + 0.35 * hesitation_score + 0.15 * pause_score + 0.15 * length
            pace = Evidence(
                "pace",
                pace_text,
                a.spans[0][0] if a.spans else a.t0,
                a.spans[-1][1] if a.spans else a.t0,
            )
            out["communication"] = Score(
                "communication",
                round(value, 1),
                round(min(1.0, size / 60), 2),
                (pace, *hesitations[:20]),
                (
                    ("speaking_rate", round(rate, 1)),
                    ("hesitations", round(hesitation_score, 1)),
                    ("pauses", round(pause_score, 1)),
                    ("length", round(length, 1)),
                ),
            )
            out["logical_structure"] = self._structure(a, size)
            if q is not None and q.concepts:
                out["job_knowledge"] = self._knowledge(a, q, size)

            voice = 0.5 * hesitation_score + 0.5 * pause_score
            comps: list[tuple[str, float]] = [("voice", round(voice, 1))]
            if self.affect_allowed and a.valences:
                mood = 50 + 50 * sum(a.valences) / len(a.valences)
                voice = 0.7 * voice + 0.3 * mood
                comps.append(("affect", round(mood, 1)))
            out["composure"] = Score(
                "composure",
                round(voice, 1),
                round(min(1.0, speech_s / 20), 2),
                tuple(hesitations[:10]),
                tuple(comps),
            )

        return out

    def _engagement(self, a: _Answer) -> Score:
        m = CATALOGUE["engagement"]
        speech_s = self._speech_s(a)
        if not a.frames:
            return self._gate(m, a, speech_s, None, None)
        presence = a.present / a.frames
        eye = a.eye / a.present if a.present else 0.0
        s = Score(
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
        return self._gate(m, a, speech_s, None, s)

    def _structure(self, a: _Answer, size: float) -> Score:
        markers: dict[str, list[Evidence]] = {}
        for role, phrases in lexicon.STRUCTURE.get(self.language, {}).items():
            for p in phrases:
                for h in self._phrase_hits(a, p, by_stem=False):
                    markers.setdefault(role, []).append(
                        _route_evidence(f"structure:{role}", h, "lexical")
                    )
        # Parts the marker words missed, by meaning: a recognition error ("another result")
        # or a paraphrase ("what came out of it was...") still shows the part.
        for role, prototypes in lexicon.STRUCTURE_PROTOTYPES.get(self.language, {}).items():
            kind = f"structure:{role}"
            if role not in markers and (
                hit := self._by_meaning(a, kind, list(prototypes), STRUCTURE_SIMILARITY)
            ):
                markers[role] = [hit]
        star = sum(1 for r in lexicon.STAR if r in markers) / 4
        links = len(markers.get("reason", [])) + len(markers.get("sequence", []))
        return Score(
            "logical_structure",
            round(60 * star + 40 * min(1.0, links / 3), 1),
            round(min(1.0, size / 80), 2),
            tuple(e for role in markers for e in markers[role])[:30],
            (("star_parts", round(star * 4)), ("connectives", links)),
        )

    def _knowledge(self, a: _Answer, q: RubricQuestion, size: float) -> Score:
        found: list[Evidence] = []
        for c in q.concepts:
            kind = f"concept:{c.name}"
            hits = [h for form in c.forms for h in self._phrase_hits(a, form, by_stem=True)]
            if hits:
                found.append(_route_evidence(kind, hits[0], "lexical"))
            elif (hit := self._by_meaning(a, kind, list(c.forms), CONCEPT_SIMILARITY)) is not None:
                found.append(hit)
        return Score(
            "job_knowledge",
            round(100 * len(found) / len(q.concepts), 1),
            round(0.5 + 0.5 * min(1.0, size / 80), 2),
            tuple(found),
            (("covered", len(found)), ("expected", len(q.concepts))),
        )

    # The interview

    def usable_speech(self) -> bool:
        """Whether any answer has transcribed words that were kept for scoring."""
        return any(a.units for a in self.answers.values())

    def competency_scores(self) -> dict[str, Score]:
        """Requisition competency key -> its interview score (confidence-weighted over the
        answers with a value), then measures the requisition does not name (by measure id).
        Without usable speech nothing has a value."""
        speech = self.usable_speech()
        per: dict[str, list[Score]] = {m: [] for m in CATALOGUE}
        needs: dict[str, str] = {}
        for index in sorted(self.answers):
            for m, s in self.answer_scores(index).items():
                if s.value is not None:
                    per[m].append(s)
                elif s.needs:
                    needs[m] = s.needs
        by_measure: dict[str, Score] = {}
        for m, scores in per.items():
            weight = sum(s.confidence for s in scores)
            if not speech or not scores or not weight:
                why = "usable speech" if not speech else needs.get(m, "an answer")
                need = f"per answer: {CATALOGUE[m].min_evidence.describe(self.language)}"
                by_measure[m] = Score(m, None, 0.0, status="insufficient_evidence",
                                      needs=f"{why} ({need})")  # fmt: skip
                continue
            by_measure[m] = Score(
                m,
                round(sum(s.value * s.confidence for s in scores if s.value is not None) / weight,
                      1),
                round(min(1.0, weight / max(1, len(scores))), 2),
                tuple(e for s in scores for e in s.evidence[:5]),
            )  # fmt: skip
        out: dict[str, Score] = {}
        for c in self.rubric.competencies:
            if c.measure is None:
                out[c.key] = Score(c.key, None, 0.0, status="interviewer_only")
            else:
                s = by_measure[c.measure]
                out[c.key] = Score(c.key, s.value, s.confidence, s.evidence, s.components,
                                   s.status, s.needs)  # fmt: skip
        named = {c.measure for c in self.rubric.competencies}
        for m, s in by_measure.items():
            if m not in named and m not in out:
                out[m] = s
        return out

    def overall(self) -> tuple[dict[str, Score], float | None, float, list[str]]:
        """(competency scores, overall or None, coverage, competencies without a value).
        Coverage is the share of the measurable weight with values; below
        MIN_OVERALL_COVERAGE there is no overall."""
        scores = self.competency_scores()
        measurable = [c for c in self.rubric.competencies if c.measure is not None]
        have = [c for c in measurable if scores[c.key].value is not None]
        total_w = sum(c.weight for c in measurable)
        have_w = sum(c.weight for c in have)
        coverage = round(have_w / total_w, 3) if total_w else 0.0
        missing = [c.key for c in measurable if scores[c.key].value is None]
        total = None
        if have_w and coverage >= MIN_OVERALL_COVERAGE:
            total = round(sum((scores[c.key].value or 0.0) * c.weight for c in have) / have_w, 1)
        return scores, total, coverage, missing

"""Score a recorded interview offline: the same Scorer, facts and report as a live session.

pipeline.analyze runs the live stages over a file and hands over every event; here they are
put in media-time order (audio finals arrive later than the video frames of the same moment)
and folded with the questions starting at the given times. A changed rubric can so be tried
on recorded interviews, and scoring changes regression-tested on a fixed set of recordings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.events import Event, SpeechEnd, Transcript
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.report_model import Report
from pipeline.scoring.rubric import Rubric
from pipeline.scoring.scorer import Scorer
from pipeline.scoring.semantic import Encoder


@dataclass(frozen=True)
class AnswerStart:
    index: int  # the rubric's question
    start: float  # media time (s) the question was asked


def parse_answers(data: Any) -> list[AnswerStart]:
    """Question start times from JSON: a list of seconds (question i at the i-th time), or of
    {"index", "start"} objects. Raises ValueError saying what is wrong."""
    if not isinstance(data, list):
        raise ValueError("answers: a JSON list of start times or of {index, start} objects")
    out = []
    for i, item in enumerate(data):
        if isinstance(item, int | float) and not isinstance(item, bool):
            out.append(AnswerStart(i, float(item)))
        elif isinstance(item, Mapping) and isinstance(item.get("start"), int | float):
            index = item.get("index", i)
            if not isinstance(index, int) or index < 0:
                raise ValueError(f"answers[{i}]: index must be a whole number >= 0")
            out.append(AnswerStart(index, float(item["start"])))
        else:
            raise ValueError(f"answers[{i}]: a number of seconds or {{index, start}}")
    if any(a.start < 0 for a in out):
        raise ValueError("answers: start times must not be negative")
    return sorted(out, key=lambda a: a.start)


def event_time(event: Event) -> float:
    """When an event happened in the media (its start, for spans)."""
    if isinstance(event, Transcript | SpeechEnd):
        return event.t_start
    t = getattr(event, "t", 0.0)
    return float(t) if isinstance(t, int | float) else 0.0


def score_events(
    events: Iterable[Event],
    rubric: Rubric,
    answers: Sequence[AnswerStart],
    interview: dict[str, Any],
    models: dict[str, str],
    affect_allowed: bool = False,
    encoder: Encoder | None = None,
) -> Report:
    """The report a live interview with these events and question times would get.
    Blocking (matching by meaning encodes text): run it off the event loop."""
    scorer = Scorer(rubric, affect_allowed=affect_allowed, encoder=encoder)
    facts = SessionFacts()
    pending = list(answers) or [AnswerStart(0, 0.0)]
    last_t = 0.0
    for event in sorted(events, key=event_time):  # stable: same-time events keep their order
        t = event_time(event)
        while pending and pending[0].start <= t:
            a = pending.pop(0)
            scorer.start_question(a.index, a.start)
            facts.questions_asked.append((a.index, a.start))
        facts.note(event)
        scorer.fold(event)
        last_t = max(last_t, t)
    for a in pending:  # questions asked after the last event: unanswered
        scorer.start_question(a.index, a.start)
        facts.questions_asked.append((a.index, a.start))
    facts.close(last_t)
    return build_report(interview, scorer, facts, models)

"""Rebuild what can be rebuilt of a lost session from its live history (the records the
session published: questions, speech, final captions with word times).

Used when a server stopped while an interview was live: the report is then made from the
stored history instead of being lost or silently empty. Face and affect records are thinned
on the live view, so the rebuilt report carries speech and transcript evidence only, and
says so in its flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.events import MediaGap, SpeechEnd, TimedWord, Transcript
from pipeline.scoring.report import SessionFacts
from pipeline.scoring.scorer import Scorer


def replay(records: Iterable[Mapping[str, Any]], scorer: Scorer, facts: SessionFacts) -> int:
    """Fold the history's questions, speech spans and final transcripts into `scorer` and
    `facts`; returns how many final transcripts it found."""
    starts: dict[int, float] = {}
    finals = 0
    for r in records:
        kind = r.get("type")
        if kind == "question" and isinstance(r.get("t"), int | float):
            index, t = int(r["index"]), float(r["t"])
            facts.questions_asked.append((index, t))
            scorer.start_question(index, t)
        elif kind == "gap" and isinstance(r.get("t"), int | float):
            facts.note(
                MediaGap(float(r["t"]), float(r.get("duration_s") or 0.0), str(r.get("reason")))
            )
        elif kind == "speech" and r.get("state") == "start":
            starts[int(r["utterance"])] = float(r["t"])
        elif kind == "speech" and r.get("state") == "end":
            u, t_end = int(r["utterance"]), float(r["t"])
            scorer.fold(SpeechEnd(u, starts.pop(u, t_end), t_end))
        elif kind == "caption" and r.get("final"):
            # [start, end, text] or, since word probabilities are published, [.., prob]
            words = tuple(
                TimedWord(float(w[0]), float(w[1]), str(w[2]), _probability(w[3:]))
                for w in r["words"]
            )
            text = str(r["text"])
            scorer.fold(
                Transcript(
                    int(r["utterance"]),
                    True,
                    float(r["t_start"]),
                    float(r["t_end"]),
                    text,
                    text,
                    words,
                    float(r.get("confidence") or 0.0),
                    language=r.get("language") if isinstance(r.get("language"), str) else None,
                    language_prob=(
                        float(r["language_prob"])
                        if isinstance(r.get("language_prob"), int | float)
                        else None
                    ),
                )
            )
            finals += 1
    return finals


def _probability(rest: list[Any]) -> float:
    return float(rest[0]) if rest and isinstance(rest[0], int | float) else 1.0

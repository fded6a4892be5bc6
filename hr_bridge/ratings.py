"""Interviewers' ratings: each interviewer rates each competency of the requisition 1-5 on its
anchored scale (hr_bridge.anchors), with a note, while the interview is live or interrupted or
after it finished. A rating is one row per interview, rater and competency, replaced when the
rater changes it; every change is audited and emitted (`interview.rated`, facts only, never
the note) in the transaction that makes it. Blocking: call from a worker thread.

A rater is an interviewer link: the stable id is a hash of the token's id (tokens carry no
person), labelled "Interviewer 1", "Interviewer 2"... in the order they first rated.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from hr_bridge import audit
from hr_bridge.anchors import Anchors, anchors_for
from hr_bridge.events import emit
from hr_bridge.interviews import Conflict, Interview, InterviewState, Requisition
from hr_bridge.models import Rating, lock_row, utcnow
from pipeline.scoring.catalogue import CATALOGUE, normalise
from pipeline.scoring.rubric import DEFAULT_COMPETENCIES, RubricCompetency, competencies_from

RATED = "interview.rated"
RATABLE = frozenset({InterviewState.LIVE, InterviewState.INTERRUPTED, InterviewState.FINISHED})
SCORES = range(1, 6)
MAX_NOTE = 2000


class UnknownCompetency(ValueError):
    """The requisition has no competency of that name (HTTP 400)."""


def rater_id(interview_id: str, token_id: str) -> str:
    """The stable id of an interviewer link: its token id hashed with the interview, so the
    store never holds a token part that a signed token would carry."""
    return hashlib.sha256(f"{interview_id}:{token_id}".encode()).hexdigest()[:32]


def competencies(req: Requisition) -> tuple[RubricCompetency, ...]:
    """The requisition's competencies as the rubric reads them (the default five if none)."""
    return competencies_from(req.competencies or list(DEFAULT_COMPETENCIES))


def label_in(c: RubricCompetency, language: str) -> str:
    """The competency's name for people: a catalogue measure named by one of its own names
    (or its id) shows the measure's name in `language`; a requisition's own name stays as
    written."""
    if c.measure is not None:
        m = CATALOGUE[c.measure]
        if c.key in {normalise(n) for n in (m.id, *m.names.values())}:
            return m.name(language)
    return c.label


@dataclass(frozen=True)
class ScaleItem:
    """One competency on an interviewer's scorecard."""

    key: str
    label: str
    measure: str | None  # None: rated by interviewers only
    anchors: Anchors


def scale(req: Requisition) -> list[ScaleItem]:
    """The competencies to rate, labelled and anchored in the interview's language."""
    return [
        ScaleItem(c.key, label_in(c, req.language), c.measure,
                  anchors_for(c.measure, req.language, c.anchors))
        for c in competencies(req)
    ]  # fmt: skip


def _label_for(session: Session, interview_id: str, rater: str) -> str:
    stmt = select(Rating.rater, Rating.rater_label).where(Rating.interview_id == interview_id)
    labels = dict(session.exec(stmt.distinct()).all())
    return labels.get(rater) or f"Interviewer {len(labels) + 1}"


def rate(
    session: Session,
    interview_id: str,
    rater: str,
    competency: str,
    score: int,
    note: str = "",
    actor: str | None = None,
) -> Rating:
    """Record or replace `rater`'s rating of `competency`, with its audit entry and event, in
    the caller's transaction (the commit is the caller's). Raises KeyError for an unknown
    interview, Conflict when it cannot be rated (not yet live, abandoned, synthetic), and
    ValueError (UnknownCompetency) for a competency the requisition does not have, a score
    outside 1-5 or a note over 2,000 characters."""
    if score not in SCORES:
        raise ValueError("score: a rating is 1 to 5")
    if len(note) > MAX_NOTE:
        raise ValueError(f"note: at most {MAX_NOTE} characters")
    # Serialises raters of one interview: labels are numbered without gaps or duplicates.
    lock_row(session, Interview, interview_id, "candidate_name")
    iv = session.get(Interview, interview_id)
    if iv is None:
        raise KeyError(interview_id)
    if iv.state not in RATABLE:
        raise Conflict(f"interview is {iv.state}; ratings start when it is live")
    req = session.get(Requisition, iv.requisition_id)
    assert req is not None  # a foreign key
    if req.synthetic:
        raise Conflict("synthetic interviews (demo data) are not rated")
    key = normalise(competency)
    known = [c.key for c in competencies(req)]
    if key not in known:
        raise UnknownCompetency(
            f"competency {competency!r} is not one of this requisition's: {', '.join(known)}"
        )
    row = session.exec(
        select(Rating).where(
            Rating.interview_id == interview_id, Rating.rater == rater, Rating.competency == key
        )
    ).first()
    previous = None if row is None else row.score
    if row is None:
        label = _label_for(session, interview_id, rater)
        row = Rating(interview_id=interview_id, rater=rater, rater_label=label, competency=key,
                     score=score, note=note)  # fmt: skip
    else:
        row.score, row.note, row.updated_at = score, note, utcnow()
    session.add(row)
    subject = f"interview:{interview_id}"
    # Facts only: the note is free text about a person and stays in the rating row.
    facts = {"competency": key, "score": score, "rater": row.rater_label}
    who = actor or f"interviewer:{rater[:12]}"  # a person's name when known, else the link
    audit.add(session, who, "rating.recorded", subject, previous=previous, **facts)
    emit(session, RATED, subject, {"interview_id": interview_id, **facts})
    return row


def record(
    engine: Engine,
    interview_id: str,
    rater: str,
    competency: str,
    score: int,
    note: str = "",
    actor: str | None = None,
) -> Rating:
    """rate() in a transaction of its own."""
    with Session(engine) as s:
        row = rate(s, interview_id, rater, competency, score, note, actor)
        s.commit()
        s.refresh(row)
        return row


def ratings_for(session: Session, interview_id: str, rater: str | None = None) -> list[Rating]:
    """An interview's ratings (only `rater`'s when given), by rater label then competency."""
    stmt = select(Rating).where(Rating.interview_id == interview_id)
    if rater is not None:
        stmt = stmt.where(Rating.rater == rater)
    return list(session.exec(stmt.order_by(col(Rating.rater_label), col(Rating.competency))))


def mean_by_competency(session: Session, interview_id: str) -> dict[str, float]:
    """Competency -> the mean rating over the raters who rated it."""
    stmt = (
        select(Rating.competency, func.avg(Rating.score))
        .where(Rating.interview_id == interview_id)
        .group_by(col(Rating.competency))
    )
    return {competency: float(mean) for competency, mean in session.exec(stmt)}


def read(engine: Engine, interview_id: str, rater: str | None = None) -> list[Rating]:
    with Session(engine) as s:
        return ratings_for(s, interview_id, rater)


def summary(rows: Iterable[Rating]) -> dict[str, dict[str, Any]]:
    """Per competency: the mean over raters, how many rated it, and each rating with its note
    (what the report shows beside the AI score)."""
    by: dict[str, list[Rating]] = defaultdict(list)
    for r in rows:
        by[r.competency].append(r)
    return {
        key: {
            "mean": round(sum(r.score for r in rs) / len(rs), 2),
            "n": len(rs),
            "ratings": [view(r) for r in rs],
        }
        for key, rs in by.items()
    }


def view(r: Rating) -> dict[str, Any]:
    return {
        "rater": r.rater_label,
        "competency": r.competency,
        "score": r.score,
        "note": r.note,
        "updated_at": r.updated_at.isoformat(timespec="seconds"),
    }

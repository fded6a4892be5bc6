"""The interview's states and the only place they change (blocking: call from a worker thread).

    scheduled --consent--> consented --media--> live --finish/hang-up--> finished
        |                      |                  |
        |                      |                  +--server lost it--> interrupted
        |                      |                                          |
        +----------------------+--(finish before any media)--> finished  +--resume--> live
        +----------------------+--(invite expired)-----------> abandoned +--finalize--> finished

`interrupted` means the candidate's media was lost and the interview may resume: a dropped
connection (the server keeps the session for `rejoin_grace_s`; the same invite link rejoins
it, `interview.resumed`) or a server restart while live (the session is lost). One that does
not resume is finished, its report flagged `interrupted`: from the kept session, or rebuilt
from the stored history after a restart. Every change is row-locked and audited in the same
transaction, so the trail never disagrees with the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hr_bridge import audit
from hr_bridge.interviews import Conflict, Interview, InterviewState

S = InterviewState

# to-state -> the states it may be entered from
ALLOWED_FROM: Mapping[InterviewState, frozenset[InterviewState]] = {
    S.CONSENTED: frozenset({S.SCHEDULED}),
    S.LIVE: frozenset({S.CONSENTED, S.INTERRUPTED}),
    S.INTERRUPTED: frozenset({S.LIVE}),
    S.FINISHED: frozenset({S.SCHEDULED, S.CONSENTED, S.LIVE, S.INTERRUPTED}),
    S.ABANDONED: frozenset({S.SCHEDULED, S.CONSENTED, S.INTERRUPTED}),
}


def move(
    engine: Engine,
    iid: str,
    to: InterviewState,
    *,
    actor: str,
    action: str,
    only_from: frozenset[InterviewState] | None = None,
    detail: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Interview:
    """Move interview `iid` to state `to` and audit it, in one transaction.

    `only_from` narrows the allowed origins (e.g. the media hang-up finishes only a live
    interview). Raises KeyError for an unknown interview and Conflict, naming the states,
    when the move is not allowed from where the interview is."""
    allowed = ALLOWED_FROM[to] if only_from is None else ALLOWED_FROM[to] & only_from
    with Session(engine) as s:
        iv = s.exec(select(Interview).where(Interview.id == iid).with_for_update()).first()
        if iv is None:
            raise KeyError(iid)
        if iv.state not in allowed:
            raise Conflict(
                f"interview is {iv.state}; this needs it to be {' or '.join(sorted(allowed))}"
            )
        before = iv.state
        iv.state = to
        for k, v in fields.items():
            setattr(iv, k, v)
        s.add(iv)
        audit.add(s, actor, action, f"interview:{iid}", **{"from": before, **(detail or {})})
        s.commit()
        s.refresh(iv)
        return iv


def in_state(engine: Engine, state: InterviewState) -> list[Interview]:
    with Session(engine) as s:
        stmt = select(Interview).where(Interview.state == state)
        return list(s.exec(stmt.order_by(col(Interview.created_at))))


def waiting_since_before(engine: Engine, before: datetime) -> list[str]:
    """Interviews still waiting for the candidate (scheduled or consented, no media yet) that
    were created before `before`: their invite has expired."""
    with Session(engine) as s:
        stmt = select(Interview.id).where(
            col(Interview.state).in_([S.SCHEDULED, S.CONSENTED]),
            col(Interview.created_at) < before,
        )
        return list(s.exec(stmt))

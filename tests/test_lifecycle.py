"""The interview lifecycle: one audited transition, recovery after a crash, reports that
survive a database outage, invites that expire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine
from sqlmodel import Session

from hr_bridge import audit, lifecycle
from hr_bridge import interviews as db
from hr_bridge.db import make_engine
from hr_bridge.interviews import Conflict, InterviewState
from integrations.adapters import LocalStoreAdapter
from pipeline.score_store import keys, pack
from server.interview_service import InterviewService, SharedModels
from server.settings import Settings

S = InterviewState
ANSWER = "In my last role I led the team and as a result we closed the largest deal"


@pytest.fixture
async def redis_client(external_redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(external_redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def live_interview(engine: Engine) -> str:
    req = db.create_requisition(
        engine,
        title="Account executive",
        competencies=["communication", "logical_structure"],
        questions=[{"text": "Tell me about a deal you closed.", "time_limit_s": 120}],
    )
    iid = db.create_interview(engine, requisition_id=req.id, candidate_name="Mei Lin").id
    lifecycle.move(engine, iid, S.CONSENTED, actor="candidate", action="consent.given")
    lifecycle.move(engine, iid, S.LIVE, actor="candidate", action="interview.live")
    return iid


def history(iid: str) -> list[dict[str, Any]]:
    """What a live session publishes for one answer: question, speech, final caption."""
    words = [[1.0 + 0.4 * i, 1.3 + 0.4 * i, w] for i, w in enumerate(ANSWER.split())]
    end = words[-1][1]
    return [
        {"type": "question", "index": 0, "text": "Tell me about a deal you closed.", "t": 0.5},
        {"type": "speech", "state": "start", "utterance": 1, "t": 1.0},
        {"type": "speech", "state": "end", "utterance": 1, "t": end},
        {
            "type": "caption",
            "final": True,
            "utterance": 1,
            "segment": 0,
            "text": ANSWER,
            "stable": ANSWER,
            "t_start": 1.0,
            "t_end": end,
            "confidence": 0.9,
            "words": words,
        },
    ]


def service(
    settings: Settings,
    engine: Engine,
    client: aioredis.Redis,
    shared: SharedModels,
    adapter: Any = None,
) -> InterviewService:
    return InterviewService(settings, engine, client, shared, adapter)


def test_transitions_are_checked_and_audited_with_the_change(engine: Engine) -> None:
    iid = live_interview(engine)
    with pytest.raises(Conflict, match="interview is live; this needs it to be scheduled"):
        lifecycle.move(engine, iid, S.CONSENTED, actor="candidate", action="consent.given")
    with pytest.raises(Conflict):  # only a lost session is interrupted, never a finished one
        lifecycle.move(engine, iid, S.ABANDONED, actor="system", action="x")
    iv = lifecycle.move(engine, iid, S.INTERRUPTED, actor="system", action="interview.interrupted")
    assert iv.state == S.INTERRUPTED
    trail = [(e.action, e.detail.get("from")) for e in audit.events_for(engine, f"interview:{iid}")]
    assert trail == [
        ("consent.given", "scheduled"),
        ("interview.live", "consented"),
        ("interview.interrupted", "live"),
    ]
    with pytest.raises(KeyError):
        lifecycle.move(engine, "nope", S.FINISHED, actor="system", action="x")


async def test_a_crash_leaves_no_interview_live_and_its_report_is_rebuilt(
    engine: Engine,
    redis_client: aioredis.Redis,
    make_settings: Callable[..., Settings],
    shared_models: SharedModels,
) -> None:
    iid = live_interview(engine)
    lost = live_interview(engine)  # its live history is gone too (embedded Redis died with it)
    events_key = keys(iid)["events"]
    for record in history(iid):
        await redis_client.xadd(events_key, {"r": pack(record)})
    settings = make_settings(interrupted_finalize_after_s=3600)
    svc = service(settings, engine, redis_client, shared_models)
    try:
        recovery = await svc.recover()
        assert sorted(recovery.interrupted) == sorted([iid, lost])
        assert db.get_interview(engine, iid).state == S.INTERRUPTED  # type: ignore[union-attr]
        await svc.sweep()  # inside the resume window: still resumable, no report yet
        assert db.get_report(engine, iid) is None
        # Finalized once both the resume window and the rejoin grace period have passed.
        svc.settings = make_settings(interrupted_finalize_after_s=0.001, rejoin_grace_s=3600)
        await svc.sweep()
        assert db.get_report(engine, iid) is None
        svc.settings = make_settings(interrupted_finalize_after_s=0.001, rejoin_grace_s=0.001)
        await svc.sweep()
    finally:
        await redis_client.delete(events_key)
        await svc.aclose()
    for i in (iid, lost):
        assert db.get_interview(engine, i).state == S.FINISHED  # type: ignore[union-attr]
    row = db.get_report(engine, iid)
    assert row is not None
    (flag,) = [f for f in row.body["flags"] if f["flag"] == "interrupted"]
    assert "rebuilt from the stored live history: 1 final transcripts" in flag["detail"]
    (question,) = row.body["questions"]
    assert question["transcript"][0]["text"] == ANSWER
    assert question["scores"]  # scored from the replayed words, not empty
    empty = db.get_report(engine, lost)
    assert empty is not None
    (flag,) = [f for f in empty.body["flags"] if f["flag"] == "interrupted"]
    assert "live history was not available" in flag["detail"]
    assert any(f["flag"] == "no_speech" for f in empty.body["flags"])


async def test_a_report_waits_in_the_spool_while_the_database_is_down(
    engine: Engine,
    redis_client: aioredis.Redis,
    make_settings: Callable[..., Settings],
    shared_models: SharedModels,
) -> None:
    iid = live_interview(engine)
    lifecycle.move(engine, iid, S.INTERRUPTED, actor="system", action="interview.interrupted")
    settings = make_settings()
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    svc = service(settings, engine, redis_client, shared_models, LocalStoreAdapter(down))
    key = keys(iid)["events"]
    for record in history(iid):
        await redis_client.xadd(key, {"r": pack(record)})
    try:
        await svc.finalize_interrupted(iid, "test")
        spooled = list((settings.data_dir / "spool").glob("report-*.json"))
        assert [p.name for p in spooled] == [f"report-{iid}.json"]
        assert spooled[0].stat().st_mode & 0o777 == 0o600  # it holds a transcript
        assert db.get_report(engine, iid) is None
        svc.adapter = LocalStoreAdapter(engine)  # the database is back
        await svc.sweep()
    finally:
        await redis_client.delete(key)
        await svc.aclose()
        down.dispose()
    row = db.get_report(engine, iid)
    assert row is not None and row.body["questions"][0]["transcript"][0]["text"] == ANSWER
    assert list((settings.data_dir / "spool").glob("report-*.json")) == []


async def test_an_interview_whose_invite_expired_is_abandoned(
    engine: Engine,
    redis_client: aioredis.Redis,
    make_settings: Callable[..., Settings],
    shared_models: SharedModels,
) -> None:
    req = db.create_requisition(engine, title="Support", questions=[{"text": "Why?"}])
    old, fresh = (
        db.create_interview(engine, requisition_id=req.id, candidate_name=n).id
        for n in ("Old", "Fresh")
    )
    lifecycle.move(engine, old, S.CONSENTED, actor="candidate", action="consent.given")
    with Session(engine) as s:  # created 8 days ago: its 7-day invite has expired
        row = s.get(db.Interview, old)
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(days=8)
        s.add(row)
        s.commit()
    svc = service(make_settings(invite_ttl_s=7 * 24 * 3600), engine, redis_client, shared_models)
    try:
        await svc.sweep()
    finally:
        await svc.aclose()
    assert db.get_interview(engine, old).state == S.ABANDONED  # type: ignore[union-attr]
    assert db.get_interview(engine, fresh).state == S.SCHEDULED  # type: ignore[union-attr]
    (entry,) = [
        e for e in audit.events_for(engine, f"interview:{old}") if e.action.endswith("abandoned")
    ]
    assert entry.detail == {
        "from": "consented",
        "reason": "the invite expired before the interview took place",
    }
    assert db.get_report(engine, old) is None  # nothing was analysed: nothing to report

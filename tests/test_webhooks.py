"""Report delivery to an outside HR system that fails, times out, recovers and restarts."""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import Engine
from sqlmodel import Session

from hr_bridge import interviews as db
from hr_bridge import outbox
from hr_bridge.events import PayloadFormat, Subscriber, emit, sync_subscriptions
from integrations.exports import frappe_interview_feedback, hr_xml_assessment
from integrations.webhooks import WebhookWorker, formatted, sign
from pipeline.events import FaceObservation, SpeechEnd, TimedWord, Transcript
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.report_model import Flag, Report, load_report
from pipeline.scoring.rubric import rubric_from_dict
from pipeline.scoring.scorer import Scorer
from server.resources import webhook_config
from server.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"test-secret-0123456789-abcdefghij").decode()


def make_report(iid: str) -> Report:
    rubric = rubric_from_dict(
        {
            "competencies": ["communication", "engagement"],
            "questions": [{"text": "Why this role?", "concepts": ["team"]}],
        }
    )
    s = Scorer(rubric)
    s.start_question(0, 0.0)
    text = (
        "First I joined the team because I like support and as a result we grew, and later "
        "I helped the new people learn the tools so that they could answer customers alone"
    )
    words = tuple(
        TimedWord(1 + i * 0.3, 1.25 + i * 0.3, w, 0.9) for i, w in enumerate(text.split())
    )
    s.fold(SpeechEnd(1, 1.0, words[-1].end))
    s.fold(Transcript(1, True, 1.0, words[-1].end, text, text, words, 0.9))
    for i in range(40):
        s.fold(FaceObservation(i / 10, faces=1, eye_contact=True))
    return build_report({"id": iid, "candidate_name": "Ada"}, s, SessionFacts(), {"m": "v"})


def interview(engine: Engine) -> str:
    req = db.create_requisition(engine, title="Support", questions=[{"text": "Why?"}])
    return db.create_interview(engine, requisition_id=req.id, candidate_name="Ada").id


class Receiver:
    """An HR system: answers per `plan` ("500", "slow", "ok"), checks signatures, and
    processes each webhook id once (its dedup)."""

    def __init__(self, plan: list[str]) -> None:
        self.plan = plan
        self.calls: list[str] = []
        self.processed: dict[str, dict[str, Any]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        msg_id = request.headers["webhook-id"]
        ts = int(request.headers["webhook-timestamp"])
        assert request.headers["webhook-signature"] == sign(SECRET, msg_id, ts, body)
        step = self.plan[len(self.calls)] if len(self.calls) < len(self.plan) else "ok"
        self.calls.append(step)
        if step == "slow":
            await asyncio.sleep(2)
        if step in ("ok", "lost"):
            self.processed.setdefault(msg_id, json.loads(body))  # dedup by webhook id
        if step == "lost":  # processed, but the answer never arrives as a success
            return web.Response(status=502)
        return web.Response(status=200 if step == "ok" else 500)

    async def start(self, port: int | None = None) -> TestServer:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        return server


def settings_for(make_settings: Callable[..., Settings], url: str, **kw: Any) -> Settings:
    return make_settings(
        webhook_url=url, webhook_secret=SECRET, webhook_backoff_s=0.05, webhook_timeout_s=0.5, **kw
    )


async def wait_state(engine: Engine, iid: str, state: str, seconds: float = 15) -> outbox.Delivery:
    for _ in range(int(seconds / 0.05)):
        (d,) = await asyncio.to_thread(outbox.deliveries_for, engine, iid)
        if d.state == state:
            return d
        await asyncio.sleep(0.05)
    raise AssertionError(f"delivery stayed {d.state} ({d.attempts} attempts, {d.last_error})")


async def test_fails_times_out_then_recovers_with_one_processed_delivery(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    receiver = Receiver(["500", "slow", "lost", "ok"])
    server = await receiver.start()
    settings = settings_for(make_settings, str(server.make_url("/hook")))
    iid = await asyncio.to_thread(interview, engine)
    report = make_report(iid)
    await asyncio.to_thread(sync_subscriptions, engine, webhook_config(settings).subscribers)
    await asyncio.to_thread(db.save_report, engine, iid, report)
    await asyncio.to_thread(db.save_report, engine, iid, report)  # stored once, delivered once
    worker = WebhookWorker(webhook_config(settings), engine)
    await worker.start()
    try:
        d = await wait_state(engine, iid, "delivered")
    finally:
        await worker.aclose()
        await server.close()
    assert receiver.calls == ["500", "slow", "lost", "ok"]
    assert d.attempts == 4 and d.last_error is None
    assert list(receiver.processed) == [iid]  # retried with one id: processed exactly once
    assert receiver.processed[iid]["data"]["interview_id"] == iid
    assert receiver.processed[iid]["type"] == "interview.report.finalized"


async def test_survives_a_restart_and_an_hr_system_that_is_down(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    receiver = Receiver([])
    server = await receiver.start()
    port = server.port
    url = str(server.make_url("/hook"))
    await server.close()  # the HR system is down
    settings = settings_for(make_settings, url, webhook_max_attempts=3)
    iid = await asyncio.to_thread(interview, engine)
    report = make_report(iid)
    await asyncio.to_thread(sync_subscriptions, engine, webhook_config(settings).subscribers)
    await asyncio.to_thread(db.save_report, engine, iid, report)
    first = WebhookWorker(webhook_config(settings), engine)
    await first.start()
    d = await wait_state(engine, iid, "dead")  # gave up after 3 attempts, kept for an operator
    await first.aclose()  # the server restarts
    assert d.attempts == 3 and "Connect" in (d.last_error or "")
    assert d.id is not None
    await asyncio.to_thread(outbox.retry_dead, engine, d.id)
    server = await receiver.start(port)  # the HR system is back
    second = WebhookWorker(webhook_config(settings), engine)
    await second.start()
    try:
        await wait_state(engine, iid, "delivered")
    finally:
        await second.aclose()
        await server.close()
    assert list(receiver.processed) == [iid]


def test_report_and_deliveries_are_one_transaction(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    settings = settings_for(make_settings, "http://127.0.0.1:9/hook")
    iid = interview(engine)
    # Unvalidated on purpose: the model refuses a missing rubric version, the database's
    # NOT NULL is what fails the whole transaction here.
    report = make_report(iid).model_copy(update={"rubric_version": None})
    sync_subscriptions(engine, webhook_config(settings).subscribers)
    with pytest.raises(Exception), warnings.catch_warnings():  # noqa: B017 - the database's
        warnings.simplefilter("ignore")  # pydantic warns while dumping the bad value
        db.save_report(engine, iid, report)
    assert db.get_report(engine, iid) is None
    assert outbox.deliveries_for(engine, iid) == []  # no delivery without its report


def test_exports_read_the_typed_report_and_the_stored_body_alike(engine: Engine) -> None:
    iid = interview(engine)
    report = make_report(iid)
    report.flags.append(Flag(flag="interrupted", detail="the live session ended: x"))
    db.save_report(engine, iid, report)
    row = db.get_report(engine, iid)
    assert row is not None and load_report(row.body) == report  # the stored JSON round-trips
    hrx = hr_xml_assessment(report)["AssessmentReport"]
    assert hr_xml_assessment(row.body) == {"AssessmentReport": hrx}
    assert hrx["DocumentID"] == iid and hrx["AssessmentResult"]["Score"]["ScoreMaximum"] == 100
    assert hrx["AssessmentStatus"]["StatusDate"] == row.body["generated_at"]
    by_name = {c["CompetencyName"]: c for c in hrx["AssessmentResult"]["Competency"]}
    assert set(by_name) == set(report.competencies)
    (team,) = by_name["job_knowledge"]["CompetencyEvidence"]
    assert team == {
        "EvidenceText": "team",
        "EvidenceType": "concept:team",
        "Start": 2.2,
        "End": 2.45,
    }
    assert by_name["communication"]["CompetencyWeight"] == 0.5
    assert by_name["logical_structure"]["CompetencyWeight"] is None  # scored, not weighted
    assert hrx["AssessmentResult"]["Flags"] == [
        {"flag": "interrupted", "detail": "the live session ended: x"}
    ]
    frappe = frappe_interview_feedback(report)
    assert frappe == frappe_interview_feedback(row.body)
    assert frappe["doctype"] == "Interview Feedback" and frappe["result"] is None
    assert all(0 <= s["rating"] <= 1 for s in frappe["skill_assessment"])
    # 32 words: too few for logical structure; Frappe gets no rating for it, the feedback
    # names it instead of a 0.
    skills = {s["skill"] for s in frappe["skill_assessment"]}
    assert "communication" in skills and "Logical Structure" not in skills
    assert "Not enough evidence: Logical Structure" in frappe["feedback"]
    assert frappe["feedback"].endswith(" interrupted.")


def test_backoff_doubles_and_dead_after_the_last_attempt(engine: Engine) -> None:
    from datetime import UTC, datetime

    iid = interview(engine)
    report = make_report(iid)
    sync_subscriptions(engine, [Subscriber("http://127.0.0.1:9/hook")])
    db.save_report(engine, iid, report)
    (d,) = outbox.deliveries_for(engine, iid)
    assert d.id is not None
    waits = []
    for _ in range(3):
        after = outbox.mark_failed(engine, d.id, "HTTP 500", max_attempts=4, backoff_base_s=3.0)
        assert after is not None
        due_at = after.next_attempt_at.replace(tzinfo=after.next_attempt_at.tzinfo or UTC)
        waits.append((due_at - datetime.now(UTC)).total_seconds())
    assert [round(w) for w in waits] == [3, 6, 12]
    assert outbox.due(engine) == []  # not due before its time
    dead = outbox.mark_failed(engine, d.id, "HTTP 500", max_attempts=4, backoff_base_s=3.0)
    assert dead is not None and dead.state == "dead" and dead.attempts == 4


def test_events_reach_the_configured_subscribers_in_their_format(engine: Engine) -> None:
    sync_subscriptions(
        engine,
        [
            Subscriber("http://127.0.0.1:9/all"),
            Subscriber("http://127.0.0.1:9/xml", PayloadFormat.HR_XML),
            Subscriber("http://127.0.0.1:9/offers", event_types=("offer.sent",)),
        ],
    )
    iid = interview(engine)
    report = make_report(iid)
    db.save_report(engine, iid, report)
    by_url = {d.url: d for d in outbox.deliveries_for(engine, iid)}
    assert set(by_url) == {"http://127.0.0.1:9/all", "http://127.0.0.1:9/xml"}  # not /offers
    assert by_url["http://127.0.0.1:9/all"].payload["data"]["interview_id"] == iid
    xml_delivery = by_url["http://127.0.0.1:9/xml"]
    assert xml_delivery.format == "hr-xml"
    assert formatted(xml_delivery)["data"]["AssessmentReport"]["DocumentID"] == iid
    assert formatted(by_url["http://127.0.0.1:9/all"]) == by_url["http://127.0.0.1:9/all"].payload
    with Session(engine) as s:
        emit(s, "offer.sent", f"interview:{iid}", {"offer_id": 7})
        s.commit()
    sent = [d for d in outbox.deliveries_for(engine, "evt_2")]
    assert {d.url for d in sent} == {
        "http://127.0.0.1:9/all",
        "http://127.0.0.1:9/xml",
        "http://127.0.0.1:9/offers",
    }
    assert all(d.payload["data"] == {"subject": f"interview:{iid}", "offer_id": 7} for d in sent)
    # Configuration changed: the old subscriber gets nothing new.
    sync_subscriptions(engine, [Subscriber("http://127.0.0.1:9/all")])
    with Session(engine) as s:
        emit(s, "offer.sent", f"interview:{iid}", {"offer_id": 8})
        s.commit()
    assert [d.url for d in outbox.deliveries_for(engine, "evt_3")] == ["http://127.0.0.1:9/all"]


def test_the_worker_is_told_after_a_commit_that_enqueued(engine: Engine) -> None:
    sync_subscriptions(engine, [Subscriber("http://127.0.0.1:9/all")])
    calls: list[int] = []
    stop = outbox.notify_after_commit(engine, lambda: calls.append(1))
    try:
        with Session(engine) as s:
            emit(s, "offer.sent", "interview:x", {})
            s.rollback()  # nothing committed: nothing to send
        with Session(engine) as s:
            s.commit()  # a commit without deliveries
        assert calls == []
        with Session(engine) as s:
            emit(s, "offer.sent", "interview:x", {})
            s.commit()
        assert calls == [1]
    finally:
        stop()
    with Session(engine) as s:
        emit(s, "offer.sent", "interview:x", {})
        s.commit()
    assert calls == [1]  # stopped

"""Decisions, offers, employees, follow-ups and HR events, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select

import hr_bridge.accounts
import hr_bridge.self_id  # noqa: F401  (its table is part of the metadata compared)
from analytics import queries
from hr_bridge import (
    employees,
    events,
    followups,
    hiring,
    matching,
    outbox,
    profiles,
    ranking,
)
from hr_bridge.db import downgrade, make_engine, migrate
from hr_bridge.employees import OnboardingTask
from hr_bridge.models import WorkflowConflict
from tests.hr_fixtures import SCORES, finished_interview, report_body

START = date(date.today().year + 1, 1, 31)  # offers must start today or later


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0006_upgrades_and_downgrades_a_populated_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else None
    eng = make_engine(url or request.getfixturevalue("postgres_url"))
    try:
        migrate(eng, "0005")  # a store from before the hiring workflow, with data in it
        with eng.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO requisition (id, title, language, competencies, questions, "
                    "created_at) VALUES ('r1', 'Support', 'en', '[]', '[]', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO interview (id, requisition_id, candidate_name, state, "
                    "affect_allowed, invite_jti, created_at) VALUES ('i1', 'r1', 'Ada', "
                    "'finished', false, 'j', CURRENT_TIMESTAMP)"
                )
            )
            body = report_body("i1", {"communication": 61.5})
            conn.execute(
                text(
                    "INSERT INTO report (interview_id, created_at, rubric_version, overall, body)"
                    " VALUES ('i1', CURRENT_TIMESTAMP, 'v', :overall, :body)"
                ),
                {"overall": body.overall, "body": json.dumps(body.model_dump(mode="json"))},
            )
        assert migrate(eng).up_to_date
        with eng.connect() as conn:
            scores = conn.execute(text("SELECT competency, value FROM report_score")).all()
            req = conn.execute(text("SELECT family, synthetic FROM requisition")).one()
        assert sorted(scores) == [("communication", 61.5), ("overall", 61.5)]  # backfilled
        assert req[0] == "general" and not req[1]
        assert downgrade(eng, "0005").current == "0005"
        with eng.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM interview")).scalar() == 1
        assert migrate(eng).up_to_date
    finally:
        eng.dispose()


def test_composite_match_gives_a_band_and_a_reason_for_every_part() -> None:
    config = {
        "parts": [
            {"kind": "competency", "name": "communication", "weight": 40, "required": 70},
            {
                "kind": "competency",
                "name": "composure",
                "label": "stress resilience",
                "weight": 30,
            },
            {
                "kind": "fact",
                "name": "past_sales_results",
                "label": "past sales results",
                "weight": 20,
                "required": 60,
                "scale": [0, 150],
            },
            {"kind": "fact", "name": "customer_feedback", "weight": 10},
        ],
        "bands": {"high": 75, "medium": 55},
    }
    profile = {"facts": {"past_sales_results": 120}}
    m = matching.compute(config, {}, {"communication": 62, "composure": 80}, profile, None)
    reasons = [p.reason for p in m.parts]
    assert reasons[0] == "communication 62, below the requirement of 70 (40% of the score)"
    assert reasons[1] == "stress resilience 80 (30% of the score)"
    assert reasons[2].startswith("past sales results 120 (80 on the 0-100 scale), meets")
    assert "no data in the HR record; coverage lowered by 10% of the score" in reasons[3]
    # (0.4*62 + 0.3*80 + 0.2*80) / 0.9 = 64.8 / 0.9 = 72, 90% of the weight covered; the
    # missing 10% at 0 or at 100 gives 64.8 or 74.8: medium either way, so the band stands.
    assert m.score == 72.0 and m.band == "medium" and m.coverage == 0.9
    assert m.possible_bands == ["medium"] and m.missing == ["customer feedback"]
    assert [p.met for p in m.parts] == [False, None, True, None]
    assert "a person decides" in m.recommendation
    thin = matching.compute(config, {}, {"communication": 90}, {}, None)
    # 40% of the weight only: no score, and the missing 60% could make it any band.
    assert thin.band == "incomplete" and thin.score is None
    assert thin.possible_bands == ["low", "medium", "high"]


def test_default_match_uses_the_rubric_weights_and_the_resume_match() -> None:
    req: dict[str, Any] = {
        "competencies": [{"name": "communication", "weight": 3}, "composure"],
        "requirements": {"skills": {"python": 80}},
    }
    _lines, pct = profiles.match({"skills": {"python": 40}}, req["requirements"])
    m = matching.compute(None, req, {"communication": 80, "composure": 40}, {}, pct)
    assert [p.name for p in m.parts] == ["communication", "composure", "requirements"]
    assert m.parts[2].reason.startswith("requirements 50% of the requirements met")
    # weights 3, 1 and (3+1)/4 = 1: (3*80 + 40 + 50) / 5 = 66
    assert m.score == 66.0


def test_an_offer_cannot_be_made_or_accepted_without_a_recorded_human_decision(
    engine: Engine,
) -> None:
    _req, iv = finished_interview(engine)
    with pytest.raises(hiring.HiringConflict, match="no recorded decision"):
        hiring.create_offer(engine, iv.id, 55000, START, "Ana")
    with pytest.raises(ValueError, match="decided_by"):
        hiring.record_decision(engine, iv.id, "offer", "strong closer", "system", None)
    with pytest.raises(ValueError, match="reason"):
        hiring.record_decision(engine, iv.id, "offer", " ", "Ana Ruiz", None)
    hiring.record_decision(engine, iv.id, "hold", "waiting for references", "Ana Ruiz", None)
    with pytest.raises(hiring.HiringConflict, match="no recorded decision"):
        hiring.create_offer(engine, iv.id, 55000, START, "Ana")

    hiring.record_decision(engine, iv.id, "offer", "strong closer", "Ana Ruiz", None)
    with pytest.raises(ValueError, match="band is 50000-60000 EUR"):
        hiring.create_offer(engine, iv.id, 70000, START, "Ana")
    offer = hiring.create_offer(engine, iv.id, 55000, START, "Ana")
    assert "Annual salary: 55,000 EUR" in offer.text and f"ending {START.year}-07-31" in offer.text
    assert offer.text_sha256 == hiring.sha256(offer.text)

    # The person changes their mind: the open offer is withdrawn and cannot be accepted.
    hiring.record_decision(engine, iv.id, "hold", "budget freeze", "Ana Ruiz", None)
    with pytest.raises(hiring.HiringConflict, match="no open offer"):
        hiring.answer_offer(engine, iv.id, True, "Mei Lin", offer.text_sha256)
    assert hiring.current_offer(engine, iv.id).state == "withdrawn"  # type: ignore[union-attr]
    assert [e.type for e in events.list_events(engine)][-2:] == [
        "decision.recorded",
        "offer.withdrawn",  # HR systems hear that the offer is off
    ]
    assert employees.list_employees(engine) == ([], 0)


def test_acceptance_by_typed_name_creates_the_employee_tasks_and_events(engine: Engine) -> None:
    _req, iv = finished_interview(engine)
    urls = ["https://hr.example.com/hooks"]
    events.sync_subscriptions(engine, [events.Subscriber(u) for u in urls])
    hiring.record_decision(engine, iv.id, "offer", "strong closer", "Ana Ruiz", None)
    offer = hiring.create_offer(engine, iv.id, 55000, START, "Ana")
    with pytest.raises(ValueError, match="typed_name"):
        hiring.answer_offer(engine, iv.id, True, "Mei", offer.text_sha256)
    with pytest.raises(hiring.HiringConflict, match="text changed"):
        hiring.answer_offer(engine, iv.id, True, "Mei Lin", "0" * 64)
    accepted, emp = hiring.answer_offer(engine, iv.id, True, "  mei   LIN ", offer.text_sha256)
    assert accepted.state == "accepted" and accepted.answered_at is not None
    assert accepted.accepted_name == "mei   LIN"
    assert emp is not None and emp.interview_id == iv.id and emp.name == "Mei Lin"
    assert emp.probation_end == date(START.year, 7, 31)  # 31 January + 6 months
    with Session(engine) as s:
        tasks = list(s.exec(select(OnboardingTask).where(OnboardingTask.employee_id == emp.id)))
    assert {t.kind for t in tasks} == {"equipment", "workspace", "introduction"}
    types = [e.type for e in events.list_events(engine)]
    assert types == [
        "interview.report.finalized",  # from the fixture, before any subscriber was configured
        "decision.recorded",
        "offer.sent",
        "offer.accepted",
        "employee.created",
        "onboarding.task.created",
        "onboarding.task.created",
        "onboarding.task.created",
    ]
    sent = [
        d for e in events.list_events(engine) for d in outbox.deliveries_for(engine, f"evt_{e.id}")
    ]
    assert len(sent) == 7 and {d.url for d in sent} == set(urls)
    (row,) = ranking.rank(engine, iv.requisition_id)["candidates"]
    assert (row["decision"], row["offer"], row["employee_id"]) == ("offer", "accepted", emp.id)
    assert row["finished_at"].endswith("+00:00") and row["match"]["band"] in ("low", "medium")
    with pytest.raises(hiring.HiringConflict, match="already accepted"):
        hiring.record_decision(engine, iv.id, "reject", "changed my mind", "Ana Ruiz", None)
    with pytest.raises(hiring.HiringConflict):
        hiring.answer_offer(engine, iv.id, True, "Mei Lin", offer.text_sha256)


def test_stages_only_narrow_and_undecided_applications_are_pending(engine: Engine) -> None:
    req, first = finished_interview(engine, name="Ana Ruiz")
    _req, second = finished_interview(engine, requisition=req, name="Bo Chen")
    _req, _third = finished_interview(engine, requisition=req, name="Cy Diaz")  # undecided
    hiring.record_decision(engine, first.id, "offer", "strong", "Dana Lee", None)
    hiring.create_offer(engine, first.id, 55000, START, "Dana Lee")
    # The person changes their mind after the offer went out: it is withdrawn, but the
    # candidate did pass the interview and was offered; the funnel must not contradict it.
    hiring.record_decision(engine, first.id, "reject", "budget cut", "Dana Lee", None)
    hiring.record_decision(engine, second.id, "hold", "waiting", "Dana Lee", None)
    records, synthetic_in, pending = queries.impact_records(engine)
    assert records == [
        {"sex": None, "race_ethnicity": None, "passed": True, "offered": True, "hired": False}
    ]
    assert pending == 2 and synthetic_in is False
    assert queries.impact(engine)[1]["pending"] == 2


def _race(engine: Engine, iid: str, sha: str) -> list[str]:
    """Two acceptances and a rejection released at the same instant; what each got."""
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def accept() -> None:
        barrier.wait()
        try:
            hiring.answer_offer(engine, iid, True, "Mei Lin", sha)
            outcomes.append("accepted")
        except hiring.HiringConflict:
            outcomes.append("conflict")

    def reject() -> None:
        barrier.wait()
        try:
            hiring.record_decision(engine, iid, "reject", "changed", "Dana Lee", None)
            outcomes.append("rejected")
        except hiring.HiringConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=f) for f in (accept, accept, reject)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_concurrent_answers_and_decisions_never_contradict(engine: Engine) -> None:
    """Accept twice and reject at the same moment, several times: one outcome wins, the
    others get a clear conflict, never a database error or an employee of a rejected
    candidate."""
    req, _ = finished_interview(engine, name="Someone Else")
    for round_ in range(4):
        _req, iv = finished_interview(engine, requisition=req, name="Mei Lin")
        hiring.record_decision(engine, iv.id, "offer", "good", "Dana Lee", None)
        offer = hiring.create_offer(engine, iv.id, 55000, START, "Dana Lee")
        outcomes = _race(engine, iv.id, offer.text_sha256)
        assert len(outcomes) == 3, (round_, outcomes)
        hired = [e for e in employees.list_employees(engine)[0] if e.interview_id == iv.id]
        final = hiring.current_offer(engine, iv.id)
        latest = hiring.latest_decision(engine, iv.id)
        assert final is not None and latest is not None
        assert outcomes.count("accepted") <= 1, outcomes
        if "accepted" in outcomes:  # the rejection came after the acceptance: refused
            assert final.state == "accepted" and len(hired) == 1
            assert latest.decision == "offer" and "rejected" not in outcomes
        else:  # the rejection came first: both acceptances refused
            assert outcomes.count("rejected") == 1 and final.state == "withdrawn"
            assert hired == [] and latest.decision == "reject"


def test_follow_ups_fire_on_interview_and_probation_evidence_once(engine: Engine) -> None:
    # The default rules: teamwork needs a teamwork score, which this requisition measures.
    rules = followups.check_rules(list(followups.DEFAULT_RULES))
    _req, iv = finished_interview(
        engine, scores={**SCORES, "teamwork": 41.0}, follow_up_rules=rules
    )
    hiring.record_decision(engine, iv.id, "offer", "good fit", "Ana Ruiz", None)
    offer = hiring.create_offer(engine, iv.id, 52000, START, "Ana")
    _, emp = hiring.answer_offer(engine, iv.id, True, "Mei Lin", offer.text_sha256)
    assert emp is not None and emp.id is not None
    review = {
        "month": 3,
        "manager_feedback": "Delivers, but works alone.",
        "manager_rating": 3,
        "task_completion": 90,
        "peer_rating": 2,
        "reviewer": "Bo Chen",
    }
    _row, new = employees.add_review(engine, emp.id, "probation", review)
    # communication 48 < 55 and peer 2 <= 2; teamwork 41 < 60 and peer 2 <= 2; composure 66
    # is not below 50 and tasks 90 are above 70: exactly two rules fire.
    assert sorted(f.rule_id for f in new) == ["communication", "teamwork"]
    tw = next(f for f in new if f.rule_id == "teamwork")
    assert tw.evidence["interview"][0]["competency"] == "teamwork"
    assert tw.evidence["interview"][0]["value"] == 41.0
    assert tw.evidence["interview"][0]["evidence"][0]["text"] == "um, about teamwork"
    assert tw.evidence["probation"][0] == {
        "review_id": _row["id"],
        "field": "peer_rating",
        "value": 2.0,
        "at_or_below": 2,
    }
    _row2, again = employees.add_review(engine, emp.id, "probation", review | {"month": 4})
    assert again == []  # a rule fires once per employee
    view = employees.employee_view(engine, emp.id)
    assert {t["course"]: t["status"] for t in view["training"]} == {
        "Teamwork in practice": "suggested",
        "Clear communication at work": "suggested",
    }
    employees.decide_follow_up(engine, tw.id or 0, True, "Ana Ruiz")
    with pytest.raises(WorkflowConflict, match="already accepted by Ana Ruiz"):
        employees.decide_follow_up(engine, tw.id or 0, False, "Bo Chen")
    view = employees.employee_view(engine, emp.id)
    assert {t["course"]: t["status"] for t in view["training"]}["Teamwork in practice"] == (
        "enrolled"
    )
    assert view["interview"]["competencies"]["teamwork"] == 41.0
    assert len(view["probation_reviews"]) == 2 and len(view["onboarding"]) == 3


def test_follow_up_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="needs a probation or performance condition"):
        followups.check_rules([{"id": "x", "course": "c", "when": {"interview": {"a": 1}}}])
    with pytest.raises(ValueError, match="unknown field 'mood'"):
        followups.check_rules([{"id": "x", "course": "c", "when": {"probation": {"mood": 1}}}])
    rule = {"id": "x", "course": "c", "when": {"probation": {"peer_rating": 1}}}
    with pytest.raises(ValueError, match="used twice"):
        followups.check_rules([rule, rule])


def test_listening_follow_up_fires_on_probation_feedback(engine: Engine) -> None:
    # Communication 90 at interview, and the probation feedback (in Chinese) says he interrupts
    # people: the default rules suggest "Active listening" and keep the sentence as evidence.
    _req, iv = finished_interview(engine, scores={**SCORES, "communication": 90.0})
    hiring.record_decision(engine, iv.id, "offer", "good fit", "Ana Ruiz", None)
    offer = hiring.create_offer(engine, iv.id, 52000, START, "Ana")
    _, emp = hiring.answer_offer(engine, iv.id, True, "Mei Lin", offer.text_sha256)
    assert emp is not None and emp.id is not None
    review = {
        "month": 2,
        "manager_feedback": "任务完成得很好。同事反映他开会时经常打断别人。",
        "manager_rating": 4,
        "task_completion": 95,
        "peer_rating": 3,
        "reviewer": "Bo Chen",
    }
    row, new = employees.add_review(engine, emp.id, "probation", review)
    assert [(f.rule_id, f.course) for f in new] == [("listening", "Active listening")]
    assert new[0].evidence["interview"][0]["condition"] == {">=": 80.0}
    assert new[0].evidence["probation"] == [
        {
            "review_id": row["id"],
            "field": "manager_feedback",
            "mentions": ["打断别人", "经常打断"],
            "excerpt": "同事反映他开会时经常打断别人。",
        }
    ]

"""Interviewers' ratings over HTTP (scorecard, rating, who may rate, the report with ratings
beside the AI scores) and the AI-human agreement statistics, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import scipy.stats  # type: ignore[import-untyped]  # scipy ships no type stubs
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect
from sqlalchemy import Engine, inspect
from sqlmodel import Session, select

from analytics import agreement
from hr_bridge import audit, events, lifecycle, ratings
from hr_bridge import interviews as db
from hr_bridge.anchors import DEFAULT_ANCHORS, GENERIC_ANCHORS
from hr_bridge.db import downgrade, migrate
from hr_bridge.interviews import InterviewState
from hr_bridge.models import Rating
from pipeline.scoring.catalogue import UnknownMeasure, resolve
from pipeline.scoring.report_model import CompetencyScore
from server.app_keys import AUTH_KEY
from server.settings import Settings
from tests.hr_fixtures import report_body
from tests.test_browser_hr import TIMEOUT_MS, _app, _chromium, _hr_page, _shot
from tests.test_hr_api import _checked_app

COMPETENCIES: list[Any] = [
    "communication",
    {"name": "Stress resilience", "measure": "composure", "anchors": {1: "freezes", 5: "calm"}},
    {"name": "Teamwork", "weight": 2, "measure": "interviewer_only"},
]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _move(engine: Engine, iid: str, *states: InterviewState) -> None:
    for state in states:
        lifecycle.move(engine, iid, state, actor="test", action=f"interview.{state}")


async def _schedule(c: TestClient[Any, Any], admin: dict[str, str]) -> tuple[str, list[str]]:
    """A requisition with a mapped, a renamed and an interviewer-only competency, and an
    interview with two interviewer links: its id and the interviewers' tokens."""
    r = await c.post(
        "/api/requisitions",
        headers=admin,
        json={"title": "Support lead", "competencies": COMPETENCIES, "questions": [{"text": "Q"}]},
    )
    assert r.status == 201, await r.text()
    rid = (await r.json())["id"]
    r = await c.post(
        "/api/interviews",
        headers=admin,
        json={"requisition_id": rid, "candidate_name": "Ana Silva", "interviewers": 2},
    )
    assert r.status == 201
    body = await r.json()
    return body["id"], [u.split("#token=")[1] for u in body["interviewer_urls"]]


async def test_unknown_measure_is_refused_with_the_rubric_message(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    bad = {"name": "Grit", "measure": "tenacity"}
    with pytest.raises(UnknownMeasure) as expected:
        resolve(bad["name"], bad["measure"])
    app, _ = _checked_app(make_settings(database_url=_url(engine)))
    async with TestClient(TestServer(app)) as c:
        admin = _bearer(app[AUTH_KEY].admin_key)
        body = {"title": "Ops", "competencies": [bad], "questions": [{"text": "Q"}]}
        r = await c.post("/api/requisitions", headers=admin, json=body)
        assert r.status == 400
        assert await r.json() == {"error": str(expected.value), "field": "competencies"}
        body["competencies"] = [{"name": "Grit", "anchors": {6: "too high"}}]
        r = await c.post("/api/requisitions", headers=admin, json=body)
        assert r.status == 400  # anchors are for levels 1-5
    assert await asyncio.to_thread(db.list_requisitions, engine) == []  # nothing stored


async def test_interviewers_rate_and_hr_sees_ratings_beside_the_ai(
    engine: Engine, make_settings: Callable[..., Settings]
) -> None:
    app, conformance = _checked_app(make_settings(database_url=_url(engine)))
    async with TestClient(TestServer(app)) as c:
        admin = _bearer(app[AUTH_KEY].admin_key)
        iid, (first, second) = await _schedule(c, admin)
        other, (stranger, _) = await _schedule(c, admin)
        card = f"/api/interviews/{iid}/scorecard"
        put = f"/api/interviews/{iid}/ratings/"

        r = await c.get(card, headers=_bearer(first))
        sc = await r.json()
        assert r.status == 200 and sc["can_rate"] is False and sc["rater"] is None
        r = await c.put(put + "communication", headers=_bearer(first), json={"score": 4})
        assert r.status == 409  # scheduled: nothing to rate yet

        await asyncio.to_thread(_move, engine, iid, InterviewState.CONSENTED, InterviewState.LIVE)
        await asyncio.to_thread(_move, engine, other, InterviewState.CONSENTED, InterviewState.LIVE)
        sc = await (await c.get(card, headers=_bearer(first))).json()
        assert sc["can_rate"] is True and sc["language"] == "en"
        items = {i["key"]: i for i in sc["competencies"]}
        assert list(items) == ["communication", "stress_resilience", "teamwork"]
        assert items["communication"]["label"] == "Communication"
        anchors = DEFAULT_ANCHORS["communication"]["en"]
        assert items["communication"]["anchors"] == {str(k): v for k, v in anchors.items()}
        assert items["stress_resilience"] == {
            "key": "stress_resilience",
            "label": "Stress resilience",
            "measure": "composure",
            "anchors": {"1": "freezes", "5": "calm"},
            "rating": None,
        }
        generic = GENERIC_ANCHORS["en"]
        assert items["teamwork"]["measure"] is None
        assert items["teamwork"]["anchors"] == {str(k): v for k, v in generic.items()}

        # Who may rate: only this interview's interviewer links.
        for headers in (
            {},
            _bearer("not-a-token"),
            _bearer(stranger),  # another interview's interviewer
            _bearer(app[AUTH_KEY].issue(iid, "candidate", 60)),
            admin,  # HR reads ratings; it does not rate
        ):
            r = await c.put(put + "communication", headers=headers, json={"score": 3})
            assert r.status == 401, headers
        r = await c.get(card, headers=_bearer(stranger))
        assert r.status == 401

        # Refused values.
        for score in (0, 6, 2.5):
            r = await c.put(put + "communication", headers=_bearer(first), json={"score": score})
            assert r.status == 400 and (await r.json())["field"] == "score", score
        r = await c.put(
            put + "communication", headers=_bearer(first), json={"score": 3, "note": "x" * 2001}
        )
        assert r.status == 400 and (await r.json())["field"] == "note"
        r = await c.put(put + "leadership", headers=_bearer(first), json={"score": 3})
        assert r.status == 400 and "leadership" in (await r.json())["error"]

        # Rating, and a second rating that replaces the first.
        r = await c.put(
            put + "communication", headers=_bearer(first), json={"score": 4, "note": "clear"}
        )
        assert r.status == 200 and (await r.json())["rater"] == "Interviewer 1"
        r = await c.put(
            put + "Communication",  # names are normalised to the rubric key
            headers=_bearer(first),
            json={"score": 2, "note": "rambled on Q2 <b>"},
        )
        got = await r.json()
        assert (got["competency"], got["score"], got["note"]) == (
            "communication",
            2,
            "rambled on Q2 <b>",
        )
        r = await c.put(put + "Teamwork", headers=_bearer(first), json={"score": 5})
        assert r.status == 200
        r = await c.put(put + "communication", headers=_bearer(second), json={"score": 5})
        assert (await r.json())["rater"] == "Interviewer 2"
        r = await c.put(
            f"/api/interviews/{other}/ratings/communication",
            headers=_bearer(stranger),
            json={"score": 1},
        )
        assert (await r.json())["rater"] == "Interviewer 1"  # numbered per interview

        sc = await (await c.get(card, headers=_bearer(first))).json()
        mine = {i["key"]: i["rating"] for i in sc["competencies"]}
        assert sc["rater"] == "Interviewer 1"
        assert mine["communication"]["score"] == 2 and mine["stress_resilience"] is None
        assert mine["teamwork"]["score"] == 5

        # Finished: still ratable; the report shows the ratings to HR only.
        await asyncio.to_thread(_move, engine, iid, InterviewState.FINISHED)
        r = await c.put(put + "stress_resilience", headers=_bearer(second), json={"score": 3})
        assert r.status == 200
        scores = {"communication": 81.0, "stress_resilience": 40.0}
        await asyncio.to_thread(db.save_report, engine, iid, report_body(iid, scores))

        r = await c.get(f"/api/interviews/{iid}/report", headers=admin)
        rep = await r.json()
        assert rep["competencies"]["communication"]["value"] == 81.0
        human = rep["human_ratings"]
        assert human["communication"]["mean"] == 3.5 and human["communication"]["n"] == 2
        notes = {(x["rater"], x["score"], x["note"]) for x in human["communication"]["ratings"]}
        assert notes == {("Interviewer 1", 2, "rambled on Q2 <b>"), ("Interviewer 2", 5, "")}
        assert human["teamwork"]["mean"] == 5.0 and human["stress_resilience"]["n"] == 1
        r = await c.get(f"/api/interviews/{iid}/report", headers=_bearer(first))
        assert "human_ratings" not in await r.json()  # raters do not see each other's
        stored = await asyncio.to_thread(db.get_report, engine, iid)
        assert stored is not None and "human_ratings" not in stored.body
        r = await c.get(f"/api/interviews/{iid}/ratings", headers=admin)
        assert (await r.json())["competencies"]["communication"] == human["communication"]
        r = await c.get(f"/api/interviews/{iid}/ratings", headers=_bearer(first))
        assert r.status == 401

    assert conformance.problems == []
    await asyncio.to_thread(_check_store, engine, iid)


def _check_store(engine: Engine, iid: str) -> None:
    """One row per rater and competency, means over raters, and a trail and events that
    hold facts, never the notes."""
    with Session(engine) as s:
        rows = ratings.ratings_for(s, iid)
        assert len(rows) == 4  # the replaced rating is one row
        assert ratings.mean_by_competency(s, iid) == {
            "communication": 3.5,
            "stress_resilience": 3.0,
            "teamwork": 5.0,
        }
    trail = [
        e for e in audit.events_for(engine, f"interview:{iid}") if e.action == "rating.recorded"
    ]
    assert [e.detail["score"] for e in trail] == [4, 2, 5, 5, 3]
    assert trail[1].detail["previous"] == 4 and "note" not in trail[1].detail
    rated = [e for e in events.list_events(engine) if e.type == ratings.RATED]
    assert len(rated) == 6 and all("note" not in e.data for e in rated)


def _rated_interview(
    engine: Engine,
    req: db.Requisition,
    ai: Mapping[str, float | None],
    human: Mapping[str, list[int]],
) -> str:
    """A finished interview whose report has the `ai` scores (None: abstained) and whose
    interviewers gave the `human` ratings (one rater per list item)."""
    iv = db.create_interview(engine, requisition_id=req.id, candidate_name="C")
    _move(engine, iv.id, InterviewState.FINISHED)
    report = report_body(iv.id, {k: v for k, v in ai.items() if v is not None})
    for k, v in ai.items():
        if v is None:
            report.competencies[k] = CompetencyScore(
                value=None, confidence=0.0, status="insufficient_evidence"
            )
    db.save_report(engine, iv.id, report)
    for competency, scores in human.items():
        for seat, score in enumerate(scores):
            ratings.record(engine, iv.id, f"rater-{seat}", competency, score)
    return iv.id


def _kappa_by_pairs(a: np.ndarray, b: np.ndarray) -> float:
    """Quadratic-weighted kappa from its pairwise form, independent of the confusion matrix:
    1 - n * sum_i (a_i - b_i)^2 / sum_i sum_j (a_i - b_j)^2."""
    return 1.0 - len(a) * float(((a - b) ** 2).sum()) / float(
        ((a[:, None] - b[None, :]) ** 2).sum()
    )


def test_agreement_on_a_constructed_set(engine: Engine) -> None:
    req = db.create_requisition(
        engine,
        title="Sales",
        family="sales",
        competencies=["communication", "composure", {"name": "Teamwork"}],
        questions=[{"text": "Q"}],
    )
    ai = [12.0, 25.0, 33.0, 41.0, 47.0, 55.0, 62.0, 68.0, 74.0, 83.0, 91.0, 97.0]
    pairs = [[1, 2], [2], [2, 3], [3], [2, 2], [3, 4], [4], [3, 4], [4, 5], [5], [4, 5], [5, 5]]
    for k, (score, raters) in enumerate(zip(ai, pairs, strict=True)):
        composure = None if k < 2 else 100.0 - score  # anti-correlated; two abstained
        _rated_interview(
            engine,
            req,
            {"communication": score, "composure": composure},
            {"communication": raters, "composure": raters, "teamwork": [3]},
        )
    # A synthetic interview is left out of real data.
    fake = db.create_requisition(
        engine, title="Demo", family="sales", questions=[{"text": "Q"}], synthetic=True
    )
    iv = db.create_interview(engine, requisition_id=fake.id, candidate_name="Demo")
    _move(engine, iv.id, InterviewState.FINISHED)
    db.save_report(engine, iv.id, report_body(iv.id, {"communication": 5.0}))

    out = agreement.agreement(engine, "real", family="sales")
    assert out["synthetic"] is False and out["interviews"] == 12 and "label" not in out
    rows = {r["competency"]: r for r in out["competencies"]}

    means = np.array([sum(p) / len(p) for p in pairs])
    x = np.array(ai)
    com = rows["communication"]
    assert com["n"] == 12 and com["abstained"] == 0
    assert com["pearson"] == pytest.approx(scipy.stats.pearsonr(x, means).statistic, abs=1e-4)
    ai_bins = np.array([1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5])  # 0-20-40-60-80-100 by hand
    human_round = np.array([2, 2, 3, 3, 2, 4, 4, 4, 5, 5, 5, 5])  # 1.5 and 2.5 round up
    np.testing.assert_array_equal(agreement.ai_level(x), ai_bins)
    np.testing.assert_array_equal(agreement.rating_level(means), human_round)
    assert com["kappa"] == pytest.approx(_kappa_by_pairs(ai_bins, human_round), abs=1e-4)
    assert com["pearson"] > 0.9 and com["kappa"] > 0.8 and com["disagree"] is False
    assert com["mean_human"] == pytest.approx(means.mean(), abs=0.01)

    comp = rows["composure"]  # the AI says the opposite of the interviewers
    assert comp["n"] == 10 and comp["abstained"] == 2
    assert comp["pearson"] == pytest.approx(
        scipy.stats.pearsonr(100.0 - x[2:], means[2:]).statistic, abs=1e-4
    )
    assert comp["pearson"] < -0.8 and comp["kappa"] < 0 and comp["disagree"] is True
    assert "disagree" in comp["note"]

    team = rows["teamwork"]  # interviewers only: nothing to compare, nothing flagged
    assert team["n"] == 0 and team["abstained"] == 0 and team["pearson"] is None
    assert team["disagree"] is False and "interviewers only" in team["note"]

    # By requisition; synthetic data only has no ratings.
    assert agreement.agreement(engine, requisition_id=req.id)["competencies"] == out["competencies"]
    assert agreement.agreement(engine, "synthetic")["competencies"] == []


def test_too_few_or_constant_ratings_flag_nothing(engine: Engine) -> None:
    req = db.create_requisition(
        engine, title="Ops", competencies=["communication"], questions=[{"text": "Q"}]
    )
    for score, rating in ((90.0, 1), (10.0, 5), (80.0, 1), (20.0, 5), (70.0, 2)):
        _rated_interview(engine, req, {"communication": score}, {"communication": [rating]})
    (row,) = agreement.agreement(engine, requisition_id=req.id)["competencies"]
    assert row["n"] == 5 and row["pearson"] < 0 and row["disagree"] is False
    assert "fewer than 10" in row["note"]
    assert math.isnan(agreement.quadratic_kappa([3, 3], [3, 3]))  # no variation: undefined


async def test_agreement_over_http(engine: Engine, make_settings: Callable[..., Settings]) -> None:
    def seed() -> db.Requisition:  # the AI's order is the reverse of the interviewers'
        req = db.create_requisition(
            engine, title="Ops", family="ops", competencies=["communication"],
            questions=[{"text": "Q"}],
        )  # fmt: skip
        for k in range(10):
            ai, human = {"communication": 95.0 - 10 * k}, {"communication": [1 + k // 2]}
            _rated_interview(engine, req, ai, human)
        return req

    req = await asyncio.to_thread(seed)
    app, conformance = _checked_app(make_settings(database_url=_url(engine)))
    async with TestClient(TestServer(app)) as c:
        admin = _bearer(app[AUTH_KEY].admin_key)
        r = await c.get("/api/hr/agreement?family=ops", headers=admin)
        body = await r.json()
        assert r.status == 200 and body["min_n"] == 10
        (row,) = body["competencies"]
        assert row["n"] == 10 and row["disagree"] is True and row["pearson"] < -0.9
        r = await c.get(f"/api/hr/agreement?requisition={req.id}&data=bogus", headers=admin)
        assert r.status == 400
        r = await c.get("/api/hr/agreement")
        assert r.status == 401
    assert conformance.problems == []


def test_migration_0008_adds_and_removes_the_rating_table(engine: Engine) -> None:
    assert "rating" in inspect(engine).get_table_names()
    downgrade(engine, "0007")
    assert "rating" not in inspect(engine).get_table_names()
    assert migrate(engine).up_to_date
    req = db.create_requisition(engine, title="T", questions=[{"text": "Q"}])
    iv = db.create_interview(engine, requisition_id=req.id, candidate_name="C")
    _move(engine, iv.id, InterviewState.CONSENTED, InterviewState.LIVE)
    ratings.record(engine, iv.id, "r", "composure", 3)
    with Session(engine) as s:
        (row,) = s.exec(select(Rating)).all()
        assert row.created_at.tzinfo is not None and row.created_at <= datetime.now(UTC)


@pytest.mark.browser
async def test_hr_pages_show_agreement_flags_and_ratings_beside_the_ai(
    make_settings: Callable[..., Settings],
) -> None:
    """The analytics page flags a competency where the AI and the interviewers disagree; the
    report HR reads inline has the interviewers' mean, count and notes beside the AI score."""

    def seed(engine: Engine) -> str:
        req = db.create_requisition(
            engine, title="Support lead", family="support",
            competencies=["communication", "composure"], questions=[{"text": "Q"}],
        )  # fmt: skip
        iid = ""
        for k in range(10):  # communication: the AI reverses the interviewers' order
            ai = {"communication": 95.0 - 10 * k, "composure": 10.0 + 9 * k}
            human = {"communication": [1 + k // 2], "composure": [1 + k // 2, 1 + k // 2]}
            iid = _rated_interview(engine, req, ai, human)
        # A note is the rater's text, shown as text: markup in it stays inert.
        ratings.record(engine, iid, "rater-0", "composure", 5, "<b>calm</b> under pressure")
        return iid

    async with _app(make_settings) as run, _chromium() as browser:
        iid = await asyncio.to_thread(seed, run.engine)
        page, errors = await _hr_page(browser, run, "/hr/analytics?family=support")
        rows = page.locator("#agreement-body table.agreement-table tbody tr")
        await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(rows.filter(has_text="Communication")).to_contain_text("⚠")
        await expect(rows.filter(has_text="Composure")).not_to_contain_text("⚠")
        caption = page.locator("#agreement-body caption")
        await expect(caption).to_contain_text("10 rated interviews in support")
        await expect(page.locator("#agreement-method")).to_contain_text("kappa")
        await expect(page.locator("#result-summary")).to_contain_text("1 competency flagged")
        await _shot(page, "hr-analytics-agreement.png")

        await page.goto(run.base + "/hr")
        read = page.locator(f"tr[data-id='{iid}']").get_by_role("button", name="Read")
        await read.click(timeout=TIMEOUT_MS)
        header = page.locator("#report th", has_text="interviewers (1-5)")
        await expect(header).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.locator("#report")).to_contain_text("Interviewer 1")
        composure = page.locator("#report tr[data-competency='composure']")
        await expect(composure).to_contain_text("<b>calm</b> under pressure")
        assert await page.locator("#report b").count() == 0
        await _shot(page, "hr-report-ratings.png")
        assert errors == []

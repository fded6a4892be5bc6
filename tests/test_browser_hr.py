"""The HR pages in a real browser (Debian's Chromium through Playwright) against the real app:
analytics on a synthetic cohort, the requisition dashboard (decision and offer by a person, a
later decision withdrawing the offer), the candidate's voluntary self-identification before
the decision, the candidate accepting the offer, and the employee record that follows. No
media runs: the interviews are moved to finished with a stored report directly. Screenshots
land in test-artifacts/."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect
from sqlalchemy import Engine

from analytics import synthetic
from hr_bridge import interviews as db
from hr_bridge import lifecycle, self_id
from hr_bridge.interviews import InterviewState
from server.app import create_app
from server.app_keys import AUTH_KEY, RESOURCES_KEY
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.hr_fixtures import report_body
from tests.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SYNTHETIC_LABEL = "SYNTHETIC DATA — generated, not real people"
TIMEOUT_MS = 15_000


@dataclass
class Running:
    client: TestClient[Any, Any]
    base: str
    key: str
    engine: Engine

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        r = await self.client.post(path, headers=self.admin, json=body)
        assert r.status == status, await r.text()
        return await r.json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def _app(make_settings: Callable[..., Settings]) -> AsyncIterator[Running]:
    """The real app on a real port, with a fresh data dir (so a fresh SQLite database)."""
    port = _free_port()
    settings = make_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(settings), host="127.0.0.1", port=port)
    )
    await client.start_server()
    try:
        app = client.app
        yield Running(
            client,
            f"http://127.0.0.1:{port}",
            app[AUTH_KEY].admin_key,
            app[RESOURCES_KEY].engine,
        )
    finally:
        await client.close()


@asynccontextmanager
async def _chromium() -> AsyncIterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def _hr_page(
    browser: Browser, run: Running, path: str, wrong_key_first: bool = False
) -> tuple[Page, list[str]]:
    """An HR page, signed in through the key form (the key then stays in this tab)."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(run.base + path)
    if wrong_key_first:
        await page.locator("#key").fill("not-the-key")
        await page.keyboard.press("Enter")
        await expect(page.locator("#status")).to_contain_text("That key was not accepted")
        await expect(page.locator("#login")).to_be_visible()
    await page.locator("#key").fill(run.key)
    await page.keyboard.press("Enter")
    await page.locator("#content").wait_for(state="visible", timeout=TIMEOUT_MS)
    return page, errors


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _finish_with_report(
    engine: Engine, iid: str, name: str, title: str, scores: dict[str, float]
) -> None:
    """Blocking: the interview as if it ran (notice accepted, finished) with its report."""
    now = datetime.now(UTC)
    lifecycle.move(
        engine,
        iid,
        InterviewState.FINISHED,
        actor="test",
        action="interview.finished",
        consent_at=now,
        notice_version="test",
        started_at=now,
        finished_at=now,
    )
    db.save_report(engine, iid, report_body(iid, scores, name, title))


TITLE = "Account executive"
REQUISITION: dict[str, Any] = {
    "title": TITLE,
    "language": "en",
    "family": "sales",
    "competencies": ["communication", "composure", "job_knowledge"],
    "questions": [{"text": "Tell me about a deal you closed.", "time_limit_s": 90}],
    "match": {
        "parts": [
            {"kind": "competency", "name": "communication", "weight": 50, "required": 70},
            {"kind": "competency", "name": "composure", "label": "stress resilience", "weight": 30},
            {"kind": "competency", "name": "job_knowledge", "weight": 20},
        ],
        "bands": {"high": 75, "medium": 55},
    },
    "salary_band": {"min": 50000, "max": 60000, "currency": "EUR"},
    "probation_months": 4,
}
CANDIDATES = {
    "Grace Hopper": {"communication": 62.0, "composure": 70.0, "job_knowledge": 75.0},
    "Ada Lovelace": {"communication": 88.0, "composure": 80.0, "job_knowledge": 77.0},
    "Alan Turing": {"communication": 40.0, "composure": 45.0, "job_knowledge": 50.0},
}


async def _requisition_with_candidates(
    run: Running, candidates: dict[str, dict[str, float]]
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The requisition, the interview ids and the candidates' own links, by name."""
    rid = (await run.post("/api/requisitions", REQUISITION))["id"]
    ids, links = {}, {}
    for name, scores in candidates.items():
        iv = await run.post("/api/interviews", {"requisition_id": rid, "candidate_name": name})
        await asyncio.to_thread(_finish_with_report, run.engine, iv["id"], name, TITLE, scores)
        ids[name], links[name] = iv["id"], iv["candidate_url"]
    return rid, ids, links


async def _candidate_page(
    browser: Browser, url: str, ready: str = "#done"
) -> tuple[Page, list[str]]:
    """The candidate's page at `url`, once `ready` shows (#done on the interview page's
    finish screen, #offer on the offer page)."""
    ctx = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    await expect(page.locator(ready)).to_be_visible(timeout=TIMEOUT_MS)
    return page, errors


async def test_analytics_on_a_synthetic_cohort(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        summary = await asyncio.to_thread(
            synthetic.generate, run.engine, 600, seed=3, impact={"female": 0.6}
        )
        assert summary.hired > 0
        page, errors = await _hr_page(browser, run, "/hr/analytics")
        await expect(page.locator("nav.hr-nav a[aria-current=page]")).to_have_text("Analytics")

        # Real data is the default: there is none, and the page offers the synthetic cohort.
        offer_synthetic = page.locator("#try-synthetic")
        await offer_synthetic.wait_for(state="visible", timeout=TIMEOUT_MS)
        await expect(page.locator(".synthetic-banner")).to_have_count(0)
        await offer_synthetic.click()
        await expect(page.locator(".synthetic-banner")).to_have_text(
            SYNTHETIC_LABEL, timeout=TIMEOUT_MS
        )
        assert "data=synthetic" in page.url

        # Predictive validity: one table per family with numbers, a rendered plot per family.
        families = page.locator("#validity-body section.family")
        await expect(families).to_have_count(3, timeout=TIMEOUT_MS)
        first_row = families.first.locator("table.validity-table tbody tr").first
        cells = await first_row.locator("td").all_text_contents()
        assert int(cells[1]) > 0  # n
        assert any(ch.isdigit() for ch in cells[2]) and "[" in cells[2]  # r [95% CI]
        await expect(page.locator("#validity-method")).to_contain_text("Pearson r")
        await page.wait_for_function(
            """() => {
                const fams = [...document.querySelectorAll('#validity-body section.family')];
                return fams.length > 0 && fams.every((f) => [...f.querySelectorAll('img.plot')]
                    .some((img) => img.complete && img.naturalWidth > 0));
            }""",
            timeout=30_000,
        )

        # Adverse impact: the planted impact on women is flagged at the interview stage.
        sex_table = page.locator(
            "table.impact-table[data-stage=interview_passed][data-dimension=sex]"
        )
        female = sex_table.locator("tbody tr", has_text="female")
        await expect(female).to_contain_text("below 4/5")
        await expect(sex_table.locator("caption")).to_contain_text("declined")
        await expect(page.locator("#impact-method")).to_contain_text("four-fifths")
        await expect(page.locator("#impact-scope")).to_contain_text("pending")
        suppressed = page.locator("#impact-body caption", has_text="suppressed for privacy")
        await expect(suppressed.first).to_contain_text("fewer than 5 people each")
        await expect(page.locator("#result-summary")).to_contain_text("decided applications")
        assert await page.locator("#impact-body[aria-live], #validity-body[aria-live]").count() == 0

        async with page.expect_download() as info:
            await page.locator("#export-csv").click()
        download = await info.value
        target = tmp_path / "impact.csv"
        await download.save_as(target)
        lines = target.read_text(encoding="utf-8").splitlines()
        assert lines[0] == f"# {SYNTHETIC_LABEL}"
        assert lines[1].startswith("stage,dimension,group")
        await _shot(page, "hr-analytics.png")

        # The other outcome, and adverse impact for one family.
        await page.get_by_label("Outcome").select_option("probation")
        await expect(page.locator("#validity-method")).to_contain_text(
            "probation manager rating", timeout=TIMEOUT_MS
        )
        await page.get_by_label("Adverse impact: family").select_option("sales")
        await expect(page.locator("#impact-body")).to_contain_text("in sales", timeout=TIMEOUT_MS)
        assert "outcome=probation" in page.url and "family=sales" in page.url

        # The same cohort on the requisition dashboard (paged) and the employee list.
        await page.goto(run.base + "/hr/requisitions")
        await page.get_by_role("link", name="[SYNTHETIC] Account executive").click()
        await expect(page.locator("#detail .synthetic-banner")).to_have_text(SYNTHETIC_LABEL)
        cards = page.locator("#ranking li.candidate")
        await expect(cards).to_have_count(20, timeout=TIMEOUT_MS)
        await expect(page.locator("#weights-table")).to_contain_text("past sales results")
        await page.locator("#more").click()
        await expect(cards).to_have_count(40, timeout=TIMEOUT_MS)
        await expect(cards.nth(20).locator("h3")).to_be_focused()
        scores = [float(s) for s in await cards.evaluate_all("cs => cs.map(c => c.dataset.score)")]
        assert scores == sorted(scores, reverse=True)
        await page.screenshot(path=str(ARTIFACTS / "hr-requisition-synthetic.png"))
        # Synthetic data is for analytics only: no decision or offer forms, and it says why.
        first = cards.first
        await first.locator("summary", has_text="read only").click()
        await expect(first.locator(".read-only")).to_contain_text("analytics only")
        await expect(first.locator("form")).to_have_count(0)

        await page.goto(run.base + "/hr/employees?data=synthetic")
        rows = page.locator("#employees tbody tr")
        await expect(rows).to_have_count(summary.hired, timeout=TIMEOUT_MS)
        await expect(rows.first.locator(".badge.synthetic")).to_have_text("SYNTHETIC")
        await rows.first.get_by_role("link").click()
        await expect(page.locator("#employee .synthetic-banner")).to_have_text(SYNTHETIC_LABEL)
        await expect(page.locator("#performance table.performance tbody tr")).to_have_count(1)
        await expect(page.locator("#read-only")).to_contain_text("analytics only")
        await expect(page.locator("#employee form")).to_have_count(0)

        # The interview list: real by default (none), synthetic on request, newest 100.
        await page.goto(run.base + "/hr")
        await expect(page.locator("#status")).to_contain_text("0 real interview(s)")
        await page.get_by_label("Interviews").select_option("synthetic")
        await expect(page.locator("#status")).to_contain_text("newest 100")
        listed = page.locator("#list tbody tr")
        await expect(listed).to_have_count(100)
        await expect(listed.first.locator(".badge.synthetic")).to_have_text("SYNTHETIC")
        assert "data=synthetic" in page.url
        assert errors == []


async def test_requisition_dashboard_decision_and_offer(
    make_settings: Callable[..., Settings],
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        _rid, ids, _links = await _requisition_with_candidates(run, CANDIDATES)
        page, errors = await _hr_page(browser, run, "/hr/analytics", wrong_key_first=True)
        # Nobody decided yet: adverse impact has no base, and says how many are pending.
        await expect(page.locator("#impact-scope")).to_contain_text(
            "0 decided applications, 3 pending", timeout=TIMEOUT_MS
        )
        # A section that cannot be computed says so in place of "Computing…".
        await page.route(
            "**/api/analytics/validity?*",
            lambda route: route.fulfill(status=500, json={"error": "database is busy"}),
        )
        await page.get_by_label("Outcome").select_option("probation")
        await expect(page.locator("#validity-body")).to_contain_text("database is busy")
        await expect(page.locator("#status")).to_have_text("database is busy")
        await expect(page.locator("#impact-scope")).to_contain_text("3 pending")
        await page.unroute("**/api/analytics/validity?*")
        await page.goto(run.base + "/hr/requisitions")
        await page.get_by_role("link", name=TITLE).click()
        cards = page.locator("#ranking li.candidate")
        await expect(cards).to_have_count(3, timeout=TIMEOUT_MS)
        scores = [float(s) for s in await cards.evaluate_all("cs => cs.map(c => c.dataset.score)")]
        assert scores == sorted(scores, reverse=True)
        await expect(cards.first.locator("h3")).to_have_text("1. Ada Lovelace")
        await expect(cards.first.locator(".band")).to_have_text("High match")
        await expect(cards.first.locator(".reasons")).to_contain_text("meets the requirement of 70")
        grace = cards.filter(has_text="Grace Hopper")
        await expect(grace.locator(".reasons li.below")).to_contain_text(
            "Below requirement: communication 62, below the requirement of 70"
        )
        await expect(page.locator("#weights-table")).to_contain_text("stress resilience")

        # A person decides "offer", with a reason and their name ...
        ada = cards.first
        said = ada.locator(".workflow-status")
        await ada.locator("summary", has_text="Decide and offer").click()
        await ada.get_by_label("Offer").check()
        await ada.get_by_label("Reason (required)").fill("Strongest communication, clear examples")
        await ada.get_by_label("Decided by (your name)").fill("Dana Reviewer")
        await ada.get_by_role("button", name="Record decision").click()
        await expect(ada.locator("table.decisions")).to_contain_text("Dana Reviewer")
        await expect(ada.locator(".state")).to_contain_text("Latest decision: offer")
        await expect(said).to_be_focused()
        await expect(said).to_have_text("Decision “offer” recorded.")

        # ... then makes the offer: the band and the requisition's probation are shown, and
        # any whole salary in the band is accepted (not only multiples of 100).
        form = ada.locator("form.offer-form")
        await expect(form).to_contain_text("min 50,000, max 60,000 EUR")
        await expect(form.get_by_label("Probation (months)")).to_have_value("4")
        await form.get_by_label("Annual salary (EUR)").fill("55555")
        await form.get_by_label("Offer made by (your name)").fill("Dana Reviewer")
        await form.get_by_role("button", name="Make the offer").click()
        link = ada.locator("input.candidate-link")
        await link.wait_for(timeout=TIMEOUT_MS)
        await expect(link).to_be_focused()
        url = await link.input_value()
        assert url.startswith(f"{run.base}/offer/{ids['Ada Lovelace']}#token=")
        await expect(ada.locator("pre.offer-text")).to_contain_text("Annual salary: 55,555 EUR")
        await expect(ada.locator(".state")).to_contain_text("Offer: offer sent")
        await _shot(page, "hr-requisition.png")

        r = await run.client.get(
            f"/api/interviews/{ids['Ada Lovelace']}/decision", headers=run.admin
        )
        state = await r.json()
        assert state["decisions"][-1]["decided_by"] == "Dana Reviewer"  # typed, with the key
        assert state["offer"]["state"] == "sent"
        assert state["employee_id"] is None

        # "Hold" on a sent offer withdraws it: the page asks first (cancelled, then confirmed).
        dialogs: list[str] = []
        answers = iter([False, True])

        async def on_dialog(d: Dialog) -> None:
            dialogs.append(d.message)
            await (d.accept() if next(answers) else d.dismiss())

        page.on("dialog", on_dialog)
        await expect(ada.locator(".warning")).to_contain_text("withdraws it")
        await ada.get_by_label("Hold").check()
        await ada.get_by_label("Reason (required)").fill("Budget frozen for this quarter")
        await ada.get_by_role("button", name="Record decision").click()
        await expect(said).to_have_text("Nothing recorded: the offer still stands.")
        await expect(ada.locator(".state")).to_contain_text("Offer: offer sent")
        await ada.get_by_role("button", name="Record decision").click()
        await expect(said).to_contain_text("the offer was withdrawn", timeout=TIMEOUT_MS)
        await expect(said).to_be_focused()
        await expect(ada.locator(".state")).to_contain_text("Offer: offer withdrawn")
        assert len(dialogs) == 2 and "withdraws the offer" in dialogs[0]
        r = await run.client.get(
            f"/api/interviews/{ids['Ada Lovelace']}/decision", headers=run.admin
        )
        state = await r.json()
        assert state["decisions"][-1]["decision"] == "hold"
        assert state["offer"]["state"] == "withdrawn"
        assert errors == []


async def test_candidate_accepts_offer_then_employee_record(
    make_settings: Callable[..., Settings],
) -> None:
    name = "Mei Lin"
    scores = {"communication": 48.0, "composure": 66.0, "job_knowledge": 80.0}
    async with _app(make_settings) as run, _chromium() as browser:
        _rid, ids, links = await _requisition_with_candidates(run, {name: scores})
        iid = ids[name]

        # The finish screen, before anyone decides: the voluntary self-identification is asked
        # now, answered with the keyboard-usable selects.
        cand, errors = await _candidate_page(browser, links[name])
        await expect(cand.locator("#done-text")).to_have_text(
            "Your interview is complete. You can close this page."
        )
        selfid = cand.locator("#self-id")
        await expect(selfid).to_contain_text("before any decision is made")
        await expect(selfid).to_contain_text("never shown to interviewers")
        await expect(cand.locator("#offer")).to_have_count(0)
        await cand.get_by_label("Sex").select_option("female")
        await cand.get_by_label("Race or ethnicity").select_option("declined")
        await cand.locator("#selfid-submit").click()
        await expect(cand.locator("#selfid-done")).to_contain_text("only in aggregate")
        assert await asyncio.to_thread(self_id.has_answered, run.engine, iid)
        await cand.context.close()

        await run.post(
            f"/api/interviews/{iid}/decision",
            {"decision": "offer", "reason": "clear and structured", "decided_by": "Dana"},
        )
        offer = await run.post(
            f"/api/interviews/{iid}/job-offer",
            {"salary": 52000, "start_date": date.today().isoformat(), "created_by": "Dana"},
        )

        # The offer: it takes the focus, the page does not say it can be closed, and the
        # self-identification is closed (a decision exists).
        cand, errors = await _candidate_page(browser, offer["candidate_url"], "#offer")
        await expect(cand.locator("#offer-text")).to_contain_text("Offer of employment")
        await expect(cand.locator("#offer")).to_contain_text("4 months")
        await expect(cand.locator("#offer-title")).to_be_focused()
        await expect(cand.locator("#done-text")).to_contain_text("waiting for your answer")
        await expect(cand.locator("#done-text")).not_to_contain_text("close this page")
        await expect(cand.locator("#self-id")).to_have_count(0)
        await _shot(cand, "candidate-offer.png")

        await cand.get_by_label("Type your full name to accept").fill("Someone Else")
        await cand.locator("#accept-offer").click()
        await expect(cand.locator("#offer-error")).to_contain_text("The name did not match")
        await cand.get_by_label("Type your full name to accept").fill("  mei LIN ")
        await cand.keyboard.press("Enter")
        await expect(cand.locator("#offer-accepted")).to_contain_text("mei LIN")
        await expect(cand.locator("#offer-title")).to_be_focused()
        await expect(cand.locator("#done-text")).to_contain_text("You can close this page")
        await expect(cand.locator("#offer-fingerprint")).to_contain_text(offer["text_sha256"][:12])
        await _shot(cand, "candidate-offer-accepted.png")
        assert errors == []

        # HR: the decision state names the new employee; a link with ?id= opens the record.
        r = await run.client.get(f"/api/interviews/{iid}/decision", headers=run.admin)
        eid = (await r.json())["employee_id"]
        assert isinstance(eid, int)
        page, hr_errors = await _hr_page(browser, run, f"/hr/employees?id={eid}")
        await expect(page.locator("#emp-name")).to_contain_text(name, timeout=TIMEOUT_MS)
        tasks = page.locator("#onboarding table.tasks tbody tr")
        await expect(tasks).to_have_count(3)
        await tasks.first.get_by_role("button").click()
        # The page re-renders once the task is stored: wait for that ("Mark done" already
        # contains "done"), or the form below is filled and then replaced by an empty one.
        await expect(tasks.first.get_by_role("button")).to_have_count(0)
        await expect(tasks.first).to_contain_text("done")
        await expect(page.locator("#interview")).to_contain_text("communication")

        form = page.locator("#probation-form")
        await form.get_by_label("Month since the start (0–24)").fill("3")
        await form.get_by_label("Manager rating (1–5)").fill("3")
        await form.get_by_label("Tasks completed (%)").fill("85")
        await form.get_by_label("Peer rating (1–5)").fill("2")
        await form.get_by_label("Manager feedback").fill("Good start; needs to speak up in team.")
        await form.get_by_label("Reviewer (your name)").fill("Dana")
        await form.get_by_role("button", name="Add probation review").click()
        await expect(page.locator("#probation table.probation tbody tr")).to_have_count(1)
        follow_up = page.locator("#followups article.follow-up")
        await expect(follow_up).to_contain_text("Clear communication at work")
        await expect(follow_up).to_contain_text("um, about communication")
        await expect(follow_up).to_contain_text("peer rating 2.0")
        await _shot(page, "hr-employee.png")
        await follow_up.get_by_role("button", name="Accept: enrol in the course").click()
        await expect(page.locator("#followups article.follow-up")).to_contain_text(
            "state: accepted"
        )
        training = page.locator("#training table.training tbody tr")
        await expect(training).to_contain_text("Clear communication at work")

        # Training status: chosen, then saved with the button (nothing is sent on a change).
        await training.get_by_label(
            "Status of Clear communication at work", exact=True
        ).select_option("completed")
        r = await run.client.get(f"/api/employees/{eid}", headers=run.admin)
        assert (await r.json())["training"][0]["status"] == "enrolled"
        await training.get_by_role("button", name="Save").click()
        await expect(page.locator("#status")).to_contain_text("completed", timeout=TIMEOUT_MS)
        await expect(
            training.get_by_label("Status of Clear communication at work", exact=True)
        ).to_have_value("completed")

        # "← All employees" leaves the record opened through ?id=.
        await page.locator("#back-to-list").click()
        await expect(page.locator("#employees tbody tr")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(page.locator("#employee")).to_be_hidden()
        assert "id=" not in page.url
        assert hr_errors == []


async def test_candidate_declines_offer(make_settings: Callable[..., Settings]) -> None:
    name = "Lin Wei"
    async with _app(make_settings) as run, _chromium() as browser:
        rid, ids, links = await _requisition_with_candidates(
            run, {name: CANDIDATES["Ada Lovelace"]}
        )
        iid = ids[name]
        # The finish screen is open while HR decides: the answers then come too late.
        cand, errors = await _candidate_page(browser, links[name])
        await cand.get_by_label("Sex").select_option("male")
        await run.post(
            f"/api/interviews/{iid}/decision",
            {"decision": "offer", "reason": "clear and structured", "decided_by": "Dana"},
        )
        await cand.locator("#selfid-submit").click()
        await expect(cand.locator("#selfid-done")).to_contain_text("can no longer be answered")
        assert not await asyncio.to_thread(self_id.has_answered, run.engine, iid)
        await cand.context.close()

        offer = await run.post(
            f"/api/interviews/{iid}/job-offer",
            {"salary": 52000, "start_date": date.today().isoformat(), "created_by": "Dana"},
        )
        cand, errors = await _candidate_page(browser, offer["candidate_url"], "#offer")
        cand.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await cand.locator("#decline-offer").click()
        await expect(cand.locator("#offer-declined")).to_be_visible(timeout=5_000)
        await expect(cand.locator("#done-text")).to_contain_text("You can close this page")
        assert errors == []

        # A new interview where the browser refuses the camera: the page says so.
        iv = await run.post("/api/interviews", {"requisition_id": rid, "candidate_name": "Kai"})
        ctx = await browser.new_context()
        await ctx.add_init_script(
            "navigator.mediaDevices.getUserMedia = () => Promise.reject("
            "new DOMException('Permission denied', 'NotAllowedError'));"
        )
        page = await ctx.new_page()
        await page.goto(iv["candidate_url"])
        await page.locator("#agree").check()
        await page.locator("#consent").click()
        await expect(page.locator("#error")).to_contain_text(
            "camera or microphone could not be used: Permission denied"
        )

"""Languages and contrast on the HR pages in a real browser (Debian's Chromium through
Playwright) against the real app, with data present: a requisition, interviews with reports,
a decision and an offer, an employee with reviews and a follow-up, and a small synthetic
cohort for the analytics. In Chinese no English is left on any page but the data the test
created; in both languages every visible text has at least 4.5:1 contrast. The en/中文 switch
is remembered and sets <html lang>. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import Engine

from analytics import synthetic
from hr_bridge import hiring, lifecycle
from hr_bridge import interviews as db
from hr_bridge.interviews import InterviewState
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.hr_fixtures import report_body
from tests.test_browser_hr import (
    REQUISITION,
    TIMEOUT_MS,
    Running,
    _app,
    _chromium,
)
from tests.ui_checks import contrast_ok, contrast_report, focus_visible, no_english_left

pytestmark = pytest.mark.browser

TITLE = REQUISITION["title"]
# A rule written in Chinese on the requisition: its follow-up reads in Chinese as typed.
RULE = {
    "id": "communication-zh",
    "title": "面试沟通较弱，试用期同事评分低",
    "course": "职场清晰沟通",
    "when": {"interview": {"communication": 55}, "probation": {"peer_rating": 2}},
}
CANDIDATES = {
    "Ada Lovelace": {"communication": 88.0, "composure": 80.0, "job_knowledge": 77.0},
    "Mei Lin": {"communication": 48.0, "composure": 66.0, "job_knowledge": 80.0},
}


# What the candidate said, as the report quotes it: the transcript is data, in Chinese here.
SAID = "嗯，我举个例子"


def _finish_in_chinese(engine: Engine, iid: str, name: str, scores: dict[str, float]) -> None:
    """Blocking: the interview finished, with a report whose evidence quotes Chinese speech."""
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
    report = report_body(iid, scores, name, TITLE)
    competencies = {
        k: c.model_copy(
            update={"evidence": [e.model_copy(update={"text": SAID}) for e in c.evidence]}
        )
        for k, c in report.competencies.items()
    }
    db.save_report(engine, iid, report.model_copy(update={"competencies": competencies}))


class Check(Protocol):
    """What a test checks on each page: the screenshot's name, and data only this page shows."""

    async def __call__(self, page: Page, shot: str, /, extra: Iterable[str] = ()) -> None: ...


@dataclass
class World:
    """What the test made, and every word of it a page may show as data."""

    rid: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    employee: int = 0
    data: set[str] = field(default_factory=set)


async def _world(run: Running) -> World:
    """Requisition (Chinese interview, a Chinese follow-up rule), two finished interviews with
    reports, one scheduled; Ada has an offer waiting, Mei accepted hers and has reviews."""
    w = World()
    body = {**REQUISITION, "language": "zh", "follow_up_rules": [RULE]}
    body["questions"] = [{"text": "请介绍一次您成功签下的交易。", "time_limit_s": 90}]
    w.rid = (await run.post("/api/requisitions", body))["id"]
    for name, scores in CANDIDATES.items():
        iv = await run.post("/api/interviews", {"requisition_id": w.rid, "candidate_name": name})
        await asyncio.to_thread(_finish_in_chinese, run.engine, iv["id"], name, scores)
        w.ids[name] = iv["id"]
    kai = await run.post("/api/interviews", {"requisition_id": w.rid, "candidate_name": "Kai"})
    w.ids["Kai"] = kai["id"]
    for name in CANDIDATES:
        await run.post(
            f"/api/interviews/{w.ids[name]}/decision",
            {"decision": "offer", "reason": "Clear examples", "decided_by": "Dana Reviewer"},
        )
        await run.post(
            f"/api/interviews/{w.ids[name]}/job-offer",
            {"salary": 52000, "start_date": date.today().isoformat(), "created_by": "Dana"},
        )
    offer = await asyncio.to_thread(hiring.current_offer, run.engine, w.ids["Mei Lin"])
    assert offer is not None
    _, employee = await asyncio.to_thread(
        hiring.answer_offer, run.engine, w.ids["Mei Lin"], True, "Mei Lin", offer.text_sha256
    )
    assert employee is not None and employee.id is not None
    w.employee = employee.id
    review = {
        "month": 3,
        "manager_rating": 3,
        "task_completion": 85,
        "peer_rating": 2,
        "manager_feedback": "Good start; speak up more.",
        "reviewer": "Dana",
    }
    out = await run.post(f"/api/employees/{w.employee}/probation-reviews", review)
    assert out["follow_ups"], "the Chinese rule should raise a follow-up"
    perf = {"period": "2027", "rating": 4, "notes": "Solid year", "reviewer": "Dana"}
    await run.post(f"/api/employees/{w.employee}/performance-reviews", perf)
    w.data |= {TITLE, "sales", "stress resilience", "EUR", "Dana Reviewer", "Clear examples"}
    w.data |= {"Kai", *CANDIDATES, str(review["manager_feedback"]), str(perf["notes"])}
    return w


async def _stored_words(run: Running) -> set[str]:
    """Names, titles and families the synthetic generator stored (data, shown as stored)."""
    words: set[str] = set()
    r = await run.client.get("/api/requisitions", headers=run.admin)
    for req in await r.json():
        words |= {req["title"], req["family"]}
    r = await run.client.get("/api/employees?data=all&limit=500", headers=run.admin)
    for e in (await r.json())["employees"]:
        words |= {e["name"], e["title"]}
    r = await run.client.get("/api/interviews?data=all", headers=run.admin)
    for iv in await r.json():
        words.add(iv["candidate_name"] or "")
    return words


async def _context_page(browser: Browser, run: Running, locale: str) -> Page:
    """A page in a browser whose language is `locale`, signed in to the HR pages."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = await ctx.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    await page.goto(run.base + "/hr")
    await page.locator("#key").fill(run.key)
    await page.keyboard.press("Enter")
    await page.locator("#content").wait_for(state="visible", timeout=TIMEOUT_MS)
    return page


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def _settled(page: Page) -> None:
    """Wait until the page has stopped saying it is loading or computing."""
    await expect(page.locator("#content")).to_be_visible(timeout=TIMEOUT_MS)
    for busy in ("正在", "Loading", "Computing"):
        await expect(page.locator("#status")).not_to_contain_text(busy, timeout=TIMEOUT_MS)


async def _open_everything(page: Page) -> None:
    """Open every closed <details> so that what it holds is checked too."""
    await page.evaluate(
        "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"
    )


async def _each_page(page: Page, run: Running, w: World, lang: str, check: Check) -> None:
    """Walk the HR pages with data shown and run `check` on each, screenshots included."""
    # Interviews list.
    await page.goto(run.base + "/hr")
    await expect(page.locator("#list tbody tr")).to_have_count(3, timeout=TIMEOUT_MS)
    await check(page, f"hr-{lang}-interviews.png")

    # The requisition's ranking, weights open, Ada's offer waiting (link box), a button
    # disabled as it is while a form is being sent.
    await page.goto(f"{run.base}/hr/requisitions#{w.rid}")
    cards = page.locator("#ranking li.candidate")
    await expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
    ada = cards.filter(has_text="Ada Lovelace")
    await ada.locator("summary").click()
    await expect(ada.locator("table.decisions")).to_be_visible(timeout=TIMEOUT_MS)
    await ada.locator(".offer-box button.link").click()  # a new candidate link
    await expect(ada.locator("input.candidate-link")).to_be_visible(timeout=TIMEOUT_MS)
    mei = cards.filter(has_text="Mei Lin")
    await mei.locator("summary").click()
    await expect(mei.locator("pre.offer-text")).to_be_visible(timeout=TIMEOUT_MS)
    await _open_everything(page)
    await ada.locator("form.decision-form button[type=submit]").evaluate(
        "b => { b.disabled = true; }"
    )
    link = await ada.locator("input.candidate-link").input_value()
    await check(page, f"hr-{lang}-requisition.png", extra=[link])

    # Employees: the list, then Mei's record with reviews, training and the follow-up.
    await page.goto(run.base + "/hr/employees")
    await expect(page.locator("#employees tbody tr")).to_have_count(1, timeout=TIMEOUT_MS)
    await check(page, f"hr-{lang}-employees.png")
    await page.goto(f"{run.base}/hr/employees#{w.employee}")
    await expect(page.locator("#followups article.follow-up")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(page.locator("#performance table.performance tbody tr")).to_have_count(1)
    await check(page, f"hr-{lang}-employee.png")

    # Analytics on the real records (one employee: too few to say anything), then synthetic.
    await page.goto(run.base + "/hr/analytics")
    await expect(page.locator("#impact-scope")).to_be_visible(timeout=TIMEOUT_MS)
    await _settled(page)
    await check(page, f"hr-{lang}-analytics-real.png")
    await page.goto(run.base + "/hr/analytics?data=synthetic")
    await expect(page.locator("#validity-body section.family").first).to_be_visible(
        timeout=TIMEOUT_MS
    )
    await expect(page.locator("table.impact-table").first).to_be_visible(timeout=TIMEOUT_MS)
    await _settled(page)
    await _open_everything(page)
    await check(page, f"hr-{lang}-analytics-synthetic.png")

    # The start page.
    await page.goto(run.base + "/")
    await expect(page.locator("#status[data-state]")).to_be_visible(timeout=TIMEOUT_MS)
    await check(page, f"home-{lang}.png")


async def test_hr_pages_in_chinese_have_no_english_and_enough_contrast(
    make_settings: Callable[..., Settings],
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)
        await asyncio.to_thread(synthetic.generate, run.engine, 80, seed=5)
        allow = w.data | await _stored_words(run) | {run.base, w.rid, *w.ids.values()}

        # The sign-in form, before the key: the browser's language (zh-CN) is the default.
        ctx = await browser.new_context(locale="zh-CN")
        first = await ctx.new_page()
        await first.goto(run.base + "/hr/requisitions")
        await expect(first.locator("#login")).to_be_visible()
        assert await first.evaluate("document.documentElement.lang") == "zh-CN"
        await expect(first.locator(".lang-switch button[aria-pressed=true]")).to_have_text("中文")
        await no_english_left(first, allow)
        await contrast_ok(first)
        await _shot(first, "hr-zh-login.png")
        await ctx.close()

        page = await _context_page(browser, run, "zh-CN")

        async def check(p: Page, shot: str, extra: Iterable[str] = ()) -> None:
            assert await p.evaluate("document.documentElement.lang") == "zh-CN"
            await _shot(p, shot)
            await no_english_left(p, allow | set(extra))
            assert await contrast_ok(p) > 5

        await _each_page(page, run, w, "zh", check)


async def test_hr_pages_in_english_have_enough_contrast_and_the_switch_is_remembered(
    make_settings: Callable[..., Settings],
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)
        await asyncio.to_thread(synthetic.generate, run.engine, 80, seed=5)
        page = await _context_page(browser, run, "en-US")
        assert await page.evaluate("document.documentElement.lang") == "en"

        async def check(p: Page, shot: str, extra: Iterable[str] = ()) -> None:
            assert await p.evaluate("document.documentElement.lang") == "en"
            await _shot(p, shot)
            report = await contrast_report(p)
            assert any(c["disabled"] for c in report) or "requisition" not in shot
            assert await contrast_ok(p) > 5

        await _each_page(page, run, w, "en", check)

        # The switch: 中文 reloads the page in Chinese, and the choice holds on the next page
        # (over the browser's English), until English is chosen again.
        await page.goto(run.base + "/hr/employees")
        await expect(page.locator("h1")).to_have_text("Employees")
        await page.locator(".lang-switch button", has_text="中文").click()
        await expect(page.locator("h1")).to_have_text("员工", timeout=TIMEOUT_MS)
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await expect(page.locator("#content")).to_be_visible()  # still signed in
        await page.goto(run.base + "/hr/analytics")
        await expect(page.locator("h1")).to_have_text("分析")
        await expect(page.locator("nav.hr-nav a[aria-current=page]")).to_have_text("分析")
        await page.locator(".lang-switch button", has_text="English").click()
        await expect(page.locator("h1")).to_have_text("Analytics", timeout=TIMEOUT_MS)
        assert await page.evaluate("localStorage.getItem('hirestream:lang')") == "en"

        # The keyboard: each control in turn shows a focus ring that can be seen.
        seen = set()
        for _ in range(8):
            await page.keyboard.press("Tab")
            seen.add((await focus_visible(page))["tag"])
        assert {"button", "a", "select"} <= seen, seen


async def test_candidate_notice_and_live_view_waiting_in_chinese(
    make_settings: Callable[..., Settings],
) -> None:
    """The other two pages, in the state each opens in: the candidate's notice (before any
    camera) and the interviewer's live view waiting for the candidate. Their language is the
    requisition's, whatever the browser's."""
    title, question = "客户支持主管", "请介绍一下您最大的优点。"
    async with _app(make_settings) as run, _chromium() as browser:
        body = {"title": title, "language": "zh", "questions": [{"text": question}]}
        rid = (await run.post("/api/requisitions", body))["id"]
        iv = await run.post("/api/interviews", {"requisition_id": rid, "candidate_name": "Ada"})
        allow = {title, question, "Ada", run.base}
        ctx = await browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-US")
        errors: list[str] = []
        ctx.on("weberror", lambda e: errors.append(str(e.error)))

        candidate = await ctx.new_page()
        await candidate.goto(iv["candidate_url"])
        await candidate.locator("#agree").wait_for(timeout=TIMEOUT_MS)
        assert await candidate.evaluate("document.documentElement.lang") == "zh-CN"
        await _shot(candidate, "candidate-zh-notice-checked.png")
        await no_english_left(candidate, allow)
        assert await contrast_ok(candidate) > 3

        viewer = await ctx.new_page()
        await viewer.goto(iv["interviewer_urls"][0])
        await viewer.locator('#state[data-state="waiting"]').wait_for(timeout=TIMEOUT_MS)
        assert await viewer.evaluate("document.documentElement.lang") == "zh-CN"
        await _shot(viewer, "live-view-zh-waiting-checked.png")
        await no_english_left(viewer, allow)
        assert await contrast_ok(viewer) > 3
        assert errors == []

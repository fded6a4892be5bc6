"""Staff accounts in a real browser (Debian's Chromium through Playwright) against the real app:
each role signs in through /signin and lands on its start page, sees only the pages its access
allows, and gets a plain refusal (not a blank page) for the others; an interviewer sees only
the interviews assigned to them, with the live view and the report; a hiring manager decides
without typing their name; an HR admin sets up their password from a one-time link, adds a
person (the one-time link is shown), creates an API key and signs out; two-factor sign-in asks
for the code; /signin in Chinese has no English left. Accounts are made with hr_bridge.accounts
directly. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, Page, expect

from hr_bridge import accounts
from hr_bridge.accounts import RoleGrant
from hr_bridge.roles import Role
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.oidc_provider import OidcProvider, running_oidc_provider
from tests.test_browser_hr import (
    CANDIDATES,
    REQUISITION,
    TIMEOUT_MS,
    TITLE,
    Running,
    _app,
    _chromium,
    _finish_with_report,
)
from tests.ui_checks import contrast_ok, no_english_left

pytestmark = pytest.mark.browser

PASSWORD = "a long staff passphrase 42"
OTHER_TITLE = "Data engineer"
# The navigation each role sees (in English), in the pages' order.
NAV = {
    "hr_admin": ["Interviews", "Requisitions", "Employees", "Analytics", "People"],
    "recruiter": ["Interviews", "Requisitions"],
    "hiring_manager": ["Interviews", "My interviews", "Requisitions"],
    "interviewer": ["Interviews", "My interviews"],
    "auditor": ["Analytics"],
}
LANDING = {
    "hr_admin": "/hr",
    "recruiter": "/hr",
    "hiring_manager": "/hr/requisitions",
    "interviewer": "/hr/mine",
    "auditor": "/hr/analytics",
}
REFUSAL = "Your access does not include this page."


@dataclass
class World:
    rid: str  # the requisition the hiring manager holds, with Ada (finished) and Grace (scheduled)
    other_rid: str  # another requisition, with Alan (finished)
    ids: dict[str, str]  # candidate name -> interview id
    emails: dict[str, str]  # role -> the email of the person holding it


async def _world(run: Running) -> World:
    """Two requisitions with interviews, and one person per role (the interviewer assigned to
    Ada's and Grace's interviews, the hiring manager to the first requisition)."""
    rid = (await run.post("/api/requisitions", REQUISITION))["id"]
    other = {**REQUISITION, "title": OTHER_TITLE, "family": "engineering"}
    other_rid = (await run.post("/api/requisitions", other))["id"]
    ids: dict[str, str] = {}
    for name, req, finished in [
        ("Ada Lovelace", rid, True),
        ("Grace Hopper", rid, False),
        ("Alan Turing", other_rid, True),
    ]:
        iv = await run.post("/api/interviews", {"requisition_id": req, "candidate_name": name})
        ids[name] = iv["id"]
        if finished:
            title = TITLE if req == rid else OTHER_TITLE
            await asyncio.to_thread(
                _finish_with_report, run.engine, iv["id"], name, title, CANDIDATES[name]
            )
    grants = {
        "hr_admin": [RoleGrant(Role.HR_ADMIN)],
        "recruiter": [RoleGrant(Role.RECRUITER)],
        "hiring_manager": [RoleGrant(Role.HIRING_MANAGER, requisition_id=rid)],
        "interviewer": [
            RoleGrant(Role.INTERVIEWER, interview_id=ids["Ada Lovelace"]),
            RoleGrant(Role.INTERVIEWER, interview_id=ids["Grace Hopper"]),
        ],
        "auditor": [RoleGrant(Role.AUDITOR)],
    }
    emails = {}
    for role, roles in grants.items():
        email = f"{role.replace('_', '.')}@example.com"
        # The HR admin gets no password: they choose it from a one-time link (the setup page).
        password = None if role == "hr_admin" else PASSWORD
        name = role.replace("_", " ").title()
        await asyncio.to_thread(
            accounts.create_account, run.engine, email, name, roles, "test", password
        )
        emails[role] = email
    return World(rid, other_rid, ids, emails)


async def _page(browser: Browser, locale: str = "en-US", width: int = 1280) -> Page:
    ctx = await browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = await ctx.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    return page


async def _sign_in(page: Page, run: Running, email: str, path: str = "/signin") -> None:
    await page.goto(run.base + path)
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#submit").click()


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def _lands(page: Page, run: Running, role: str) -> None:
    """The role's start page, ready, with only its pages in the navigation."""
    await page.wait_for_url(run.base + LANDING[role], timeout=TIMEOUT_MS)
    await expect(page.locator("#content")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("nav.hr-nav a")).to_have_text(NAV[role])
    await expect(page.locator("#account")).to_contain_text("Signed in as")
    await expect(page.locator("#login")).to_be_hidden()


async def _refused(page: Page, run: Running, path: str, text: str = REFUSAL) -> None:
    await page.goto(run.base + path)
    await expect(page.locator("#refusal")).to_contain_text(text, timeout=TIMEOUT_MS)
    await expect(page.locator("#content")).to_be_hidden()
    await expect(page.locator("#login")).to_be_hidden()


async def test_each_role_signs_in_and_sees_only_what_it_may(
    make_settings: Callable[..., Settings],
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)

        # Interviewer: their two interviews only, the live view and the report with the session.
        page = await _page(browser)
        await _sign_in(page, run, w.emails["interviewer"])
        await _lands(page, run, "interviewer")
        rows = page.locator("#mine tbody tr")
        await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
        listed = await rows.locator("td:first-child").all_text_contents()
        assert sorted(listed) == ["Ada Lovelace", "Grace Hopper"]
        ada = rows.filter(has_text="Ada Lovelace")
        await expect(ada.get_by_role("button", name="Watch live")).to_have_count(0)
        grace = rows.filter(has_text="Grace Hopper")
        await expect(grace.get_by_role("link", name="Report")).to_have_count(0)
        await _shot(page, "staff-interviewer-mine.png")
        await _refused(page, run, "/hr/analytics")
        await _shot(page, "staff-interviewer-refused.png")
        await _refused(page, run, "/hr/users")
        assert (await page.request.get(run.base + "/api/users")).status == 403
        alan = await page.request.get(f"{run.base}/api/interviews/{w.ids['Alan Turing']}/report")
        assert alan.status == 403
        await page.goto(run.base + "/hr/mine")
        await rows.filter(has_text="Ada Lovelace").get_by_role("link", name="Report").click()
        await expect(page.locator("#report h1")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.locator("#back")).to_have_text("Back to my interviews")
        await _shot(page, "staff-interviewer-report.png")
        # Another interview's report page says it is not theirs.
        await page.goto(f"{run.base}/report/{w.ids['Alan Turing']}")
        await expect(page.locator("#report-status")).to_contain_text(
            "does not include this interview's report", timeout=TIMEOUT_MS
        )
        await page.goto(run.base + "/hr/mine")
        await rows.filter(has_text="Grace Hopper").get_by_role("button", name="Watch live").click()
        await page.wait_for_url(re.compile(re.escape(f"/live/{w.ids['Grace Hopper']}")))
        await page.context.close()

        # Hiring manager: their requisition only; deciding records them without a typed name.
        page = await _page(browser)
        await _sign_in(page, run, w.emails["hiring_manager"])
        await _lands(page, run, "hiring_manager")
        await expect(page.locator("#requisitions tbody tr")).to_have_count(1)
        await expect(page.locator("#requisitions")).not_to_contain_text(OTHER_TITLE)
        await page.get_by_role("link", name=TITLE).click()
        ada = page.locator("#ranking li.candidate").filter(has_text="Ada Lovelace")
        await ada.locator("summary", has_text="Decide and offer").click(timeout=TIMEOUT_MS)
        await expect(ada.get_by_label("Decided by (your name)")).to_be_hidden()
        await ada.get_by_label("Advance").check()
        await ada.get_by_label("Reason (required)").fill("Clear examples, strong communication")
        await ada.get_by_role("button", name="Record decision").click()
        await expect(ada.locator("table.decisions")).to_contain_text(
            "Hiring Manager <hiring.manager@example.com>", timeout=TIMEOUT_MS
        )
        await _shot(page, "staff-hiring-manager.png")
        await page.goto(f"{run.base}/hr/requisitions#{w.other_rid}")
        await expect(page.locator("#status")).to_contain_text(
            "Your access does not include this.", timeout=TIMEOUT_MS
        )
        await _refused(page, run, "/hr/employees")
        await page.context.close()

        # Recruiter and auditor: their pages, the others refused.
        page = await _page(browser)
        await _sign_in(page, run, w.emails["recruiter"])
        await _lands(page, run, "recruiter")
        await expect(page.locator("#list tbody tr")).to_have_count(3, timeout=TIMEOUT_MS)
        await _refused(page, run, "/hr/analytics")
        await page.context.close()
        page = await _page(browser)
        await _sign_in(page, run, w.emails["auditor"])
        await _lands(page, run, "auditor")
        await _shot(page, "staff-auditor.png")
        await _refused(page, run, "/hr")
        await _shot(page, "staff-auditor-refused.png")
        assert (await page.request.get(run.base + "/api/interviews")).status == 403
        await page.context.close()


async def test_admin_sets_up_adds_a_person_makes_a_key_and_signs_out(
    make_settings: Callable[..., Settings],
) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)
        admin = await asyncio.to_thread(accounts.find_account, run.engine, w.emails["hr_admin"])
        assert admin is not None
        token = await asyncio.to_thread(accounts.create_setup_link, run.engine, "reset", admin.id)

        # The one-time link: password twice (a mismatch said first), then signed in at /hr.
        page = await _page(browser)
        await page.goto(f"{run.base}/account/setup#{token}")
        await expect(page.locator("#setup")).to_be_visible(timeout=TIMEOUT_MS)
        assert token not in page.url  # taken out of the address bar
        await page.get_by_label("New password", exact=True).fill(PASSWORD)
        await page.get_by_label("New password again").fill(PASSWORD + "x")
        await page.get_by_role("button", name="Save and sign in").click()
        await expect(page.locator("#status")).to_have_text("The two passwords are not the same.")
        await page.get_by_label("New password again").fill(PASSWORD)
        await page.get_by_role("button", name="Save and sign in").click()
        await _lands(page, run, "hr_admin")

        # The same link again: used, said plainly.
        again = await _page(browser)
        await again.goto(f"{run.base}/account/setup#{token}")
        await expect(again.locator("#status")).to_contain_text(
            "used already or has expired", timeout=TIMEOUT_MS
        )
        await expect(again.locator("#setup")).to_be_hidden()
        await again.context.close()

        # People: everyone listed; add an interviewer for Grace's interview, link shown once.
        await page.get_by_role("link", name="People").click()
        people = page.locator("#people-table tbody tr")
        await expect(people).to_have_count(5, timeout=TIMEOUT_MS)
        form = page.locator("#add-form")
        await form.get_by_label("Name").fill("Wei Zhang")
        await form.get_by_label("Work email").fill("wei@example.com")
        await form.get_by_label("Interviewer for one interview (its id)").fill(
            w.ids["Grace Hopper"]
        )
        await form.get_by_role("button", name="Add the person").click()
        link = page.locator("#one-time input.setup-link")
        await expect(link).to_be_focused(timeout=TIMEOUT_MS)
        url = await link.input_value()
        assert "/account/setup#" in url
        await expect(people).to_have_count(6)
        wei = people.filter(has_text="wei@example.com")
        await expect(wei).to_contain_text("Interviewer for the interview")
        await expect(wei).to_contain_text("no password yet")
        await _shot(page, "staff-admin-people.png")

        # An API key for an integration: shown once, listed, revoked.
        keys = page.locator("#key-form")
        await keys.get_by_label("Key name (what uses it)").fill("ATS sync")
        await keys.get_by_label("read reports and interviewers' ratings").check()
        await keys.get_by_role("button", name="Create the key").click()
        shown = page.locator("#key-shown input.api-key")
        await expect(shown).to_be_focused(timeout=TIMEOUT_MS)
        key = await shown.input_value()
        assert key.startswith("hsk_")
        reply = await page.request.get(
            f"{run.base}/api/interviews/{w.ids['Ada Lovelace']}/report",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert reply.status == 200
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await page.locator("#keys-table").get_by_role("button", name="Revoke").click()
        await expect(page.locator("#keys-table")).to_contain_text("revoked", timeout=TIMEOUT_MS)
        await _shot(page, "staff-admin-keys.png")

        # Wei opens the link, chooses a password, and lands on their one interview.
        newcomer = await _page(browser)
        await newcomer.goto(url)
        await newcomer.get_by_label("New password", exact=True).fill(PASSWORD)
        await newcomer.get_by_label("New password again").fill(PASSWORD)
        await newcomer.get_by_role("button", name="Save and sign in").click()
        await _lands(newcomer, run, "interviewer")
        await expect(newcomer.locator("#mine tbody tr")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(newcomer.locator("#mine")).to_contain_text("Grace Hopper")
        await newcomer.context.close()

        # Change Wei's roles (Recruiter added, the interview kept) and disable the recruiter.
        await wei.get_by_role("button", name="Change roles").click()
        panel = page.locator("#panel")
        await expect(panel.locator("h3")).to_be_focused()
        await panel.get_by_label("Recruiter").check()
        await panel.get_by_role("button", name="Save roles").click()
        await expect(wei.locator("li")).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(wei).to_contain_text("Recruiter")
        roles = await asyncio.to_thread(accounts.find_account, run.engine, "wei@example.com")
        assert roles is not None and {g.label() for g in roles.roles} == {
            "recruiter",
            f"interviewer:interview={w.ids['Grace Hopper']}",
        }
        recruiter = people.filter(has_text=w.emails["recruiter"])
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await recruiter.get_by_role("button", name="Disable").click()
        await expect(recruiter).to_contain_text("disabled", timeout=TIMEOUT_MS)
        await expect(recruiter.get_by_role("button", name="Enable")).to_be_visible()

        # Sign out: back to /signin, and the HR pages ask to sign in again.
        await page.get_by_role("button", name="Sign out", exact=True).click()
        await page.wait_for_url(run.base + "/signin", timeout=TIMEOUT_MS)
        await page.goto(run.base + "/hr/users")
        await expect(page.locator("#signin-link")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.locator("#login")).to_be_visible()
        href = await page.locator("#signin-link").get_attribute("href")
        assert href == "/signin?next=%2Fhr%2Fusers"
        assert (await page.request.get(run.base + "/api/me")).status == 401


async def test_two_factor_sign_in_and_next(make_settings: Callable[..., Settings]) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)
        recruiter = await asyncio.to_thread(
            accounts.find_account, run.engine, w.emails["recruiter"]
        )
        assert recruiter is not None
        secret = pyotp.random_base32()
        # Turned on a minute ago (a code counts once: the one that turned it on is spent).
        earlier = datetime.now(UTC) - timedelta(seconds=60)
        ok = await asyncio.to_thread(
            accounts.enable_totp,
            run.engine,
            recruiter.id,
            secret,
            pyotp.TOTP(secret).at(earlier),
            "t",
            earlier,
        )
        assert ok
        page = await _page(browser)
        # A wrong password first, then the right one: the code is asked for.
        await page.goto(run.base + "/signin?next=/hr/requisitions")
        await page.locator("#email").fill(w.emails["recruiter"])
        await page.locator("#password").fill("not the password at all")
        await page.locator("#submit").click()
        await expect(page.locator("#status")).to_have_text(
            "The email or the password is not right."
        )
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#submit").click()
        await expect(page.locator("#code")).to_be_focused(timeout=TIMEOUT_MS)
        await expect(page.locator("#status")).to_contain_text("type the code")
        await page.locator("#code").fill(pyotp.TOTP(secret).now())
        await page.locator("#submit").click()
        # ?next= wins over the start page (same-site paths only).
        await page.wait_for_url(run.base + "/hr/requisitions", timeout=TIMEOUT_MS)
        await expect(page.locator("#totp-state")).to_have_text("Two-factor sign-in is on.")
        # Removing it takes a current code too (the next one: the sign-in's is spent).
        await page.locator("#totp-toggle").click()
        ahead = datetime.now(UTC) + timedelta(seconds=30)
        await page.locator("#totp-panel input[name=code]").fill(pyotp.TOTP(secret).at(ahead))
        await page.locator("#totp-panel button[type=submit]").click()
        await expect(page.locator("#status")).to_have_text("Two-factor sign-in was removed.")
        await expect(page.locator("#totp-state")).to_have_text("Two-factor sign-in is off.")
        await page.context.close()

        # Another site as next is ignored: the start page instead. The auditor sets up
        # two-factor sign-in from the account box (the secret shown for typing into an app).
        page = await _page(browser)
        await _sign_in(page, run, w.emails["auditor"], "/signin?next=//evil.example/x")
        await _lands(page, run, "auditor")
        await page.get_by_role("button", name="Set up two-factor sign-in").click()
        uri = await page.locator("#totp-uri").input_value()
        assert uri.startswith("otpauth://totp/")
        typed = await page.locator("#totp-secret").input_value()
        await page.get_by_label("Code from the app").fill("000000")
        await page.get_by_role("button", name="Turn on two-factor sign-in").click()
        await expect(page.locator("#totp-panel .form-error")).to_contain_text("not right")
        await page.get_by_label("Code from the app").fill(pyotp.TOTP(typed).now())
        await page.get_by_role("button", name="Turn on two-factor sign-in").click()
        await expect(page.locator("#totp-state")).to_have_text("Two-factor sign-in is on.")
        await expect(page.locator("#status")).to_have_text("Two-factor sign-in is now on.")
        auditor = await asyncio.to_thread(accounts.find_account, run.engine, w.emails["auditor"])
        assert auditor is not None and auditor.totp_enabled
        await _shot(page, "staff-auditor-two-factor.png")

        # Sign out everywhere: another browser's session of the same person ends too.
        other = await _page(browser)
        await other.goto(run.base + "/signin")
        await other.locator("#email").fill(w.emails["auditor"])
        await other.locator("#password").fill(PASSWORD)
        await other.locator("#submit").click()
        # The code that turned it on is spent: the app's next one (one step ahead is allowed).
        ahead = datetime.now(UTC) + timedelta(seconds=30)
        await other.locator("#code").fill(pyotp.TOTP(typed).at(ahead))
        await other.locator("#submit").click()
        await _lands(other, run, "auditor")
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await page.get_by_role("button", name="Sign out everywhere").click()
        await page.wait_for_url(run.base + "/signin", timeout=TIMEOUT_MS)
        assert (await other.request.get(run.base + "/api/me")).status == 401
        await other.reload()
        await expect(other.locator("#login")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(other.locator("#signin-link")).to_be_visible()


async def test_signin_in_chinese_has_no_english(make_settings: Callable[..., Settings]) -> None:
    async with _app(make_settings) as run, _chromium() as browser:
        w = await _world(run)
        allow = {run.base, *w.emails.values()}
        page = await _page(browser, "zh-CN", width=375)
        await page.goto(run.base + "/signin")
        await expect(page.locator("h1")).to_have_text("登录")
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await no_english_left(page, allow)
        assert await contrast_ok(page) > 3
        # Usable on a phone: nothing wider than the screen.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await _shot(page, "staff-signin-zh-375.png")

        # A refusal, in Chinese too.
        await page.locator("#email").fill(w.emails["auditor"])
        await page.locator("#password").fill("not the password at all")
        await page.locator("#submit").click()
        await expect(page.locator("#status")).to_have_text("电子邮箱或密码不正确。")
        await no_english_left(page, allow)
        await _shot(page, "staff-signin-zh-refused.png")

        # Signed in: the account box and navigation in Chinese, nothing English left.
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#submit").click()
        await page.wait_for_url(run.base + "/hr/analytics", timeout=TIMEOUT_MS)
        await expect(page.locator("#account")).to_contain_text("已登录")
        await expect(page.locator("nav.hr-nav a")).to_have_text(["分析"])
        await _refused(page, run, "/hr/users", "您的权限不包括此页面。")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await no_english_left(page, allow | {"Auditor"})
        await _shot(page, "staff-refused-zh-375.png")
        await page.context.close()

        # The people page of an HR admin, in Chinese, with a one-time link shown.
        admin = await asyncio.to_thread(accounts.find_account, run.engine, w.emails["hr_admin"])
        assert admin is not None
        await asyncio.to_thread(accounts.set_password, run.engine, admin.id, PASSWORD, "test")
        page = await _page(browser, "zh-CN")
        await _sign_in(page, run, w.emails["hr_admin"], "/signin?next=/hr/users")
        await page.wait_for_url(run.base + "/hr/users", timeout=TIMEOUT_MS)
        people = page.locator("#people-table tbody tr")
        await expect(people).to_have_count(5, timeout=TIMEOUT_MS)
        await (
            people.filter(has_text=w.emails["recruiter"])
            .get_by_role("button", name="新的登录链接")
            .click()
        )
        await page.locator("#panel").get_by_role("button", name="生成链接").click()
        await expect(page.locator("#panel input.setup-link")).to_be_focused(timeout=TIMEOUT_MS)
        names = {role.replace("_", " ").title() for role in w.emails}
        await no_english_left(
            page, allow | names | {TITLE, OTHER_TITLE, *w.ids.values(), *CANDIDATES}
        )
        assert await contrast_ok(page) > 10
        await _shot(page, "staff-people-zh.png")


async def test_first_admin_from_the_first_run_link_in_chinese(
    make_settings: Callable[..., Settings],
) -> None:
    """A fresh store: the first-run link asks for email, name and password (in Chinese here),
    makes the first HR admin and signs them in."""
    async with _app(make_settings) as run, _chromium() as browser:
        assert await asyncio.to_thread(accounts.needs_first_admin, run.engine)
        token = await asyncio.to_thread(accounts.create_setup_link, run.engine, "first_admin")
        page = await _page(browser, "zh-CN", width=375)
        await page.goto(f"{run.base}/account/setup#{token}")
        await expect(page.locator("#email")).to_be_focused(timeout=TIMEOUT_MS)
        await no_english_left(page, {run.base})
        assert await contrast_ok(page) > 5
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await _shot(page, "staff-first-admin-zh-375.png")
        await page.get_by_label("您的工作邮箱").fill("lin@example.com")
        await page.get_by_label("您的姓名").fill("林晓")
        await page.get_by_label("新密码", exact=True).fill("short")
        await page.get_by_label("再次输入新密码").fill("short")
        await page.get_by_role("button", name="保存并登录").click()
        # The browser's own check of minlength holds the form back; nothing was sent.
        assert await page.locator("#password").evaluate("i => !i.validity.valid")
        await page.get_by_label("新密码", exact=True).fill(PASSWORD)
        await page.get_by_label("再次输入新密码").fill(PASSWORD)
        await page.get_by_role("button", name="保存并登录").click()
        await page.wait_for_url(run.base + "/hr", timeout=TIMEOUT_MS)
        await expect(page.locator("#account")).to_contain_text("林晓")
        assert not await asyncio.to_thread(accounts.needs_first_admin, run.engine)
        lin = await asyncio.to_thread(accounts.find_account, run.engine, "lin@example.com")
        assert lin is not None and [g.label() for g in lin.roles] == ["hr_admin"]


SSO_USERS = {
    "rob": {
        "email": "rob@example.com",
        "email_verified": True,
        "name": "Rob Recruiter",
        "groups": ["talent"],
    },
    "zed": {
        "email": "zed@example.com",
        "email_verified": True,
        "name": "Zed Nobody",
        "groups": ["all"],
    },
}


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OidcProvider]:
    with running_oidc_provider(tmp_path / "oidc.log", users=SSO_USERS) as p:
        yield p


async def test_single_sign_on_from_the_sign_in_page(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    """The button shows when single sign-on is set up; the provider's form (a real provider
    process) signs the person in and they land on their start page; a refusal comes back to
    the sign-in page and says so."""
    sso = functools.partial(
        make_settings,
        oidc_issuer=provider.issuer,
        oidc_client_id="hirestream",
        oidc_client_secret="client-secret-for-tests",
        oidc_role_map={"talent": ["recruiter"]},
    )
    async with _app(sso) as run, _chromium() as browser:
        page = await _page(browser)
        await page.goto(run.base + "/signin")
        button = page.get_by_role("link", name="Sign in with single sign-on")
        await expect(button).to_be_visible(timeout=TIMEOUT_MS)
        await _shot(page, "staff-signin-sso.png")
        await button.click()
        await page.locator('input[name="sub"]').fill("rob")
        await page.get_by_role("button", name="Authorize").click()
        await _lands(page, run, "recruiter")
        await expect(page.locator("#account")).to_contain_text("Rob Recruiter")
        await page.context.close()

        page = await _page(browser)
        await page.goto(run.base + "/signin")
        await page.get_by_role("link", name="Sign in with single sign-on").click()
        await page.locator('input[name="sub"]').fill("zed")
        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(re.compile(re.escape(run.base + "/signin")), timeout=TIMEOUT_MS)
        await expect(page.locator("#status")).to_contain_text(
            "Single sign-on did not sign you in.", timeout=TIMEOUT_MS
        )
        await expect(page.locator("#sso-reason")).to_contain_text("no hirestream role")
        assert "sso_error" not in page.url
        assert (await page.request.get(run.base + "/api/me")).status == 401

"""The candidate's pages in a real browser (Debian's Chromium, a fake camera with a face and a
fake microphone with synthesized speech): a long answer is not cut off; the whole flow works
with the keyboard alone at 375 px without sideways scrolling; the practice question sends
nothing; bad, expired and used links say what to do in plain words; the offer page shows the
salary and the date once; the zh page shows only text from the zh catalogue; a reload in the
middle of the interview resumes at the same question. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, async_playwright

from hr_bridge import interviews as db
from hr_bridge import lifecycle
from hr_bridge.interviews import InterviewState
from server.app import create_app
from server.app_keys import AUTH_KEY, INTERVIEWS_KEY, RESOURCES_KEY
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.hr_fixtures import finished_interview
from tests.media import browser_media
from tests.test_browser import CHROMIUM_ARGS
from tests.test_browser_interview import _contrast, _free_port

pytestmark = pytest.mark.browser

CONTACT = "hiring@example.com"
SHORT = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
]
# One answer of about half a minute, spoken without a real pause; the last sentence is the
# one a cut-off answer loses.
LONG = [
    "Let me tell you about the largest project I have led so far in my career.",
    "We moved our customer support team to a new ticket system during the busy season.",
    "I planned the work in small steps and trained every agent myself over three weeks.",
    "Some people were worried about losing their notes, so we copied everything first.",
    "In the end the waiting time for customers dropped by almost one half.",
    "That is why I believe I would be a great fit for this team.",
]

# Records the candidate's live feed (and when the page asked to finish), page-side.
FEED_SPY = """
(() => {
  window.__feed = [];
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        try { window.__feed.push({ at: Date.now(), rec: JSON.parse(e.data) }); } catch {}
      });
    }
  };
  const origFetch = window.fetch;
  window.fetch = (url, opts) => {
    if (String(url).endsWith('/finish')) window.__finishAt = Date.now();
    return origFetch(url, opts);
  };
})();
"""

NO_SIDEWAYS_JS = "document.scrollingElement.scrollWidth <= window.innerWidth"

VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode;
    const text = node.textContent.trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('script, style, option')) continue;
    if (!parent.checkVisibility()) continue;
    out.push(text);
  }
  for (const n of document.querySelectorAll('[aria-label]')) {
    if (n.checkVisibility()) out.push(n.getAttribute('aria-label'));
  }
  out.push(document.title.replace(' · hirestream', ''));
  return out;
}"""

CATALOGUE_JS = """async (lang) => {
  const { TEXT } = await import('/static/i18n.js');
  const out = [];
  const add = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === 'object') Object.values(v).forEach(add);
  };
  add(TEXT[lang]);
  return out;
}"""

CONTRAST_JS = """(sel) => {
  const node = document.querySelector(sel);
  const style = getComputedStyle(node);
  let bg = style.backgroundColor, up = node;
  while (bg === 'rgba(0, 0, 0, 0)' && up.parentElement) {
    up = up.parentElement;
    bg = getComputedStyle(up).backgroundColor;
  }
  return [style.color, bg];
}"""


@dataclass
class Run:
    client: TestClient[Any, Any]
    base: str
    admin: dict[str, str]
    browser: Browser

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.client.post(path, headers=self.admin, json=body)
        assert r.status in (200, 201), (r.status, await r.text())
        return await r.json()

    async def get(self, path: str) -> Any:
        r = await self.client.get(path, headers=self.admin)
        assert r.status == 200, (r.status, await r.text())
        return await r.json()

    async def state(self, iid: str) -> str:
        return str((await self.get(f"/api/interviews/{iid}"))["state"])

    async def interview(self, questions: list[dict[str, Any]], language: str = "en") -> Any:
        title = "客户支持主管" if language == "zh" else "Support lead"
        rid = (
            await self.post(
                "/api/requisitions",
                {"title": title, "language": language, "questions": questions},
            )
        )["id"]
        return await self.post("/api/interviews", {"requisition_id": rid, "candidate_name": "Ada"})

    async def page(self, width: int = 1280, height: int = 860, spy: bool = False) -> Page:
        ctx = await self.browser.new_context(viewport={"width": width, "height": height})
        if spy:
            await ctx.add_init_script(FEED_SPY)
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors  # type: ignore[attr-defined]
        return page


@asynccontextmanager
async def _run(
    make_settings: Callable[..., Settings], media: tuple[Path, Path] | None, **overrides: Any
) -> AsyncIterator[Run]:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    port = _free_port()
    settings = make_settings(
        port=port, public_url=f"http://127.0.0.1:{port}", contact=CONTACT, **overrides
    )
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(settings), host="127.0.0.1", port=port)
    )
    await client.start_server()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
    if media is not None:
        wav, y4m = media
        args += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
            f"--use-file-for-fake-audio-capture={wav}",
            "--disable-features=WebRtcHideLocalIpsWithMdns",  # aiortc cannot resolve mDNS
        ]
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=args)
            try:
                admin = {"Authorization": f"Bearer {client.app[AUTH_KEY].admin_key}"}
                yield Run(client, f"http://127.0.0.1:{port}", admin, browser)
            finally:
                await browser.close()
    finally:
        await client.close()


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Tab (only Tab) until `selector` has the focus."""
    for _ in range(limit):
        if await page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def _no_sideways(page: Page, step: str) -> None:
    assert await page.evaluate(NO_SIDEWAYS_JS), (
        step,
        await page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]"),
    )


async def _device_check_passes(page: Page) -> None:
    await page.locator("#check-done").wait_for()
    await page.wait_for_function("!document.querySelector('#check-done').disabled", timeout=30_000)
    assert await page.locator("#video-result").get_attribute("data-state") == "ok"
    assert await page.locator("#mic-result").get_attribute("data-state") == "ok"


async def _through_to_first_question(page: Page, url: str) -> None:
    """Consent, device check and practice with the mouse; the first question shows."""
    await page.goto(url)
    await page.locator("#agree").check()
    await page.locator("#consent").click()
    await _device_check_passes(page)
    await page.locator("#check-done").click()
    await page.locator("#start").click()
    await page.locator("#question").wait_for(timeout=20_000)


async def test_long_answer_is_not_cut_off(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """About 30 s of speech on a 10-s question: past the limit the page warns and stays;
    at the hard cap (the last question) it asks instead of finishing; after "keep answering"
    it asks again once the candidate stopped, never finishes by itself, and the report holds
    the answer's last sentence."""
    media = await asyncio.to_thread(browser_media, tmp_path, LONG, 0.25, 40.0)
    async with _run(make_settings, media) as run:
        links = await run.interview(
            [{"text": "Tell us about a project you led.", "time_limit_s": 10}]
        )
        page = await run.page(spy=True)
        await _through_to_first_question(page, links["candidate_url"])
        timer = page.locator("#timer")
        await page.wait_for_function(
            "document.querySelector('#timer').dataset.phase === 'over'", timeout=30_000
        )
        assert await timer.text_content() == "Time is up"
        await page.locator("#time-warning").wait_for()
        assert "we move on when you pause" in (
            await page.locator("#time-warning").text_content() or ""
        )
        await _shot(page, "candidate-long-answer-overtime.png")

        # The hard cap (limit + 5 s) passes while the candidate is still talking: the last
        # question asks rather than ending the interview.
        dialog = page.locator("#confirm-finish")
        await dialog.wait_for(timeout=20_000)
        # Speaking by the feed: the last speech record is a start, or an end too recent to
        # count as a pause (the page's rule).
        talking = await page.evaluate(
            "(() => { const s = window.__feed.filter(f => f.rec.type === 'speech');"
            " const last = s[s.length - 1];"
            " return !!last && (last.rec.state === 'start' || Date.now() - last.at < 1500); })()"
        )
        assert talking, await page.evaluate("window.__feed.map(f => f.rec.type)")
        assert await run.state(links["id"]) == "live"
        assert await page.locator("#question").is_visible()
        await _shot(page, "candidate-long-answer-confirm.png")
        await page.locator("#confirm-finish-no").click()  # "Keep answering"
        await dialog.wait_for(state="detached")

        # Once the speech ends, the page asks again (and waits for the answer).
        await dialog.wait_for(timeout=60_000)
        asked_at = await page.evaluate("Date.now()")
        spoken = await page.evaluate(
            "(t) => window.__feed.filter(f => f.rec.type === 'speech' && f.at <= t)"
            ".map(f => f.rec.state)",
            asked_at,
        )
        assert spoken[-1] == "end", spoken  # asked once the candidate had stopped
        await asyncio.sleep(2)
        assert await page.evaluate("window.__finishAt") is None
        assert await run.state(links["id"]) == "live"  # no answer yet: nothing finished
        await page.locator("#confirm-finish-yes").click()
        await page.locator("#done").wait_for(timeout=60_000)
        finish_at = await page.evaluate("window.__finishAt")
        spoken = await page.evaluate(
            "(t) => window.__feed.filter(f => f.rec.type === 'speech' && f.at <= t)"
            ".map(f => f.rec.state)",
            finish_at,
        )
        assert spoken[-1] == "end", spoken  # never finished while speech was under way
        assert await run.state(links["id"]) == "finished"
        report = await run.get(f"/api/interviews/{links['id']}/report")
        heard = " ".join(
            line["text"] for q in report["questions"] for line in q.get("transcript", [])
        ).lower()
        assert "fit" in heard or "team" in heard, heard  # the last sentence is in
        await _shot(page, "candidate-long-answer-done.png")
        assert page.errors == []  # type: ignore[attr-defined]


async def test_keyboard_only_at_375px_with_practice_that_sends_nothing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Tab, Enter and Space only, on a 375-px screen: consent, device check, practice (no
    offer sent, the interview still only consented), thinking time, two questions, the finish
    confirmation and the next steps; no sideways scrolling at any step; contrast holds."""
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 6.0)
    async with _run(make_settings, media) as run:
        links = await run.interview(
            [
                {"text": "What is your greatest strength?", "time_limit_s": 120, "thinking_s": 20},
                {"text": "How do you handle a deadline at risk?", "time_limit_s": 120},
            ]
        )
        page = await run.page(375, 812)
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        await page.goto(links["candidate_url"])
        await page.locator("#agree").wait_for()
        await _no_sideways(page, "consent")
        assert await page.get_attribute("main", "aria-live") is None
        fg, bg = await page.evaluate(CONTRAST_JS, "#consent")  # disabled until agreed
        assert await page.locator("#consent").is_disabled()
        assert _contrast(fg, bg) >= 4.5, (fg, bg)
        assert "Notice version" in (await page.locator("#notice-version").text_content() or "")
        await _shot(page, "candidate-375-consent.png")
        await _tab_to(page, "#agree")
        await page.keyboard.press("Space")
        await _tab_to(page, "#consent")
        await page.keyboard.press("Enter")

        await _device_check_passes(page)
        await _no_sideways(page, "device check")
        assert await page.locator("#camera option").count() >= 1
        assert await page.locator("#microphone option").count() >= 1
        for sel in ("#video-result", "#mic-result", "#check-summary"):
            fg, bg = await page.evaluate(CONTRAST_JS, sel)
            assert _contrast(fg, bg) >= 4.5, (sel, fg, bg)
        await _shot(page, "candidate-375-device-check.png")
        await _tab_to(page, "#check-done")
        await page.keyboard.press("Enter")

        # Practice: local only.
        await page.locator("#practice-note").wait_for()
        assert "not recorded or analysed" in (
            await page.locator("#practice-note").text_content() or ""
        )
        await _no_sideways(page, "practice")
        await _shot(page, "candidate-375-practice.png")
        await asyncio.sleep(2)  # anything the practice sent would be on its way by now
        assert not any(u.endswith(("/offer", "/question")) for u in sent), sent
        assert await run.state(links["id"]) == "consented"
        await _tab_to(page, "#start")
        await page.keyboard.press("Enter")

        # Question 1 opens with thinking time; the candidate starts answering early.
        await page.locator("#question").wait_for(timeout=20_000)
        await page.wait_for_function(
            "document.querySelector('#timer').dataset.phase === 'thinking'"
        )
        assert (await page.locator("#timer").text_content() or "").startswith("Thinking time")
        await page.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )
        assert await page.locator("#recording").text_content() == "Analysis running"
        assert await page.locator("#self-view").is_visible()
        assert await page.locator("#captions").count() == 0  # captions are off by default
        assert await page.locator("[aria-live]").count() == 0
        await _no_sideways(page, "question")
        fg, bg = await page.evaluate(CONTRAST_JS, "#recording")
        assert _contrast(fg, bg) >= 4.5, (fg, bg)
        await _shot(page, "candidate-375-question.png")
        await _tab_to(page, "#answer-now")
        await page.keyboard.press("Space")
        await page.wait_for_function("document.querySelector('#timer').dataset.phase === 'answer'")
        assert (await page.locator("#timer").text_content() or "").startswith("Time left")
        await _tab_to(page, "#next")
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            "document.querySelector('#qnum').textContent === 'Question 2 of 2'"
        )
        assert await page.locator("#next").text_content() == "Finish the interview"

        # The last question: finishing asks first; Escape keeps answering.
        await _tab_to(page, "#next")
        await page.keyboard.press("Enter")
        await page.locator("#confirm-finish").wait_for()
        await _no_sideways(page, "confirmation")
        await _shot(page, "candidate-375-confirm.png")
        await page.keyboard.press("Escape")
        await page.locator("#confirm-finish").wait_for(state="detached")
        assert await run.state(links["id"]) == "live"
        await _tab_to(page, "#next")
        await page.keyboard.press("Enter")
        await _tab_to(page, "#confirm-finish-yes")
        await page.keyboard.press("Enter")

        await page.locator("#next-steps").wait_for(timeout=20_000)
        assert "What happens next" in (await page.locator("#next-steps").text_content() or "")
        assert CONTACT in (await page.locator("#next-steps").text_content() or "")
        await page.locator("#done-text").filter(has_text="close this page").wait_for()
        await _no_sideways(page, "done")
        await _shot(page, "candidate-375-done.png")
        assert await run.state(links["id"]) == "finished"
        assert page.errors == []  # type: ignore[attr-defined]


async def test_bad_expired_and_used_links_say_what_to_do(
    make_settings: Callable[..., Settings],
) -> None:
    async with _run(make_settings, None) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 60}])
        iid = links["id"]
        auth = run.client.app[AUTH_KEY]
        cases = {
            "no-token": (f"{run.base}/interview/{iid}", "This link is incomplete"),
            "bad-token": (
                f"{run.base}/interview/{iid}#token=not-a-token",
                "This link is not valid",
            ),
            "expired": (
                f"{run.base}/interview/{iid}#token={auth.issue(iid, 'candidate', -60)}",
                "This link has expired.",
            ),
            "bad-offer-link": (f"{run.base}/offer/{iid}#token=x.y", "This link is not valid"),
        }
        # A link other than the one that started the interview, while it runs elsewhere.
        engine = run.client.app[RESOURCES_KEY].engine
        now = datetime.now(UTC)
        await asyncio.to_thread(
            lifecycle.move, engine, iid, InterviewState.CONSENTED, actor="test",
            action="interview.consented", consent_at=now, notice_version="test",
        )  # fmt: skip
        iv = await asyncio.to_thread(db.get_interview, engine, iid)
        assert iv is not None and iv.invite_jti
        await asyncio.to_thread(db.use_invite, engine, iid, iv.invite_jti)
        await asyncio.to_thread(
            lifecycle.move, engine, iid, InterviewState.LIVE, actor="test",
            action="interview.live", started_at=now,
        )  # fmt: skip
        other = auth.issue(iid, "candidate", 3600)
        cases["used"] = (
            f"{run.base}/interview/{iid}#token={other}",
            "This link was already used to take the interview",
        )
        for name, (url, says) in cases.items():
            page = await run.page(375, 812)
            await page.goto(url)
            text = page.locator("#problem-text")
            await text.wait_for(timeout=10_000)
            assert says in (await text.text_content() or ""), name
            assert await page.locator("#problem").text_content() == "This link cannot be opened"
            contact = await page.locator("#contact").text_content() or ""
            assert CONTACT in contact, (name, contact)
            body = await page.locator("main").inner_text()
            for developer in ("invite", "token is not", "HTTP", "malformed", "Error"):
                assert developer not in body, (name, body)
            await _no_sideways(page, name)
            await _shot(page, f"candidate-link-{name}.png")
            assert page.errors == [], (name, page.errors)  # type: ignore[attr-defined]
            await page.context.close()


def _long_date(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%B} {day.day}, {day.year}"


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_offer_page_shows_salary_and_date_once(
    make_settings: Callable[..., Settings], lang: str
) -> None:
    async with _run(make_settings, None) as run:
        engine = run.client.app[RESOURCES_KEY].engine
        _req, iv = await asyncio.to_thread(finished_interview, engine, language=lang)
        await run.post(
            f"/api/interviews/{iv.id}/decision",
            {"decision": "offer", "reason": "clear and structured", "decided_by": "Dana"},
        )
        start = date.today() + timedelta(days=40)
        offer = await run.post(
            f"/api/interviews/{iv.id}/job-offer",
            {"salary": 52000, "start_date": start.isoformat(), "created_by": "Dana"},
        )
        assert offer["candidate_url"].startswith(f"{run.base}/offer/{iv.id}#token=")
        page = await run.page(375, 812)
        await page.goto(offer["candidate_url"])
        await page.locator("#offer-facts").wait_for(timeout=10_000)
        assert "#token=" not in page.url
        shown = await page.locator("main").inner_text()
        assert len(re.findall(r"52[,.\s\u202f]?000", shown)) == 1, shown
        assert shown.count(_long_date(start, lang)) == 1, shown
        assert start.isoformat() not in shown, shown  # no second date format
        assert "Thank you" not in shown and "谢谢" not in shown  # not the interview's end page
        await expect_focus(page, "#offer-title")
        await _no_sideways(page, "offer")
        await _shot(page, f"candidate-offer-{lang}.png")
        # The document itself is there, one step away.
        await page.locator("#offer-document summary").focus()
        await page.keyboard.press("Enter")
        assert await page.locator("#offer-text").is_visible()
        if lang == "zh":
            assert await page.evaluate("document.documentElement.lang") == "zh-CN"
            assert await page.locator("#accept-offer").text_content() == "接受录用"
        assert page.errors == []  # type: ignore[attr-defined]


async def expect_focus(page: Page, selector: str) -> None:
    await page.wait_for_function(
        "s => document.activeElement && document.activeElement.matches(s)", arg=selector
    )


def _templates(catalogue: list[str]) -> list[re.Pattern[str]]:
    out = []
    for text in catalogue:
        parts = re.split(r"\{\w+\}", text.strip())
        out.append(re.compile("(.+?)".join(re.escape(p) for p in parts), re.S))
    return out


async def _only_catalogue_text(page: Page, step: str, data: set[str]) -> None:
    """Every visible string is zh catalogue text (placeholders filled), a clock, or data
    from the requisition; none has Latin letters."""
    catalogue = _templates(await page.evaluate(CATALOGUE_JS, "zh"))
    for text in await page.evaluate(VISIBLE_TEXT_JS):
        if text in data or re.fullmatch(r"[\d:：\s…/.,]+", text):
            continue
        head = re.sub(r"[:：]\s*\d+:\d\d$", "", text)  # "剩余时间: 0:42"
        assert any(p.fullmatch(head) for p in catalogue), (step, text)
        words = text.replace(CONTACT, "")  # the contact is data (an address)
        assert not re.search(r"[A-Za-z]{2,}", words), (step, text)


async def test_zh_candidate_page_has_only_zh_catalogue_text(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 6.0)
    async with _run(make_settings, media) as run:
        questions = ["请介绍一下您最大的优点。", "项目截止日期有风险时您会怎么做？"]
        links = await run.interview(
            [
                {"text": q, "time_limit_s": 120, "thinking_s": 10 * (i == 0)}
                for i, q in enumerate(questions)
            ],
            language="zh",
        )
        data = {*questions, "客户支持主管"}
        page = await run.page(375, 812)
        await page.goto(links["candidate_url"])
        await page.locator("#agree").wait_for()
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await _only_catalogue_text(page, "consent", data)
        assert "告知版本" in (await page.locator("#notice-version").text_content() or "")
        await page.locator("#agree").check()
        await page.locator("#consent").click()
        await _device_check_passes(page)
        await _only_catalogue_text(page, "device check", data)
        await page.locator("#check-done").click()
        await page.locator("#practice-note").wait_for()
        await _only_catalogue_text(page, "practice", data)
        await page.locator("#start").click()
        await page.locator("#question").wait_for(timeout=20_000)
        await page.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )
        await _only_catalogue_text(page, "question", data)
        await _shot(page, "candidate-zh-question.png")
        await page.locator("#next").click()
        await page.wait_for_function(
            "document.querySelector('#qnum').textContent.includes('第 2 题')"
        )
        await page.locator("#next").click()
        await page.locator("#confirm-finish").wait_for()
        await _only_catalogue_text(page, "confirmation", data)
        await page.locator("#confirm-finish-yes").click()
        await page.locator("#next-steps").wait_for(timeout=20_000)
        await page.locator("#done-text").filter(has_text="关闭").wait_for()
        await _only_catalogue_text(page, "done", data | {CONTACT})
        await _shot(page, "candidate-zh-done.png")
        assert page.errors == []  # type: ignore[attr-defined]


SPEECH_ENDS_JS = (
    "window.__feed.filter(f => f.rec.type === 'speech' && f.rec.state === 'end').length"
)


async def _one_more_answer(page: Page) -> None:
    """Waits until the feed reports one more finished utterance than now."""
    seen = await page.evaluate(SPEECH_ENDS_JS)
    await page.wait_for_function(f"{SPEECH_ENDS_JS} > {seen}", timeout=45_000)


async def test_reload_mid_interview_resumes_at_the_same_question(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A reload on question 2: "Welcome back", a quick device check, the same question again;
    the interview then finishes and one report covers both parts, with the gap flagged."""
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        texts = [
            "What is your greatest strength?",
            "How do you handle a deadline at risk?",
            "Why do you want this role?",
        ]
        links = await run.interview([{"text": q, "time_limit_s": 120} for q in texts])
        page = await run.page(spy=True)
        await _through_to_first_question(page, links["candidate_url"])
        await _one_more_answer(page)
        await page.locator("#next").click()
        await page.wait_for_function(
            "document.querySelector('#qnum').textContent === 'Question 2 of 3'"
        )
        await _one_more_answer(page)

        await page.reload()
        welcome = page.locator("#welcome-back")
        await welcome.wait_for(timeout=20_000)
        assert "question 2 of 3" in (await page.locator("#welcome-text").text_content() or "")
        await _shot(page, "candidate-welcome-back.png")
        await page.locator("#welcome-continue").click()
        await _device_check_passes(page)
        await page.locator("#check-done").click()
        await page.locator("#question").wait_for(timeout=30_000)
        assert await page.locator("#qnum").text_content() == "Question 2 of 3"
        assert await page.locator("#question").text_content() == texts[1]
        assert await run.state(links["id"]) == "live"
        await _one_more_answer(page)
        await page.locator("#next").click()
        await page.wait_for_function(
            "document.querySelector('#qnum').textContent === 'Question 3 of 3'"
        )
        await page.locator("#next").click()
        await page.locator("#confirm-finish-yes").click()
        await page.locator("#done").wait_for(timeout=30_000)

        assert await run.state(links["id"]) == "finished"
        report = await run.get(f"/api/interviews/{links['id']}/report")
        gaps = [f for f in report["flags"] if f["flag"] == "gap"]
        assert len(gaps) == 1, report["flags"]
        lines = [line for q in report["questions"] for line in q.get("transcript", [])]
        assert any(line["end"] <= gaps[0]["start"] for line in lines), (gaps, lines)
        # Speech after the rejoin is in the same report (a line that ends after the gap).
        assert any(line["end"] > gaps[0]["end"] for line in lines), (gaps, lines)
        assert page.errors == []  # type: ignore[attr-defined]


async def test_dropped_connection_rejoins_by_itself(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The server loses the candidate's connection on question 2: the page says it is
    reconnecting, rejoins with a new peer connection on its own, and stays on question 2."""
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        texts = ["What is your greatest strength?", "How do you handle a deadline at risk?"]
        links = await run.interview([{"text": q, "time_limit_s": 120} for q in texts])
        page = await run.page(spy=True)
        offers: list[str] = []
        page.on("request", lambda r: offers.append(r.url) if r.url.endswith("/offer") else None)
        await _through_to_first_question(page, links["candidate_url"])
        await page.locator("#next").click()
        await page.wait_for_function(
            "document.querySelector('#qnum').textContent === 'Question 2 of 2'"
        )
        await _one_more_answer(page)

        registry = run.client.app[INTERVIEWS_KEY].live
        await registry.drop(registry.live[links["id"]], "test: the network went away")
        banner = page.locator("#reconnecting")
        await banner.wait_for(state="visible", timeout=15_000)
        assert "Reconnecting" in (await banner.text_content() or "")
        await _shot(page, "candidate-reconnecting.png")
        await banner.wait_for(state="hidden", timeout=45_000)
        assert len(offers) == 2, offers  # a new peer connection, same page
        assert await page.locator("#qnum").text_content() == "Question 2 of 2"
        await page.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )
        assert await run.state(links["id"]) == "live"
        await page.locator("#next").click()
        await page.locator("#confirm-finish-yes").click()
        await page.locator("#done").wait_for(timeout=30_000)
        report = await run.get(f"/api/interviews/{links['id']}/report")
        assert [f["flag"] for f in report["flags"]].count("gap") == 1, report["flags"]
        assert page.errors == []  # type: ignore[attr-defined]


# A microphone that delivers only silence (the camera stays the fake one).
SILENT_MIC = """
(() => {
  const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    const s = await orig(c);
    const silent = new AudioContext().createMediaStreamDestination().stream;
    return new MediaStream([...s.getVideoTracks(), ...silent.getAudioTracks()]);
  };
})();
"""


async def test_device_check_fails_clearly_on_a_silent_microphone(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 60}])
        page = await run.page(375, 812)
        await page.context.add_init_script(SILENT_MIC)
        await page.goto(links["candidate_url"])
        await page.locator("#agree").check()
        await page.locator("#consent").click()
        await page.locator('#video-result[data-state="ok"]').wait_for(timeout=15_000)
        mic = page.locator('#mic-result[data-state="fail"]')
        await mic.wait_for(timeout=30_000)
        assert "we could not hear you" in (await mic.text_content() or "")
        assert await page.locator("#check-done").is_disabled()
        assert await page.locator("#check-retry").is_visible()
        for sel in ("#mic-result", "#check-done"):
            fg, bg = await page.evaluate(CONTRAST_JS, sel)
            assert _contrast(fg, bg) >= 4.5, (sel, fg, bg)
        await _no_sideways(page, "device check failed")
        await _shot(page, "candidate-device-check-failed.png")
        await page.locator("#check-retry").click()  # tries again: waiting, not failed
        assert await page.locator("#mic-result").get_attribute("data-state") == "wait"
        assert await run.state(links["id"]) == "consented"
        assert page.errors == []  # type: ignore[attr-defined]


async def test_captions_only_with_the_setting_in_their_own_polite_region(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media, candidate_captions=True) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 120}])
        page = await run.page()
        await _through_to_first_question(page, links["candidate_url"])
        await page.locator("#captions-final p").first.wait_for(timeout=60_000)
        live = await page.evaluate(
            "[...document.querySelectorAll('[aria-live]')]"
            ".map(n => [n.id, n.getAttribute('aria-live')])"
        )
        assert live == [["captions-final", "polite"]], live
        assert await page.locator("#captions-final p").count() <= 3  # a few lines, no scroll
        await _shot(page, "candidate-captions-on.png")
        assert page.errors == []  # type: ignore[attr-defined]


# Page-side times (performance.now()) of the timer entering "over" and of question 2 showing.
PHASE_WATCH_JS = """() => {
  const timer = document.querySelector('#timer');
  const qnum = document.querySelector('#qnum');
  new MutationObserver(() => {
    if (window.__overAt === undefined && timer.dataset.phase === 'over') {
      window.__overAt = performance.now();
    }
    if (window.__movedAt === undefined && qnum.textContent === 'Question 2 of 2') {
      window.__movedAt = performance.now();
      window.__movedAtWall = Date.now();
    }
  }).observe(document.querySelector('#app'), {
    subtree: true, attributes: true, childList: true, characterData: true,
  });
}"""


async def test_past_the_limit_a_question_waits_for_a_pause_or_the_cap(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Question 1 of 2 (10 s) with a half-minute answer: past the limit the page stays while
    the candidate talks, and moves on at the hard cap (limit + 50%: 5 s), not before."""
    media = await asyncio.to_thread(browser_media, tmp_path, LONG, 0.25, 40.0)
    async with _run(make_settings, media) as run:
        links = await run.interview(
            [
                {"text": "Tell us about a project you led.", "time_limit_s": 10},
                {"text": "What did you learn from it?", "time_limit_s": 60},
            ]
        )
        page = await run.page(spy=True)
        await _through_to_first_question(page, links["candidate_url"])
        await page.evaluate(PHASE_WATCH_JS)
        await page.wait_for_function("window.__movedAt !== undefined", timeout=60_000)
        over_at, moved_at = await page.evaluate("[window.__overAt, window.__movedAt]")
        # Still talking when it moved: the cap moved it, after the 5 s the cap allows (both
        # times taken in the page as the page changed; a slow machine only adds to the gap).
        talking = await page.evaluate(
            "(t) => { const s = window.__feed.filter(f => f.rec.type === 'speech' && f.at <= t);"
            " const last = s[s.length - 1];"
            " return !!last && (last.rec.state === 'start' || t - last.at < 1500); }",
            await page.evaluate("window.__movedAtWall"),
        )
        assert talking, await page.evaluate("window.__feed.map(f => f.rec.type)")
        assert over_at is not None
        assert moved_at - over_at >= 4_900, moved_at - over_at
        await page.locator("#next").click()
        await page.locator("#confirm-finish-yes").click()
        await page.locator("#done").wait_for(timeout=30_000)
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_second_window_takes_over_and_the_first_does_not_take_it_back(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The same link opened in a second window continues the interview there; the first
    window says so and offers "Continue here" instead of rejoining by itself, so the two
    never take the interview from each other in a loop."""
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 120}])
        first = await run.page()
        offers: list[str] = []
        first.on("request", lambda r: offers.append(r.url) if r.url.endswith("/offer") else None)
        await _through_to_first_question(first, links["candidate_url"])
        await first.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )

        second = await run.page()
        await second.goto(links["candidate_url"])
        await second.locator("#welcome-continue").click(timeout=20_000)
        await _device_check_passes(second)
        await second.locator("#check-done").click()
        await second.locator("#question").wait_for(timeout=30_000)
        await second.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )

        # The first window notices its connection is gone and that the interview went on.
        await first.locator("#continue-here").wait_for(timeout=60_000)
        assert "another window" in (await first.locator("#reconnecting").text_content() or "")
        await _shot(first, "candidate-continued-elsewhere.png")
        await asyncio.sleep(6)  # longer than the first rejoin attempts would take
        assert len(offers) == 1, offers  # it did not try to take the interview back
        assert await second.locator("#reconnecting").is_hidden()
        assert await second.locator("#recording").get_attribute("data-on") == "true"
        assert await run.state(links["id"]) == "live"
        await second.locator("#next").click()
        await second.locator("#confirm-finish-yes").click()
        await second.locator("#done").wait_for(timeout=30_000)
        await first.locator("#done").wait_for(timeout=30_000)  # the feed says it finished
        assert first.errors == []  # type: ignore[attr-defined]
        assert second.errors == []  # type: ignore[attr-defined]


# Counts read-alouds; the question is never read by itself.
SPEECH_SPY = """
(() => {
  window.__spoken = 0;
  const orig = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => { window.__spoken += 1; return orig(u); };
})();
"""

MIC_ENABLED_JS = (
    "document.querySelector('#self-view').srcObject.getAudioTracks().every(t => t.enabled)"
)


async def test_hearing_the_question_mutes_the_microphone_meanwhile(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """No question is read aloud by itself (it would be transcribed as the answer); "Hear the
    question again" reads it with the outgoing microphone off, and turns it on afterwards."""
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 120}])
        page = await run.page()
        await page.context.add_init_script(SPEECH_SPY)
        await _through_to_first_question(page, links["candidate_url"])
        await page.wait_for_function(
            "document.querySelector('#recording').dataset.on === 'true'", timeout=20_000
        )
        assert await page.evaluate("window.__spoken") == 0
        assert await page.evaluate(MIC_ENABLED_JS)
        click = "document.querySelector('#replay').click()"
        muted = await page.evaluate(f"(() => {{ {click}; return !({MIC_ENABLED_JS}); }})()")
        assert muted
        assert await page.evaluate("window.__spoken") == 1
        await page.wait_for_function(MIC_ENABLED_JS, timeout=15_000)
        assert page.errors == []  # type: ignore[attr-defined]


# A camera another app holds: opening it fails with NotReadableError, the microphone works.
BUSY_CAMERA = """
(() => {
  const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    if (c && c.video) throw new DOMException('Could not start video source', 'NotReadableError');
    return orig(c);
  };
})();
"""


async def test_a_busy_camera_fails_alone_in_the_device_check(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    media = await asyncio.to_thread(browser_media, tmp_path, SHORT, 1.5, 4.0)
    async with _run(make_settings, media) as run:
        links = await run.interview([{"text": "Why this role?", "time_limit_s": 60}])
        page = await run.page()
        await page.context.add_init_script(BUSY_CAMERA)
        await page.goto(links["candidate_url"])
        await page.locator("#agree").check()
        await page.locator("#consent").click()
        camera = page.locator('#video-result[data-state="fail"]')
        await camera.wait_for(timeout=15_000)
        assert "close other apps" in (await camera.text_content() or "")
        await page.locator('#mic-result[data-state="ok"]').wait_for(timeout=30_000)
        assert await page.locator("#check-done").is_disabled()
        assert await page.locator("#check-retry").is_visible()
        body = await page.locator("main").inner_text()
        assert "Could not start" not in body and "NotReadable" not in body, body
        assert page.errors == []  # type: ignore[attr-defined]

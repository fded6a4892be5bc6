"""The interviewer's live view in a real browser (Chromium through Playwright) while an aiortc
candidate peer, driven by the test through the real API, goes through the interview: the view
says "waiting" without asking for video, goes live on the feed's word, groups the captions by
question with media-time stamps, marks uncertain words and gaps, fits a phone's width, and at
the end shows "Interview ended" and a report link that works with the interviewer's own link.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from playwright.async_api import Browser, Page, Response, async_playwright
from sqlalchemy import Engine

from bench.rtc_client import FaceTrack, SpeechTrack
from bench.speech import conversation
from hr_bridge import interviews as db
from hr_bridge import lifecycle
from hr_bridge.interviews import InterviewState
from pipeline.clock import MonotonicClock
from pipeline.score_store import ScoreStore
from server.app import create_app
from server.app_keys import AUTH_KEY, RESOURCES_KEY
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.hr_fixtures import report_body
from tests.test_browser import CHROMIUM_ARGS
from tests.ui_checks import focus_visible

pytestmark = pytest.mark.browser

Client = TestClient[Any, Any]

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "When a deadline is at risk, I tell my manager early, explain what is late and why, "
    "and suggest two or three options.",
]
AFTER = "Then I suggest two or three options and we agree together which one to take."
QUESTIONS = ["What is your greatest strength?", "How do you handle a deadline at risk?"]
# Each answer's sentence after its own question: the second question is asked in the pause.
PAUSE_S = 9.0
STAMP = re.compile(r"^\d\d:\d\d$")
NO_SIDEWAYS_JS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


# Every visible element with its own text: its colour and the background it sits on (the
# first ancestor's with a colour; one not quite opaque is laid over black: the video).
TEXT_COLOURS_JS = """() => {
  const rgba = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const out = [];
  for (const node of document.querySelectorAll('body *')) {
    const own = [...node.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = node.getBoundingClientRect();
    if (!own || !box.width || !box.height || node.closest('.sr-only, [hidden]')) continue;
    let bg = null;
    for (let a = node; a && !bg; a = a.parentElement) {
      const c = rgba(getComputedStyle(a).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) bg = c;
    }
    bg = bg || [255, 255, 255, 1];
    const alpha = bg.length === 4 ? bg[3] : 1;
    const on = bg.slice(0, 3).map(v => Math.round(v * alpha));
    out.push({ text: node.textContent.trim().slice(0, 40), fg: getComputedStyle(node).color,
               bg: `rgb(${on.join(', ')})` });
  }
  return out;
}"""


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        rgb = [float(v) / 255 for v in re.findall(r"[\d.]+", css)[:3]]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def check_contrast(page: Page) -> None:
    """Text against its background, 4.5:1 at least, in the state the page is in now."""
    found = await page.evaluate(TEXT_COLOURS_JS)
    low = [(x["text"], x["fg"], x["bg"]) for x in found if _contrast(x["fg"], x["bg"]) < 4.5]
    assert found and not low, low


# The live area's English texts (those that differ in Chinese) that a page still shows.
ENGLISH_LEFT_JS = r"""async () => {
  const { LIVE } = await import('/static/messages/live.js');
  const labels = [...document.querySelectorAll('[aria-label]')]
    .map(n => n.getAttribute('aria-label'));
  const text = [document.body.innerText, ...labels].join(' ');
  // A text with placeholders: each fixed part of six characters or more.
  return Object.entries(LIVE.en)
    .filter(([k, v]) => typeof v === 'string' && v !== LIVE.zh[k])
    .flatMap(([, v]) => v.split(/\{\w+\}/).map(p => p.trim()).filter(p => p.length >= 6))
    .filter(v => text.includes(v));
}"""


# Every state the banner has shown, in order, intermediate ones included: a MutationObserver
# gets each change with the value it replaced, even several in one task, so a page that flips
# and back within one record is caught. STATES_JS: those, and the state now.
STATES_SEEN_JS = """
window.__states = [];
new MutationObserver((ms) => {
  for (const m of ms) if (m.target.id === 'state') window.__states.push(m.oldValue);
}).observe(document, {
  subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-state'],
});
"""
STATES_JS = "[...window.__states, document.getElementById('state').dataset.state]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _schedule(client: Client, language: str = "en") -> dict[str, Any]:
    admin = _bearer(client.app[AUTH_KEY].admin_key)
    r = await client.post("/api/requisitions", headers=admin, json={
        "title": "Support lead", "language": language,
        "competencies": ["Communication", "Composure",
                         {"name": "Team leadership", "measure": "interviewer_only"}],
        "questions": [{"text": q, "time_limit_s": 120} for q in QUESTIONS],
    })  # fmt: skip
    assert r.status == 201, await r.text()
    rid = (await r.json())["id"]
    r = await client.post("/api/interviews", headers=admin,
                          json={"requisition_id": rid, "candidate_name": "Ada"})  # fmt: skip
    assert r.status == 201, await r.text()
    links: dict[str, Any] = await r.json()
    links["candidate_token"] = links["candidate_url"].split("#token=")[1]
    return links


async def _state(page: Page, state: str, wait_ms: float = 30_000) -> None:
    await page.locator(f'#state[data-state="{state}"]').wait_for(timeout=wait_ms)


async def _connect(client: Client, links: dict[str, Any], pcm: Any) -> RTCPeerConnection:
    """The candidate's media over real WebRTC with the invite, as the candidate page sends it
    (a second time: the rejoin after a drop)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(SpeechTrack(pcm))
    pc.addTrack(await asyncio.to_thread(FaceTrack))
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(f"/api/interviews/{links['id']}/offer",
                          headers=_bearer(links["candidate_token"]),
                          json={"sdp": pc.localDescription.sdp, "type": "offer"})  # fmt: skip
    assert r.status == 200, await r.text()
    await pc.setRemoteDescription(RTCSessionDescription(**(await r.json())))
    return pc


async def _ask(client: Client, links: dict[str, Any], index: int) -> None:
    r = await client.post(f"/api/interviews/{links['id']}/question", json={"index": index},
                          headers=_bearer(links["candidate_token"]))  # fmt: skip
    assert r.status == 200, await r.text()


async def check_waiting(viewer: Page, watches: list[int]) -> None:
    """Before the candidate comes: a clear state, a panel over the empty video, no video asked."""
    await _state(viewer, "waiting")
    banner = await viewer.locator("#state").text_content() or ""
    assert "Waiting for the candidate" in banner, banner
    overlay = viewer.locator("#overlay")
    assert await overlay.is_visible()
    assert "Waiting for the candidate to join" in (await overlay.text_content() or "")
    assert await viewer.locator("#report-link").is_hidden()
    await viewer.wait_for_timeout(4000)  # long enough for the old page's retry loop to show
    assert watches == [], watches
    await check_contrast(viewer)
    await viewer.screenshot(path=str(ARTIFACTS / "live-view-waiting.png"))


async def check_transcript(viewer: Page) -> None:
    """Finals under their question, each with its mm:ss stamp; at most three lines over the
    video; the panel, not the page, is the polite live region."""
    first = viewer.locator('#captions-final .tq[data-index="0"] .line')
    second = viewer.locator('#captions-final .tq[data-index="1"] .line')
    await second.first.wait_for(timeout=60_000)
    assert await first.count() >= 1
    heads = await viewer.locator("#captions-final .tq h3").all_text_contents()
    assert heads[:2] == [f"Question 1: {QUESTIONS[0]}", f"Question 2: {QUESTIONS[1]}"], heads
    said = " ".join(await first.locator(".text").all_text_contents()).lower()
    assert "strength" in said or "customers" in said, said
    said = " ".join(await second.locator(".text").all_text_contents()).lower()
    assert "deadline" in said or "manager" in said, said
    stamps = await viewer.locator("#captions-final .line time").all_text_contents()
    assert stamps and all(STAMP.match(s) for s in stamps), stamps
    assert stamps == sorted(stamps), stamps
    assert await viewer.locator("#cc .cc-line").count() <= 3
    assert await viewer.locator("#cc").get_attribute("aria-hidden") == "true"
    panel = viewer.locator("#captions-final")
    assert await panel.get_attribute("aria-live") == "polite"
    assert await viewer.locator("body [aria-live]").count() == 2  # the panel and the warnings
    assert await viewer.locator("main[aria-live], body[aria-live], .live[aria-live]").count() == 0


async def check_drop_and_rejoin(
    viewer: Page,
    client: Client,
    links: dict[str, Any],
    first: RTCPeerConnection,
    pcm: Any,
    watches: list[int],
    peers: list[RTCPeerConnection],
) -> None:
    """The candidate's connection drops: "interrupted" with a panel over the video and no video
    asked for; the same link rejoins: live again, the video asked for once more, and the gap
    in the transcript."""
    await first.close()
    await _state(viewer, "interrupted")
    banner = await viewer.locator("#state").inner_text()
    assert "waiting for the candidate to reconnect" in banner, banner
    overlay = viewer.locator("#overlay")
    await overlay.wait_for(state="visible")
    assert "waiting for them to rejoin" in (await overlay.text_content() or "")
    await check_contrast(viewer)
    await viewer.screenshot(path=str(ARTIFACTS / "live-view-interrupted.png"))
    asked = len(watches)
    peers.append(await _connect(client, links, pcm))
    await _state(viewer, "live")
    await overlay.wait_for(state="hidden", timeout=30_000)  # the video again
    assert len(watches) == asked + 1 and all(s < 400 for s in watches), watches
    gap = viewer.locator("#captions-final .gap")
    await gap.wait_for(timeout=15_000)
    said = await gap.text_content() or ""
    assert re.search(r"Connection lost for \d+ s", said), said
    assert re.search(r"\d\d:\d\d", said), said


async def _history_states(client: Client, iid: str) -> list[str]:
    """The state records in the live feed's history: what a viewer opening now is replayed."""
    store = ScoreStore(client.app[RESOURCES_KEY].redis.client, iid, MonotonicClock())
    snap = await store.snapshot()
    return [e["state"] for e in snap["events"] if e.get("type") == "state"]


async def _watched_view(browser: Browser, url: str) -> tuple[Page, list[int], list[str]]:
    """A live view opened in a browser context of its own (nothing stored), with its /watch
    statuses and its console errors (a failed request is one too) recorded."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 860})
    await ctx.add_init_script(STATES_SEEN_JS)
    page = await ctx.new_page()
    watches: list[int] = []
    errors: list[str] = []
    page.on("response", lambda r: watches.append(r.status) if r.url.endswith("/watch") else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    return page, watches, errors


async def check_opened_after_rejoin(
    browser: Browser, client: Client, links: dict[str, Any]
) -> None:
    """A view opened while live after a rejoin: the history it is replayed says "interrupted"
    then "live", yet it asks for the video once and never leaves "live"."""
    history = await _history_states(client, links["id"])
    assert history[-2:] == ["interrupted", "live"], history
    page, watches, errors = await _watched_view(browser, links["interviewer_urls"][0])
    await _state(page, "live")
    await page.locator("#captions-final .line").first.wait_for(timeout=15_000)  # replayed
    await page.locator("#overlay").wait_for(state="hidden", timeout=30_000)  # playing
    assert set(await page.evaluate(STATES_JS)) <= {"connecting", "live"}
    assert len(watches) == 1 and watches[0] < 400, watches
    assert errors == [], errors
    await page.context.close()  # its viewer slot back


async def check_opened_after_end(browser: Browser, client: Client, links: dict[str, Any]) -> None:
    """A view opened after the end, while the live state is still kept: "Interview ended" and
    the report link, no video asked for though the replayed history says "live"."""
    assert "live" in await _history_states(client, links["id"])
    page, watches, errors = await _watched_view(browser, links["interviewer_urls"][0])
    await _state(page, "ended")
    await page.locator("#captions-final .line").first.wait_for(timeout=15_000)  # replayed
    assert "Interview ended" in (await page.locator("#state").text_content() or "")
    assert "Interview ended" in (await page.locator("#overlay").text_content() or "")
    await page.locator("#report-link").wait_for(state="visible")
    assert "#token=" in (await page.locator("#report-link").get_attribute("href") or "")
    assert set(await page.evaluate(STATES_JS)) <= {"connecting", "ended"}
    assert watches == [], watches
    assert errors == [], errors
    await page.context.close()


async def check_marks(viewer: Page, client: Client, iid: str) -> None:
    """A caption with an uncertain word (p < 0.5), published through the real live feed."""
    store = ScoreStore(client.app[RESOURCES_KEY].redis.client, iid, MonotonicClock())
    t0 = float(await viewer.evaluate(
        "Math.max(...[...document.querySelectorAll('#captions-final [data-time]')]"
        ".map(n => Number(n.dataset.time)))"
    ))  # fmt: skip
    await store.publish({
        "type": "caption", "final": True, "utterance": 900, "segment": 0, "stable": True,
        "text": "We moved the billing service", "t_start": t0 + 2.0, "t_end": t0 + 4.0,
        "confidence": 0.6, "language": "en", "language_prob": 0.99,
        "words": [[t0 + 2.0, t0 + 2.2, "We", 0.97], [t0 + 2.2, t0 + 2.5, "moved", 0.9],
                  [t0 + 2.5, t0 + 2.7, "the", 0.95], [t0 + 2.7, t0 + 3.3, "billing", 0.31],
                  [t0 + 3.3, t0 + 4.0, "service", None]],
    })  # fmt: skip
    low = viewer.locator('#captions-final .line[data-key="900:0"] mark.low-confidence')
    await low.wait_for(timeout=10_000)
    assert await low.count() == 1  # "service" has no probability: not marked
    assert (await low.text_content() or "").startswith("billing")
    assert "31%" in (await low.get_attribute("title") or "")
    assert "(uncertain)" in (await low.locator(".sr-only").text_content() or "")
    line = await viewer.locator('#captions-final .line[data-key="900:0"] .text').inner_text()
    assert line.startswith("We moved the billing"), line


async def check_follow(viewer: Page, client: Client, iid: str) -> None:
    """Scrolled up, the panel stays put and offers a jump to the newest line; the jump goes
    back to following."""
    panel = viewer.locator("#captions-final")
    await panel.evaluate("p => { p.style.height = '5rem'; p.scrollTop = p.scrollHeight; }")
    await panel.evaluate("p => { p.scrollTop = 0; }")  # the reader scrolls up
    jump = viewer.locator("#jump")
    await jump.wait_for(state="visible")
    store = ScoreStore(client.app[RESOURCES_KEY].redis.client, iid, MonotonicClock())
    await store.publish({
        "type": "caption", "final": True, "utterance": 901, "segment": 0, "text": "Later line",
        "t_start": 999.0, "t_end": 1000.0, "words": [],
    })  # fmt: skip
    await viewer.locator('#captions-final .line[data-key="901:0"]').wait_for(timeout=10_000)
    assert await jump.is_visible()
    assert await panel.evaluate("p => p.scrollTop") == 0  # the reader's place is kept
    await jump.focus()
    await focus_visible(viewer)
    await viewer.keyboard.press("Enter")
    await jump.wait_for(state="hidden")
    await focus_visible(viewer)  # the panel, focused for the keyboard to scroll it
    assert await panel.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight <= 24")
    await panel.evaluate("p => { p.style.height = ''; }")


async def check_scores(viewer: Page) -> None:
    """The rubric's order, fixed; words instead of numbers without evidence; one neutral accent."""
    rows = viewer.locator("#scores .score")
    await viewer.locator('[data-dim="competency:composure"]').wait_for(timeout=30_000)
    order = await rows.evaluate_all("rs => rs.map(r => r.dataset.dim)")
    assert order[:4] == ["competency:overall", "competency:communication",
                         "competency:composure", "competency:team_leadership"], order  # fmt: skip
    tl = viewer.locator('[data-dim="competency:team_leadership"] .value')
    assert await tl.text_content() == "rated by interviewers"
    fills = await viewer.locator("#scores .score:not(.pending) .fill").evaluate_all(
        "fs => fs.map(f => getComputedStyle(f).backgroundColor)"
    )
    assert len(set(fills)) <= 1, fills
    for status, value in zip(
        await rows.evaluate_all("rs => rs.map(r => r.dataset.status)"),
        await rows.locator(".value").all_text_contents(),
        strict=True,
    ):
        assert status == "scored" or not re.search(r"\d", value), (status, value)
    row = viewer.locator('[data-dim="competency:communication"]')
    await row.focus()  # the keyboard reaches the explanation too
    await row.locator(".tip").wait_for(state="visible")
    await focus_visible(viewer)
    assert "Formula" in (await row.locator(".tip").text_content() or "")
    await viewer.keyboard.press("Escape")
    await row.locator(".tip").wait_for(state="hidden")


async def check_phone(page: Page, name: str) -> None:
    await page.set_viewport_size({"width": 375, "height": 812})
    await page.wait_for_function(NO_SIDEWAYS_JS)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 860})


async def check_ended(viewer: Page) -> str:
    """The end: a panel instead of a frozen frame, neutral indicators, the report link."""
    await _state(viewer, "ended")
    assert "Interview ended" in (await viewer.locator("#state").text_content() or "")
    overlay = viewer.locator("#overlay")
    await overlay.wait_for(state="visible")
    assert "Interview ended" in (await overlay.text_content() or "")
    assert await viewer.evaluate("document.getElementById('video').srcObject === null")
    assert await viewer.locator("#face").text_content() == "Face: –"
    assert await viewer.locator("#gaze").text_content() == "Eye contact: –"
    link = viewer.locator("#report-link")
    await link.wait_for(state="visible")
    assert await link.text_content() == "View report"
    await link.focus()
    await focus_visible(viewer)
    href = await link.get_attribute("href") or ""
    assert "#token=" in href, href
    await check_contrast(viewer)
    await viewer.screenshot(path=str(ARTIFACTS / "live-view-ended.png"))
    return href


async def check_report(report: Page) -> None:
    """The report, read with the interviewer's link only, lists the competencies."""
    await report.locator("#report h1").wait_for(timeout=30_000)
    assert await report.locator("#report h1").text_content() == "Interview report"
    names = await report.locator(".report-competencies tbody th").all_text_contents()
    assert {"Communication", "Composure", "Team leadership"} <= set(names), names
    answers = await report.locator(".report-question h3").all_text_contents()
    assert answers[:1] == [f"Question 1: {QUESTIONS[0]}"], answers
    assert await report.locator(".report-question .line time").count() >= 1
    gap = await report.locator('.flags li[data-flag="gap"]').all_text_contents()
    assert len(gap) == 1 and gap[0].startswith("The connection was lost"), gap
    await check_contrast(report)
    await report.screenshot(path=str(ARTIFACTS / "live-view-report.png"), full_page=True)
    await check_phone(report, "live-view-report-375.png")


def _finished_with_report(engine: Engine, iid: str) -> None:
    """Blocking: the interview finished, its report stored (labels in Chinese, as the
    requisition names its competencies)."""
    now = datetime.now(UTC)
    lifecycle.move(engine, iid, InterviewState.FINISHED, actor="test",
                   action="interview.finished", consent_at=now, notice_version="test",
                   started_at=now, finished_at=now)  # fmt: skip
    report = report_body(iid, {"communication": 72.0, "composure": 64.0}, "Ada", "客服主管")
    labelled = {
        k: c.model_copy(update={"label": {"communication": "沟通", "composure": "沉着"}[k]})
        for k, c in report.competencies.items()
    }
    db.save_report(engine, iid, report.model_copy(update={"competencies": labelled}))


async def check_report_in_chinese(
    browser: Browser, client: Client, links: dict[str, Any], errors: list[str]
) -> None:
    """The report page of a zh interview, in a browser with no language chosen: Chinese, no
    English text of the catalogue, no sideways scroll at 375 px."""
    engine = client.app[RESOURCES_KEY].engine
    await asyncio.to_thread(_finished_with_report, engine, links["id"])
    fresh = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await fresh.new_page()
    page.on("pageerror", lambda e: errors.append(f"report zh: {e}"))
    token = links["interviewer_urls"][0].split("#token=")[1]
    await page.goto(f"{links['interviewer_urls'][0].split('/live/')[0]}/report/{links['id']}"
                    f"#token={token}")  # fmt: skip
    await page.locator("#report h1").wait_for(timeout=15_000)
    assert await page.locator("#report h1").text_content() == "面试报告"
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    names = await page.locator(".report-competencies tbody th").all_text_contents()
    assert names == ["沟通", "沉着"], names
    assert await page.evaluate(ENGLISH_LEFT_JS) == []
    await check_contrast(page)
    await page.screenshot(path=str(ARTIFACTS / "live-view-report-zh.png"), full_page=True)
    await check_phone(page, "live-view-report-zh-375.png")
    await fresh.close()


async def test_live_view_waiting_live_ended(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    port = _free_port()
    settings = make_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    client: Client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    candidate: RTCPeerConnection | None = None
    peers: list[RTCPeerConnection] = []
    try:
        links = await _schedule(client)
        iid = links["id"]
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        answers, _ = await asyncio.to_thread(
            conversation, TEXTS, tmp_path / "a", [PAUSE_S], lead_s=1.5
        )
        rejoin, _ = await asyncio.to_thread(conversation, [AFTER], tmp_path / "b", [3.0])
        args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns"]  # fmt: skip
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=args)
            ctx = await browser.new_context(viewport={"width": 1280, "height": 860})
            viewer = await ctx.new_page()
            errors: list[str] = []
            viewer.on("pageerror", lambda e: errors.append(str(e)))
            watches: list[int] = []

            def on_response(r: Response) -> None:
                if r.url.endswith("/watch"):
                    watches.append(r.status)

            viewer.on("response", on_response)
            await viewer.goto(links["interviewer_urls"][0])
            await check_waiting(viewer, watches)

            r = await client.post(f"/api/interviews/{iid}/consent",
                                  json={"accepted": True, "notice_version": "2026-11"},
                                  headers=_bearer(links["candidate_token"]))  # fmt: skip
            assert r.status == 200, await r.text()
            await viewer.wait_for_function(  # consented: still waiting, and why
                "document.getElementById('state').textContent.includes('checking their camera')"
            )
            await _state(viewer, "waiting")
            assert watches == [], watches
            candidate = await _connect(client, links, answers)
            await _ask(client, links, 0)
            await _state(viewer, "live")
            assert (await viewer.locator("#state").inner_text()).strip() == "Live"
            await viewer.locator("#overlay").wait_for(state="hidden", timeout=30_000)  # playing
            assert watches and all(s < 400 for s in watches), watches

            # The second question in the pause between the two answers.
            await viewer.locator('#captions-final .tq[data-index="0"] .line').first.wait_for(
                timeout=60_000
            )
            await _ask(client, links, 1)
            await check_transcript(viewer)
            await check_scores(viewer)
            await check_drop_and_rejoin(viewer, client, links, candidate, rejoin, watches, peers)
            await check_opened_after_rejoin(browser, client, links)
            await check_marks(viewer, client, iid)
            await check_follow(viewer, client, iid)
            await check_contrast(viewer)
            await viewer.screenshot(path=str(ARTIFACTS / "live-view-live.png"))
            await check_phone(viewer, "live-view-375.png")

            r = await client.post(f"/api/interviews/{iid}/finish",
                                  headers=_bearer(links["candidate_token"]))  # fmt: skip
            assert r.status == 200, await r.text()
            href = await check_ended(viewer)
            assert all(s < 400 for s in watches), watches
            assert len(watches) == 2, watches  # once per time live; never polled
            await check_opened_after_end(browser, client, links)

            # The link alone, in a browser with nothing stored: no admin key, no session.
            fresh = await browser.new_context(viewport={"width": 1280, "height": 860})
            report = await fresh.new_page()
            report.on("pageerror", lambda e: errors.append(f"report: {e}"))
            await report.goto(f"http://127.0.0.1:{port}{href}")
            await check_report(report)
            assert errors == [], errors
            await browser.close()
    finally:
        for pc in [candidate, *peers]:
            if pc is not None:
                await pc.close()
        await client.close()


async def test_live_view_in_chinese_and_blocked_feed(
    make_settings: Callable[..., Settings],
) -> None:
    """A zh requisition's live view is in Chinese (no English text of the catalogue left), and
    a page opened on a host the server does not allow says that live updates are blocked."""
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    port = _free_port()
    settings = make_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    client: Client = TestClient(TestServer(create_app(settings), host="0.0.0.0", port=port))
    await client.start_server()
    try:
        links = await _schedule(client, "zh")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(links["interviewer_urls"][0])
            await _state(page, "waiting")
            assert await page.locator("html").get_attribute("lang") == "zh-CN"
            assert "正在等待候选人" in (await page.locator("#state").text_content() or "")
            english: list[str] = await page.evaluate(ENGLISH_LEFT_JS)
            assert english == [], english
            await check_contrast(page)
            await page.screenshot(path=str(ARTIFACTS / "live-view-waiting-zh.png"))
            await check_phone(page, "live-view-waiting-zh-375.png")

            # The switch: English, remembered for this browser's next visits.
            await page.locator('.lang-switch button[data-lang="en"]').click()
            await page.wait_for_function("document.documentElement.lang === 'en'")
            await _state(page, "waiting")
            assert "Waiting for the candidate" in (await page.locator("#state").inner_text())
            await page.reload()
            await _state(page, "waiting")
            assert await page.locator("html").get_attribute("lang") == "en"

            # A link whose token is not (or no longer) valid says so in plain words.
            bad = await browser.new_page()
            await bad.goto(links["interviewer_urls"][0].split("#")[0] + "#token=not-a-token")
            await bad.locator("#feed-error").wait_for(state="visible", timeout=10_000)
            assert "link is not valid or has expired" in (
                await bad.locator("#feed-error").text_content() or ""
            )

            # Another address for the same server, not in allowed_origins: a visible message.
            other = links["interviewer_urls"][0].replace("127.0.0.1", "127.0.0.2")
            blocked = await browser.new_page()
            await blocked.goto(other)
            alert = blocked.locator("#feed-error")
            await alert.wait_for(state="visible", timeout=15_000)
            assert "无法连接实时更新" in (await alert.text_content() or "")
            await check_contrast(blocked)
            await blocked.screenshot(path=str(ARTIFACTS / "live-view-blocked-zh.png"))
            await check_report_in_chinese(browser, client, links, errors)
            assert errors == [], errors
            await browser.close()
    finally:
        await client.close()

"""A real browser interview: Debian's Chromium with a fake camera (a real face) and a fake
microphone (synthesized speech) goes through consent, the question and finish, while a second
page is the interviewer's live view. Screenshots land in test-artifacts/."""

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
from playwright.async_api import Page, async_playwright

from server.app import create_app
from server.app_keys import AUTH_KEY
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.media import browser_media
from tests.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The requisition's competencies in its order, then the measures it does not name, by key.
LIVE_ORDER = [
    "competency:overall",
    "competency:communication",
    "competency:job_knowledge",
    "competency:team_leadership",
    "competency:composure",
    "competency:engagement",
    "competency:logical_structure",
]

ROW_ORDER_JS = "[...document.querySelectorAll('#scores .score')].map(r => r.dataset.dim)"
# Counts changes to the competency rows, so a test can wait for the next score update.
COUNT_UPDATES_JS = """() => {
  window.scoreUpdates = 0;
  new MutationObserver(() => window.scoreUpdates++).observe(
    document.getElementById('scores'),
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""
COLOURS_JS = """() => {
  const style = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {
    fill: style('#scores .score:not(.pending) .fill', 'backgroundColor'),
    track: style('#scores .score:not(.pending) .bar', 'backgroundColor'),
    pending: style('#scores .score.pending .value', 'color'),
    page: style('body', 'backgroundColor'),
    signal: style('#signals .signal', 'color'),
    signal_bg: style('#signals .signal', 'backgroundColor'),
  };
}"""


def _utc(stamp: str) -> datetime:
    at = datetime.fromisoformat(stamp).replace(microsecond=0)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        rgb = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def check_live_rows(viewer: Page) -> list[str]:
    """The competency rows as they first appear: the requisition's order, words instead of
    numbers without enough evidence (never a 0). Returns the order; counts later updates."""
    rows = viewer.locator("#scores .score")
    await viewer.locator('[data-dim="competency:job_knowledge"]').wait_for(timeout=30_000)
    await viewer.locator('[data-dim="competency:overall"]').wait_for(timeout=15_000)
    await viewer.evaluate(COUNT_UPDATES_JS)
    order: list[str] = await viewer.evaluate(ROW_ORDER_JS)
    assert order == LIVE_ORDER

    jk = viewer.locator('[data-dim="competency:job_knowledge"]')
    assert await jk.locator(".value").text_content() == "collecting…"
    assert await jk.get_attribute("data-status") == "insufficient_evidence"
    assert not await jk.locator(".bar").is_visible()
    tl = viewer.locator('[data-dim="competency:team_leadership"]')
    assert await tl.locator(".value").text_content() == "rated by interviewers"
    overall = viewer.locator('[data-dim="competency:overall"]')
    assert await overall.locator(".value").text_content() == "incomplete"  # half the weight
    assert "Job knowledge" in (await overall.locator(".note").text_content() or "")
    for status, value in zip(
        await rows.evaluate_all("rs => rs.map(r => r.dataset.status)"),
        await rows.locator(".value").all_text_contents(),
        strict=True,
    ):
        assert status == "scored" or not re.search(r"\d", value), (status, value)
    return order


async def check_rows_keep_order(viewer: Page, order: list[str]) -> None:
    """Rows stay in place while the scores change under them."""
    await viewer.wait_for_function("window.scoreUpdates > 0", timeout=30_000)
    assert await viewer.evaluate(ROW_ORDER_JS) == order, await viewer.evaluate(
        "window.scoreUpdates"
    )


async def check_live_explanations(viewer: Page) -> None:
    """Each row explains itself on keyboard focus; raw signals are values with units; one
    neutral accent with enough contrast; usable at 375 px."""
    rows = viewer.locator("#scores .score")
    assert set(await rows.evaluate_all("rs => rs.map(r => r.tabIndex)")) == {0}
    jk = viewer.locator('[data-dim="competency:job_knowledge"]')
    tip = jk.locator(".tip")
    assert not await tip.is_visible()
    await jk.focus()
    await tip.wait_for(state="visible")
    text = await tip.text_content() or ""
    assert "Formula" in text and "100 x expected concepts covered" in text, text
    assert "Still needed" in text and "expected concepts" in text, text
    assert "Confidence" in text and "This answer" in text, text
    await viewer.keyboard.press("Escape")  # dismissible without moving focus
    await tip.wait_for(state="hidden")
    comm = viewer.locator('[data-dim="competency:communication"]')
    await comm.focus()
    await comm.locator(".tip").wait_for(state="visible")
    comm_tip = await comm.locator(".tip").text_content() or ""
    assert "0.35 rate + 0.35 hesitations" in comm_tip, comm_tip
    await viewer.screenshot(path=str(ARTIFACTS / "interviewer-live-explained.png"))
    eng = viewer.locator('[data-dim="competency:engagement"]')
    if await eng.get_attribute("data-status") == "scored":  # frames and speech enough
        await eng.focus()
        assert "presence:" in (await eng.locator(".tip").text_content() or "")
        assert await eng.locator(".tip .evidence li").count() <= 5

    rate = await viewer.locator('#signals [data-dim="speaking_rate"]').text_content() or ""
    assert re.fullmatch(r"speaking rate \d+ wpm", rate), rate
    eye = await viewer.locator('#signals [data-dim="eye_contact"]').text_content() or ""
    assert re.fullmatch(r"eye contact \d+%", eye), eye
    assert await viewer.locator("#signals .bar, #signals meter").count() == 0

    colours = await viewer.evaluate(COLOURS_JS)
    assert _contrast(colours["fill"], colours["track"]) >= 4.5, colours
    assert _contrast(colours["fill"], colours["page"]) >= 4.5, colours
    assert _contrast(colours["pending"], colours["page"]) >= 4.5, colours
    assert _contrast(colours["signal"], colours["signal_bg"]) >= 4.5, colours

    # A phone: one column, no sideways scrolling, the explanation inside the screen.
    order = await viewer.evaluate(ROW_ORDER_JS)
    await viewer.set_viewport_size({"width": 375, "height": 812})
    await jk.focus()
    await tip.wait_for(state="visible")
    assert await viewer.evaluate("document.documentElement.scrollWidth") <= 375
    box = await tip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    await viewer.screenshot(path=str(ARTIFACTS / "interviewer-live-375.png"), full_page=True)
    await viewer.set_viewport_size({"width": 1280, "height": 860})
    assert await viewer.evaluate(ROW_ORDER_JS) == order


SCORECARD_COLOURS_JS = """() => {
  const style = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {
    anchor: style('#scorecard-panel .choice .anchor', 'color'),
    saved: style('#scorecard-panel .save-state[data-state="saved"]', 'color'),
    panel: style('#scorecard-panel', 'backgroundColor'),
  };
}"""


async def open_scorecard_before_live(page: Page) -> None:
    """Before the interview is live the scorecard says when rating opens, with no choices."""
    await page.locator("#scorecard-panel > summary").click()
    status = page.locator("#scorecard-panel .scorecard-status")
    await page.wait_for_function(
        "document.querySelector('#scorecard-panel .scorecard-status').textContent"
        ".includes('Rating opens when the interview starts')"
    )
    assert await page.locator("#scorecard-panel fieldset").count() == 0, await status.text_content()


async def check_scorecard_opens_live(page: Page, fetches: list[str]) -> None:
    """The waiting scorecard asks again once the live feed shows the interview running, and
    only then: one request before, one after (no polling)."""
    await page.locator('#scorecard-panel fieldset[data-key="communication"]').wait_for(
        timeout=15_000
    )
    assert len(fetches) == 2, fetches


async def check_scorecard_rating(
    viewer: Page, client: TestClient[Any, Any], admin: dict[str, str], iid: str
) -> datetime:
    """During the interview the interviewer rates one competency 4 with a note, with the
    keyboard, sees it saved, and the admin's ratings hold it."""
    await viewer.locator("#scorecard-panel > summary").focus()
    await viewer.keyboard.press("Enter")  # a <details>: opens from the keyboard
    comm = viewer.locator('#scorecard-panel fieldset[data-key="communication"]')
    await comm.wait_for(timeout=10_000)
    assert await comm.locator("legend").text_content() == "Communication"
    keys = await viewer.locator("#scorecard-panel fieldset.rate").evaluate_all(
        "fs => fs.map(f => f.dataset.key)"
    )
    assert keys[:3] == ["communication", "job_knowledge", "team_leadership"], keys
    assert await comm.locator('input[type="radio"]').count() == 5
    for level in ("1", "3", "5"):  # the anchors sit beside their choices
        anchor = comm.locator(f'.choice[data-level="{level}"] .anchor')
        assert len(await anchor.text_content() or "") > 20
    assert "Clear and concise" in (
        await comm.locator('.choice[data-level="5"] .anchor').text_content() or ""
    )
    assert await comm.locator('.choice[data-level="4"] .anchor').count() == 0

    note = "Clear examples <b>and</b> the point first."
    await comm.locator("textarea").fill(note)
    state = comm.locator(".save-state")
    assert await state.text_content() == "Choose a score to save the note"
    await comm.locator('input[value="3"]').focus()
    await viewer.keyboard.press("ArrowRight")  # radio group: arrows move and choose
    assert await comm.locator('input[value="4"]').is_checked()
    await viewer.wait_for_function(
        'document.querySelector(\'#scorecard-panel fieldset[data-key="communication"]'
        " .save-state').dataset.state === 'saved'",
        timeout=10_000,
    )
    assert await state.text_content() == "Saved"
    status = await viewer.locator("#scorecard-panel .scorecard-status").text_content() or ""
    assert "Interviewer 1" in status, status
    assert await viewer.locator("#scorecard-panel b").count() == 0  # text, never markup

    r = await client.get(f"/api/interviews/{iid}/ratings", headers=admin)
    assert r.status == 200
    rated = (await r.json())["competencies"]
    assert list(rated) == ["communication"], rated
    [rating] = rated["communication"]["ratings"]
    assert (rating["score"], rating["note"]) == (4, note), rating
    saved_at = _utc(rating["updated_at"])

    colours = await viewer.evaluate(SCORECARD_COLOURS_JS)
    assert _contrast(colours["anchor"], colours["panel"]) >= 4.5, colours
    assert _contrast(colours["saved"], colours["panel"]) >= 4.5, colours
    return saved_at


async def check_scorecard_during(
    early: Page,
    fetches: list[str],
    viewer: Page,
    client: TestClient[Any, Any],
    admin: dict[str, str],
    iid: str,
) -> datetime:
    """The scorecard checks while the interview is live; returns when the rating was saved."""
    await check_scorecard_opens_live(early, fetches)
    await early.close()
    return await check_scorecard_rating(viewer, client, admin, iid)


async def test_interview_in_a_real_browser(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    wav, y4m = await asyncio.to_thread(browser_media, tmp_path, TEXTS, 1.5, 6.0)
    port = _free_port()
    settings = make_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        admin = {"Authorization": f"Bearer {client.app[AUTH_KEY].admin_key}"}
        # Job knowledge needs a question with expected concepts, which this one lacks, so it
        # stays without a value; team leadership is for the interviewers to rate.
        r = await client.post("/api/requisitions", headers=admin, json={
            "title": "Support lead", "language": "en",
            "competencies": ["Communication", "Job knowledge",
                             {"name": "Team leadership", "measure": "interviewer_only"}],
            "questions": [{"text": "What is your greatest strength?", "time_limit_s": 90}],
        })  # fmt: skip
        rid = (await r.json())["id"]
        r = await client.post("/api/interviews", headers=admin,
                              json={"requisition_id": rid, "candidate_name": "Ada"})  # fmt: skip
        links = await r.json()

        args = [
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-features=WebRtcHideLocalIpsWithMdns",  # aiortc cannot resolve mDNS names
        ]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=args)
            ctx = await browser.new_context(viewport={"width": 1280, "height": 860})
            candidate = await ctx.new_page()
            viewer = await ctx.new_page()
            errors: list[str] = []
            candidate.on("pageerror", lambda e: errors.append(str(e)))

            # A second view of the same link opened before the interview starts.
            early = await ctx.new_page()
            early.on("pageerror", lambda e: errors.append(f"early: {e}"))
            fetches: list[str] = []
            early.on(
                "request",
                lambda r: fetches.append(r.url) if r.url.endswith("/scorecard") else None,
            )
            await early.route("**/watch", lambda route: route.abort())  # no second video relay
            await early.goto(links["interviewer_urls"][0])
            await open_scorecard_before_live(early)

            await candidate.goto(links["candidate_url"])
            await candidate.locator("#agree").wait_for()
            assert "#token=" not in candidate.url  # the token left the address bar
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-consent.png"))
            await candidate.locator("#agree").focus()
            await candidate.keyboard.press("Space")  # usable with the keyboard
            await candidate.locator("#consent").click()
            # The device check passes (frames from the camera, the microphone hears speech),
            # then the practice question (local only) leads to the interview.
            await candidate.locator("#check-done").wait_for()
            await candidate.wait_for_function(
                "!document.querySelector('#check-done').disabled", timeout=30_000
            )
            await candidate.locator("#check-done").click()
            await candidate.locator("#start").click()
            await candidate.locator("#question").wait_for(timeout=20_000)
            assert "greatest strength" in (
                await candidate.locator("#question").text_content() or ""
            )

            viewer.on("pageerror", lambda e: errors.append(f"viewer: {e}"))
            await viewer.goto(links["interviewer_urls"][0])
            order = await check_live_rows(viewer)
            # Rated while the candidate answers, beside the steps below.
            rating = asyncio.create_task(
                check_scorecard_during(early, fetches, viewer, client, admin, links["id"])
            )
            # Captions are the interviewer's: the candidate sees none unless the setting is on.
            # The device check and practice ran first, so the answer may start mid-file: wait
            # for the words of either sentence (the file loops).
            await viewer.wait_for_function(
                "() => /strength|customers|deadline|manager|options/i.test([...document"
                ".querySelectorAll('#captions-final p')].map(p => p.textContent).join(' '))",
                timeout=60_000,
            )
            assert await candidate.locator("#captions").count() == 0
            heard = " ".join(await viewer.locator("#captions-final p").all_text_contents())
            words = ("strength", "customers", "deadline", "manager", "options")
            assert any(w in heard.lower() for w in words), heard
            await check_rows_keep_order(viewer, order)
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-question.png"))
            await viewer.screenshot(path=str(ARTIFACTS / "interviewer-live.png"))

            # The only question: the candidate finishes it (the page never does so on its own
            # while the time lasts), and confirms.
            done = candidate.locator("#done")
            assert not await done.is_visible()
            await candidate.locator("#next").click()
            await candidate.locator("#confirm-finish-yes").click()
            await done.wait_for(timeout=20_000)
            saved_at = await rating
            r = await client.get(f"/api/interviews/{links['id']}", headers=admin)
            times = await r.json()
            # Rated once the interview was live (the times have whole seconds); rating stays
            # open after the end, so the end is no bound.
            assert _utc(times["started_at"]) <= saved_at, times
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-done.png"))
            await check_live_explanations(viewer)  # the rows still explain the finished scores
            assert errors == []

            # HR reads the finalized report from the list of interviews.
            hr = await ctx.new_page()
            await hr.goto(f"http://127.0.0.1:{port}/hr")
            await hr.locator("#key").fill(client.app[AUTH_KEY].admin_key)
            await hr.keyboard.press("Enter")
            row = hr.locator("#list tbody tr").first
            await row.wait_for(timeout=10_000)
            assert "finished" in (await row.text_content() or "")
            await row.get_by_role("button", name="Read").click()
            await hr.locator("#report h1").wait_for(timeout=10_000)
            assert await hr.locator("#report h1").text_content() == "Interview report"
            await hr.screenshot(path=str(ARTIFACTS / "hr-report.png"), full_page=True)
            await browser.close()
        r = await client.get(f"/api/interviews/{links['id']}", headers=admin)
        assert (await r.json())["state"] == "finished"
    finally:
        await client.close()

"""A real browser interview: Debian's Chromium with a fake camera (a real face) and a fake
microphone (synthesized speech) goes through consent, the question and finish, while a second
page is the interviewer's live view. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from playwright.async_api import async_playwright

from bench.speech import SR, conversation, tool, write_wav
from server.app import create_app
from server.app_keys import AUTH_KEY
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS
from tests.media import face_canvas
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


def _fake_media(folder: Path) -> tuple[Path, Path]:
    pcm, _ = conversation(TEXTS, folder, [1.5], lead_s=2.0)
    pcm = np.concatenate([pcm, np.zeros(SR * 6, np.float32)])  # quiet before the file loops
    wav = folder / "mic.wav"
    write_wav(wav, pcm)
    frames = folder / "frames"
    frames.mkdir()
    for i in range(30):
        Image.fromarray(face_canvas(x_shift=int(30 * np.sin(i / 5)))).save(frames / f"{i:03d}.png")
    y4m = folder / "camera.y4m"
    subprocess.run(
        [tool("ffmpeg"), "-y", "-loglevel", "error", "-framerate", "15", "-i",
         str(frames / "%03d.png"), "-pix_fmt", "yuv420p", str(y4m)],
        check=True,
    )  # fmt: skip
    return wav, y4m


async def test_interview_in_a_real_browser(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    wav, y4m = await asyncio.to_thread(_fake_media, tmp_path)
    port = _free_port()
    settings = make_settings(port=port, public_url=f"http://127.0.0.1:{port}")
    server = TestServer(create_app(settings), host="127.0.0.1", port=port)
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        admin = {"Authorization": f"Bearer {client.app[AUTH_KEY].admin_key}"}
        r = await client.post("/api/requisitions", headers=admin, json={
            "title": "Support lead", "language": "en", "competencies": ["communication"],
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

            await candidate.goto(links["candidate_url"])
            await candidate.locator("#agree").wait_for()
            assert "#token=" not in candidate.url  # the token left the address bar
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-consent.png"))
            await candidate.locator("#agree").focus()
            await candidate.keyboard.press("Space")  # usable with the keyboard
            await candidate.locator("#consent").click()
            start = candidate.locator("#start")
            await start.wait_for()
            await candidate.wait_for_function("!document.querySelector('#start').disabled")
            await start.click()
            await candidate.locator("#question").wait_for(timeout=20_000)
            assert "greatest strength" in (
                await candidate.locator("#question").text_content() or ""
            )

            await viewer.goto(links["interviewer_urls"][0])
            await candidate.locator("#captions-final p").first.wait_for(timeout=45_000)
            await viewer.locator("#captions-final p").first.wait_for(timeout=15_000)
            await viewer.wait_for_function(
                "document.querySelectorAll('#scores .score').length >= 2", timeout=15_000
            )
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-question.png"))
            await viewer.screenshot(path=str(ARTIFACTS / "interviewer-live.png"))
            heard = " ".join(await candidate.locator("#captions-final p").all_text_contents())
            assert any(w in heard.lower() for w in ("strength", "customers", "deadline")), heard

            await candidate.locator("#next").click()  # the only question: finishes
            await candidate.locator("#done").wait_for(timeout=20_000)
            await candidate.screenshot(path=str(ARTIFACTS / "candidate-done.png"))
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

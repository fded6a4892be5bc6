"""A real browser (Debian's Chromium through Playwright) against the real app."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

from server.app import create_app
from server.cli.doctor import find_chromium
from server.settings import Settings
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

# Flags for a headless root run on a machine with no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_landing_page_shows_readiness(make_settings: Callable[..., Settings]) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: run `make test` or scripts/install-system-deps.sh")
    server = TestServer(create_app(make_settings()), host="127.0.0.1")
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            await page.goto(str(server.make_url("/")))
            status = page.locator("#status")
            await status.and_(page.locator("[data-state=ready]")).wait_for(timeout=10_000)
            assert await status.text_content() == "ready"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "landing.png"))
            await browser.close()
    finally:
        await server.close()

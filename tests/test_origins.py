"""Which pages may open the live WebSocket (allowed_origins), and the public site info a page with
a bad link shows (its contact)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.errors import ConfigError
from server.settings import Settings, load_settings, origin_of

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def test_default_origins_are_public_url_and_local_hosts() -> None:
    s = load_settings(port=9000, public_url="https://Interviews.example.com/base/")
    assert s.origins == {
        "https://interviews.example.com",
        "http://localhost:9000",
        "https://localhost:9000",
        "http://127.0.0.1:9000",
        "https://127.0.0.1:9000",
        "http://[::1]:9000",
        "https://[::1]:9000",
    }
    extra = load_settings(
        port=9000, allowed_origins=["https://Other.example.org:8443/", "https://hr.example:443"]
    )
    assert "https://other.example.org:8443" in extra.origins
    assert "https://hr.example" in extra.origins  # browsers leave the default port out
    assert "http://127.0.0.1:9000" in extra.origins  # the default public URL
    assert origin_of("http://x.example:not-a-port") == ""


@pytest.mark.parametrize("bad", ["other.example.org", "ftp://x.example", "https://x.example/app"])
def test_an_origin_must_be_scheme_and_host(bad: str) -> None:
    with pytest.raises(ConfigError, match="allowed_origins"):
        load_settings(allowed_origins=[bad])


async def test_websocket_origins_and_site_contact(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as probe:  # the local origins name the server's real port
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    settings = make_settings(
        port=port, allowed_origins=["https://hr.example.com"], contact="talent@example.com"
    )
    async with TestClient(TestServer(create_app(settings), port=port)) as client:
        url = "/api/interviews/x/live"
        for origin in (
            "https://hr.example.com",
            f"http://localhost:{port}",
            settings.effective_public_url,
        ):
            r = await client.get(url, headers={**UPGRADE, "Origin": origin})
            assert r.status == 101, origin  # upgraded; the token check comes next
            r.close()
        for evil in ("https://evil.example", "null", "http://127.0.0.1:bad"):
            r = await client.get(url, headers={**UPGRADE, "Origin": evil})
            assert r.status == 403, evil
        assert "allowed_origins" in (await r.json())["error"]

        r = await client.get("/favicon.ico")  # no 404 in every page's console
        assert r.status == 200 and (await r.read())[:4] == b"\x00\x00\x01\x00"

        r = await client.get("/api/site")
        assert r.status == 200
        assert await r.json() == {"contact": "talent@example.com", "languages": ["en", "zh"]}

"""Single sign-on through the server against a real OpenID Connect provider process
(oidc-provider-mock): groups become roles, unknown people and replays are refused, and without
a role map only people an HR admin added get in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hr_bridge import accounts
from hr_bridge.accounts import RoleGrant
from hr_bridge.roles import Role
from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.settings import Settings
from tests.oidc_provider import OidcProvider, running_oidc_provider


def _user(email: str, name: str, groups: list[str]) -> dict[str, object]:
    return {"email": email, "email_verified": True, "name": name, "groups": groups}


USERS: dict[str, dict[str, object]] = {
    "ann": _user("ann@example.com", "Ann Admin", ["hr"]),
    "rob": _user("rob@example.com", "Rob Recruiter", ["talent", "all"]),
    "zed": _user("zed@example.com", "Zed Nobody", ["all"]),
    # Claims an existing person's address without the provider vouching for it.
    "mallory": {"email": "Boss@example.com", "name": "Mallory", "groups": ["hr"]},
}


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OidcProvider]:
    with running_oidc_provider(tmp_path / "oidc.log", users=USERS) as p:
        yield p


def _settings(make: Callable[..., Settings], provider: OidcProvider, **more: Any) -> Settings:
    return make(
        oidc_issuer=provider.issuer,
        oidc_client_id="hirestream",
        oidc_client_secret="client-secret-for-tests",
        **more,
    )


async def _sso(c: TestClient[Any, Any], provider: OidcProvider, sub: str) -> str:
    """Sign in as `sub` from the server's login route; where the server finally sends us."""
    r = await c.get("/api/sso/login?next=/hr/mine", allow_redirects=False)
    assert r.status == 302, await r.text()
    async with aiohttp.ClientSession() as http:
        back = await provider.sign_in(http, r.headers["Location"], sub)
    parts = urlsplit(back)
    assert parts.path == "/api/sso/callback"
    r = await c.get(f"{parts.path}?{parts.query}", allow_redirects=False)
    assert r.status == 302
    return r.headers["Location"]


async def test_groups_become_roles(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    role_map = {"hr": ["hr_admin"], "talent": ["recruiter"]}
    app = create_app(_settings(make_settings, provider, oidc_role_map=role_map))
    async with TestClient(TestServer(app)) as c:
        assert (await (await c.get("/api/sso")).json()) == {"enabled": True}
        assert await _sso(c, provider, "rob") == "/hr/mine"
        me = await (await c.get("/api/me")).json()
        assert (me["name"], me["email"], me["roles"]) == (
            "Rob Recruiter",
            "rob@example.com",
            ["recruiter"],
        )
        assert "offers:write" in me["actions"] and "users:manage" not in me["actions"]

        # The provider decides the roles at every sign-in: a changed group changes them.
        c.session.cookie_jar.clear()
        async with aiohttp.ClientSession() as http:
            await provider.set_user(http, "rob", USERS["rob"] | {"groups": ["hr"]})
        assert await _sso(c, provider, "rob") == "/hr/mine"
        me = await (await c.get("/api/me")).json()
        assert me["roles"] == ["hr_admin"]

        # No mapped group: refused, with a reason on the sign-in page.
        c.session.cookie_jar.clear()
        where = await _sso(c, provider, "zed")
        assert where.startswith("/signin?")
        assert "no hirestream role" in parse_qs(urlsplit(where).query)["sso_error"][0]
        assert (await c.get("/api/me")).status == 401


async def test_a_callback_is_used_once(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    app = create_app(_settings(make_settings, provider, oidc_role_map={"hr": ["hr_admin"]}))
    async with TestClient(TestServer(app)) as c:
        r = await c.get("/api/sso/login", allow_redirects=False)
        async with aiohttp.ClientSession() as http:
            back = urlsplit(await provider.sign_in(http, r.headers["Location"], "ann"))
        first = await c.get(f"{back.path}?{back.query}", allow_redirects=False)
        assert first.headers["Location"] == "/hr"
        again = await c.get(f"{back.path}?{back.query}", allow_redirects=False)
        assert again.headers["Location"].startswith("/signin?sso_error=")
        # A callback without the browser's own sign-in in progress is refused too.
        c.session.cookie_jar.clear()
        r = await c.get("/api/sso/login", allow_redirects=False)
        c.session.cookie_jar.clear()
        async with aiohttp.ClientSession() as http:
            back = urlsplit(await provider.sign_in(http, r.headers["Location"], "ann"))
        stolen = await c.get(f"{back.path}?{back.query}", allow_redirects=False)
        assert stolen.headers["Location"].startswith("/signin?sso_error=")
        assert (await c.get("/api/me")).status == 401


async def test_without_a_role_map_only_people_added_here_get_in(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    app = create_app(_settings(make_settings, provider))
    async with TestClient(TestServer(app)) as c:
        where = await _sso(c, provider, "ann")
        assert (
            "no hirestream account for ann@example.com"
            in parse_qs(urlsplit(where).query)["sso_error"][0]
        )
        engine = app[RESOURCES_KEY].engine
        await asyncio.to_thread(
            accounts.create_account,
            engine,
            "ann@example.com",
            "Ann",
            [RoleGrant(Role.AUDITOR)],
            "test",
        )
        assert await _sso(c, provider, "ann") == "/hr/mine"
        me = await (await c.get("/api/me")).json()
        assert me["roles"] == ["auditor"] and me["sso"] is True


async def test_an_unverified_email_takes_over_no_account(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    app = create_app(_settings(make_settings, provider, oidc_role_map={"hr": ["hr_admin"]}))
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        boss = await asyncio.to_thread(
            accounts.create_account,
            engine,
            "boss@example.com",
            "Boss",
            [RoleGrant(Role.HR_ADMIN)],
            "test",
            "the boss's own long password",
        )
        where = await _sso(c, provider, "mallory")
        assert "did not confirm your email" in parse_qs(urlsplit(where).query)["sso_error"][0]
        assert (await c.get("/api/me")).status == 401
        after = await asyncio.to_thread(accounts.get_account, engine, boss.id)
        assert after is not None and not after.sso


async def test_sign_in_returns_only_to_this_site(
    make_settings: Callable[..., Settings], provider: OidcProvider
) -> None:
    app = create_app(_settings(make_settings, provider, oidc_role_map={"hr": ["hr_admin"]}))
    async with TestClient(TestServer(app)) as c:
        for target in ("//evil.example", "/%09/evil.example", "/%5Cevil.example", "https://x"):
            r = await c.get(f"/api/sso/login?next={target}", allow_redirects=False)
            assert r.status == 400, target

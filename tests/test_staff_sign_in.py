"""Staff sign-in over HTTP: the first HR admin from a one-time link, sessions that end (idle,
sign-out, everywhere), account lockout, the TOTP second factor, and password resets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine

from hr_bridge import accounts
from hr_bridge.accounts import AccountView, RoleGrant
from hr_bridge.roles import Role
from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.settings import Settings

PASSWORD = "a long enough passphrase"


async def _person(engine: Engine, email: str, name: str, role: Role) -> AccountView:
    """An account with one organisation-wide role and the test password."""
    return await asyncio.to_thread(
        accounts.create_account, engine, email, name, [RoleGrant(role)], "test", PASSWORD
    )


def _cookie(r: Any) -> dict[str, str]:
    return {"Cookie": f"hs_session={r.cookies['hs_session'].value}"}


async def _sign_in(c: TestClient[Any, Any], email: str, **more: str) -> Any:
    r = await c.post("/api/session", json={"email": email, "password": PASSWORD} | more)
    c.session.cookie_jar.clear()  # callers pass their cookie explicitly
    return r


async def test_first_admin_from_a_one_time_link(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        assert await asyncio.to_thread(accounts.needs_first_admin, engine)
        token = await asyncio.to_thread(accounts.create_setup_link, engine, "first_admin")
        r = await c.post("/api/account/setup/check", json={"token": token})
        assert (await r.json())["purpose"] == "first_admin"
        body = {"token": token, "email": "Head@Example.com", "name": "Hana", "password": "short"}
        r = await c.post("/api/account/setup", json=body)
        assert r.status == 400 and (await r.json())["field"] == "password"
        r = await c.post("/api/account/setup", json=body | {"password": PASSWORD})
        assert r.status == 200, await r.text()
        me = await r.json()
        assert (me["email"], me["roles"]) == ("head@example.com", ["hr_admin"])
        cookie = r.cookies["hs_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        # Used once: the same link is gone, and no second first admin can be made.
        r = await c.post("/api/account/setup", json=body | {"password": PASSWORD})
        assert r.status == 410
        assert not await asyncio.to_thread(accounts.needs_first_admin, engine)


async def test_sessions_end_when_idle_signed_out_or_everywhere(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(session_idle_s=1.0))
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        await _person(engine, "rae@example.com", "Rae", Role.RECRUITER)
        first = await _sign_in(c, "rae@example.com")
        assert (await c.get("/api/me", headers=_cookie(first))).status == 200
        await asyncio.sleep(1.2)  # longer than session_idle_s
        r = await c.get("/api/me", headers=_cookie(first))
        assert r.status == 401 and "sign in again" in (await r.json())["error"]

        a, b = await _sign_in(c, "rae@example.com"), await _sign_in(c, "rae@example.com")
        csrf = (await a.json())["csrf"]
        r = await c.delete("/api/session", headers=_cookie(a))
        assert r.status == 403  # a write with the cookie needs its CSRF token
        r = await c.delete("/api/session", headers=_cookie(a) | {"X-CSRF-Token": csrf})
        assert r.status == 204
        assert (await c.get("/api/me", headers=_cookie(a))).status == 401
        assert (await c.get("/api/me", headers=_cookie(b))).status == 200

        d = await _sign_in(c, "rae@example.com")
        r = await c.post(
            "/api/session/sign-out-everywhere",
            headers=_cookie(d) | {"X-CSRF-Token": (await d.json())["csrf"]},
        )
        assert r.status == 204
        for s in (b, d):
            assert (await c.get("/api/me", headers=_cookie(s))).status == 401


async def test_wrong_passwords_lock_the_account(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(lockout_failures=3, lockout_s=600))
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        acc = await _person(engine, "lee@example.com", "Lee", Role.AUDITOR)
        statuses = [
            (await _sign_in(c, "lee@example.com", password="not the password")).status
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]  # the third failure locks, and says so
        r = await _sign_in(c, "lee@example.com")  # the right password, but locked
        assert r.status == 429 and int(r.headers["Retry-After"]) > 500
        # An HR admin's reset clears the lock and gives a one-time link for a new password.
        admin = await _person(engine, "boss@example.com", "Boss", Role.HR_ADMIN)
        assert admin.email == "boss@example.com"
        boss = await _sign_in(c, "boss@example.com")
        headers = _cookie(boss) | {"X-CSRF-Token": (await boss.json())["csrf"]}
        r = await c.post(f"/api/users/{acc.id}/reset", json={}, headers=headers)
        assert r.status == 200
        token = (await r.json())["setup_url"].split("#", 1)[1]
        r = await c.post("/api/account/setup/check", json={"token": token})
        assert await r.json() == {"purpose": "reset", "email": "lee@example.com"}
        new = "another long passphrase"
        r = await c.post("/api/account/setup", json={"token": token, "password": new})
        assert r.status == 200 and (await r.json())["email"] == "lee@example.com"
        c.session.cookie_jar.clear()  # Lee's new session: the boss asks next
        people = await (await c.get("/api/users", headers=headers)).json()
        lee = next(p for p in people if p["email"] == "lee@example.com")
        assert lee["last_sign_in_at"] is not None  # the link signed them in
        r = await _sign_in(c, "lee@example.com", password=new)
        assert r.status == 200


async def test_two_factor_sign_in(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        await _person(engine, "tia@example.com", "Tia", Role.HR_ADMIN)
        r = await _sign_in(c, "tia@example.com")
        headers = _cookie(r) | {"X-CSRF-Token": (await r.json())["csrf"]}
        begun = await (await c.put("/api/me/totp/begin", headers=headers)).json()
        assert begun["uri"].startswith("otpauth://totp/") and "tia%40example.com" in begun["uri"]
        totp = pyotp.TOTP(begun["secret"])
        first = totp.now()
        wrong = "000000" if first != "000000" else "111111"
        r = await c.put(
            "/api/me/totp", json={"secret": begun["secret"], "code": wrong}, headers=headers
        )
        assert r.status == 400
        r = await c.put(
            "/api/me/totp", json={"secret": begun["secret"], "code": first}, headers=headers
        )
        assert r.status == 204
        r = await _sign_in(c, "tia@example.com")
        assert r.status == 401 and (await r.json())["field"] == "code"
        r = await _sign_in(c, "tia@example.com", code=wrong)
        assert r.status == 401 and (await r.json())["field"] == "code"
        r = await _sign_in(c, "tia@example.com", code=first)
        assert r.status == 401  # the code that turned it on is spent
        ahead = datetime.now(UTC) + timedelta(seconds=30)  # the app's next code
        r = await _sign_in(c, "tia@example.com", code=totp.at(ahead))
        assert r.status == 200 and (await r.json())["totp_enabled"] is True
        headers = _cookie(r) | {"X-CSRF-Token": (await r.json())["csrf"]}
        # Turning it on again, or off without a current code, is refused.
        assert (await c.put("/api/me/totp/begin", headers=headers)).status == 409
        r = await c.request("DELETE", "/api/me/totp", json={"code": wrong}, headers=headers)
        assert r.status == 400 and (await r.json())["field"] == "code"

        # Off with a current, unused code (someone whose code from sign-in is an older one).
        tom = await _person(engine, "tom@example.com", "Tom", Role.RECRUITER)
        earlier = datetime.now(UTC) - timedelta(seconds=90)
        assert await asyncio.to_thread(
            accounts.enable_totp, engine, tom.id, begun["secret"], totp.at(earlier), "t", earlier
        )
        r = await _sign_in(c, "tom@example.com", code=totp.now())
        assert r.status == 200
        headers = _cookie(r) | {"X-CSRF-Token": (await r.json())["csrf"]}
        r = await c.request(
            "DELETE",
            "/api/me/totp",
            json={"code": totp.at(datetime.now(UTC) + timedelta(seconds=30))},
            headers=headers,
        )
        assert r.status == 204
        assert (await (await c.get("/api/me", headers=headers)).json())["totp_enabled"] is False


async def test_sign_in_refuses_forms_and_signed_out_pages_do_not_lock_it(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(auth_failure_limit=5))
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        await _person(engine, "ola@example.com", "Ola", Role.RECRUITER)
        # Another site's form cannot sign this browser in (login CSRF): JSON only.
        form = f'{{"email": "ola@example.com", "password": "{PASSWORD}"}}'
        r = await c.post("/api/session", data=form, headers={"Content-Type": "text/plain"})
        assert r.status == 415 and "hs_session" not in r.cookies
        for _ in range(12):  # pages asking "who am I?" while signed out
            assert (await c.get("/api/me")).status == 401
        assert (await _sign_in(c, "ola@example.com")).status == 200


async def test_a_reset_link_does_not_skip_two_factor(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        acc = await _person(engine, "two@example.com", "Two", Role.HR_ADMIN)
        secret = accounts.new_totp_secret()
        totp = pyotp.TOTP(secret)
        assert await asyncio.to_thread(
            accounts.enable_totp, engine, acc.id, secret, totp.now(), "test"
        )
        token = await asyncio.to_thread(accounts.create_setup_link, engine, "reset", acc.id)
        new = "a brand new passphrase"
        r = await c.post("/api/account/setup", json={"token": token, "password": new})
        assert r.status == 200 and await r.json() == {"sign_in": True}
        assert "hs_session" not in r.cookies
        r = await _sign_in(c, "two@example.com", password=new)
        assert r.status == 401 and (await r.json())["field"] == "code"


async def test_a_refused_change_changes_nothing(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        engine = app[RESOURCES_KEY].engine
        acc = await _person(engine, "solo@example.com", "Solo", Role.HR_ADMIN)
        r = await _sign_in(c, "solo@example.com")
        headers = _cookie(r) | {"X-CSRF-Token": (await r.json())["csrf"]}
        body = {"name": "Renamed", "disabled": True}
        r = await c.patch(f"/api/users/{acc.id}", json=body, headers=headers)
        assert r.status == 409  # the last HR admin
        after = await asyncio.to_thread(accounts.get_account, engine, acc.id)
        assert after is not None and after.name == "Solo" and not after.disabled

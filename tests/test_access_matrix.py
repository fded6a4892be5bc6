"""Every staff route against every role (hr_bridge.roles is the contract): people signed in
with their own sessions, scoped roles on their own and on someone else's requisition or
interview, integration keys by scope, and the operator key on and off.

Authorization runs before the body is read, so an allowed call with an empty body answers 400
(or 404/409 for made-up records), never 401/403; a refused one answers 403. Nothing here
depends on what the handlers do beyond that, except the list filters checked at the end."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hr_bridge import accounts
from hr_bridge.accounts import RoleGrant
from hr_bridge.roles import GRANTS, SCOPED, Action, Role
from server.app import create_app
from server.app_keys import AUTH_KEY, RESOURCES_KEY
from server.settings import Settings
from server.web import contract
from tests.hr_fixtures import finished_interview

PASSWORD = "correct horse battery staple"
OTHER = "__other__"  # stands for the record outside a scoped person's assignment


@dataclass
class World:
    req_a: str
    req_b: str
    iv_a: str
    iv_b: str


@dataclass
class Caller:
    label: str
    role: Role | None
    headers: dict[str, str]
    csrf: str | None = None


def _path(template: str, resource: str | None, world: World, own: bool) -> str:
    """Fill the path: the scoped record (own or other) for requisition/interview routes, a
    made-up id elsewhere."""
    target = {
        ("requisition", True): world.req_a,
        ("requisition", False): world.req_b,
        ("interview", True): world.iv_a,
        ("interview", False): world.iv_b,
    }.get((resource or "", own), "1")
    out = template.replace("{id}", target)
    return re.sub(r"{\w+}", "communication", out)


def _expected(role: Role | None, op: contract.Operation[Any, Any, Any], own: bool) -> bool:
    if role is None:  # the operator key
        return True
    assert isinstance(op.action, Action)
    if op.action not in GRANTS[role]:
        return False
    return role not in SCOPED or op.resource is None or own


async def _sign_in(c: TestClient[Any, Any], email: str) -> tuple[dict[str, str], str]:
    r = await c.post("/api/session", json={"email": email, "password": PASSWORD})
    assert r.status == 200, await r.text()
    me = await r.json()
    cookie = r.cookies["hs_session"].value
    c.session.cookie_jar.clear()  # each caller sends its own cookie, the jar none
    return {"Cookie": f"hs_session={cookie}"}, me["csrf"]


async def _people(c: TestClient[Any, Any], world: World) -> list[Caller]:
    engine = c.app[RESOURCES_KEY].engine
    grants = {
        Role.HR_ADMIN: RoleGrant(Role.HR_ADMIN),
        Role.RECRUITER: RoleGrant(Role.RECRUITER),
        Role.HIRING_MANAGER: RoleGrant(Role.HIRING_MANAGER, requisition_id=world.req_a),
        Role.INTERVIEWER: RoleGrant(Role.INTERVIEWER, interview_id=world.iv_a),
        Role.AUDITOR: RoleGrant(Role.AUDITOR),
    }
    callers = []
    for role, grant in grants.items():
        email = f"{role.value}@example.com"
        await asyncio.to_thread(
            accounts.create_account, engine, email, role.value, [grant], "test", PASSWORD
        )
        headers, csrf = await _sign_in(c, email)
        callers.append(Caller(role.value, role, headers, csrf))
    admin_key = c.app[AUTH_KEY].admin_key
    callers.append(Caller("operator", None, {"Authorization": f"Bearer {admin_key}"}))
    return callers


async def _world(c: TestClient[Any, Any]) -> World:
    engine = c.app[RESOURCES_KEY].engine

    def make() -> World:
        req_a, iv_a = finished_interview(engine, name="Ana")
        req_b, iv_b = finished_interview(engine, name="Bo")
        return World(req_a.id, req_b.id, iv_a.id, iv_b.id)

    return await asyncio.to_thread(make)


def _staff_ops(app: Any) -> list[contract.Operation[Any, Any, Any]]:
    return [
        op
        for op in contract.operations(app)
        if "staff" in op.security and op.action != "self" and "{competency}" not in op.path
    ]


async def _call(
    c: TestClient[Any, Any], op: contract.Operation[Any, Any, Any], path: str, who: Caller
) -> int:
    headers = dict(who.headers)
    if who.csrf and op.method != "GET":
        headers["X-CSRF-Token"] = who.csrf
    kwargs: dict[str, Any] = {"headers": headers}
    if op.method != "GET":
        kwargs["data"] = b"{}"
        headers["Content-Type"] = "application/json"
    r = await c.request(op.method, path, **kwargs)
    await r.read()
    return r.status


async def test_every_staff_route_against_every_role(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(auth_failure_limit=10_000))
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        callers = await _people(c, world)
        ops = _staff_ops(app)
        assert len(ops) >= 40, len(ops)
        wrong: list[str] = []
        checked = 0
        for op in ops:
            for own in (True, False) if op.resource else (True,):
                path = _path(op.path, op.resource, world, own)
                for who in callers:
                    status = await _call(c, op, path, who)
                    allowed = _expected(who.role, op, own)
                    checked += 1
                    if status == 401 or (allowed and status == 403):
                        wrong.append(f"{who.label} {op.method} {path}: {status}, expected allowed")
                    elif not allowed and status != 403:
                        wrong.append(f"{who.label} {op.method} {path}: {status}, expected 403")
        assert not wrong, "\n".join(wrong)
        assert checked > 300


async def test_lists_show_only_assigned_records(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        callers = {w.label: w for w in await _people(c, world)}

        async def ids(path: str, who: str) -> set[str]:
            r = await c.get(path, headers=callers[who].headers)
            assert r.status == 200, await r.text()
            return {row["id"] for row in await r.json()}

        assert {world.iv_a, world.iv_b} <= await ids("/api/interviews", "recruiter")
        assert await ids("/api/interviews", "interviewer") == {world.iv_a}
        assert await ids("/api/interviews", "hiring_manager") == {world.iv_a}
        assert await ids("/api/requisitions", "hiring_manager") == {world.req_a}
        assert {world.req_a, world.req_b} <= await ids("/api/requisitions", "hr_admin")


async def test_api_keys_are_held_to_their_scopes(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(auth_failure_limit=10_000))
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        admin = next(w for w in await _people(c, world) if w.label == "hr_admin")
        r = await c.post(
            "/api/keys",
            json={"name": "ats sync", "scopes": ["reports:read", "candidates:write"]},
            headers=admin.headers | {"X-CSRF-Token": admin.csrf or ""},
        )
        assert r.status == 201, await r.text()
        made = await r.json()
        key = Caller("key", None, {"Authorization": f"Bearer {made['key']}"})
        for op in _staff_ops(app):
            path = _path(op.path, op.resource, world, True)
            status = await _call(c, op, path, key)
            assert isinstance(op.action, Action)
            if op.action.value in made["scopes"]:
                assert status not in (401, 403), (op.method, path, status)
            else:
                assert status == 403, (op.method, path, status)
        listed = await (await c.get("/api/keys", headers=admin.headers)).json()
        assert [k["last_used_at"] is not None for k in listed] == [True]
        assert "key" not in listed[0]
        r = await c.delete(
            f"/api/keys/{made['id']}", headers=admin.headers | {"X-CSRF-Token": admin.csrf or ""}
        )
        assert r.status == 200
        r = await c.get(f"/api/interviews/{world.iv_a}/report", headers=key.headers)
        assert r.status == 401
        # Managing keys and people is never a key's scope.
        r = await c.post(
            "/api/keys",
            json={"name": "too much", "scopes": ["keys:manage"]},
            headers=admin.headers | {"X-CSRF-Token": admin.csrf or ""},
        )
        assert r.status == 400 and (await r.json())["field"] == "scopes"


async def test_the_operator_key_can_be_switched_off(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(admin_key_enabled=False))
    async with TestClient(TestServer(app)) as c:
        key = c.app[AUTH_KEY].admin_key
        r = await c.get("/api/interviews", headers={"Authorization": f"Bearer {key}"})
        assert r.status == 401
        assert "disabled" in (await r.json())["error"]


async def test_cookie_writes_need_the_csrf_token(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        admin = next(w for w in await _people(c, world) if w.label == "hr_admin")
        body = {"decision": "advance", "reason": "strong answers"}
        path = f"/api/interviews/{world.iv_a}/decision"
        r = await c.post(path, json=body, headers=admin.headers)
        assert r.status == 403 and "X-CSRF-Token" in (await r.json())["error"]
        r = await c.post(path, json=body, headers=admin.headers | {"X-CSRF-Token": "forged"})
        assert r.status == 403
        ok = admin.headers | {"X-CSRF-Token": admin.csrf or ""}
        r = await c.post(path, json=body | {"decided_by": "Somebody Else"}, headers=ok)
        assert r.status == 201, await r.text()
        # The signed-in person is recorded, never a typed name.
        decided_by = (await r.json())["decided_by"]
        assert "hr_admin@example.com" in decided_by and "Somebody" not in decided_by
        audit = await (await c.get("/api/audit", headers=admin.headers)).json()
        decision = [e for e in audit if e["action"] == "decision.recorded"]
        assert decision and decision[-1]["detail"]["via"].startswith("session:")


async def test_a_persons_live_links_rate_as_that_person(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        people = {w.label: w for w in await _people(c, world)}
        who = people["interviewer"]
        write = who.headers | {"X-CSRF-Token": who.csrf or ""}
        scores = []
        for score in (2, 4):  # two links, as after a reload: still one rater
            r = await c.post(f"/api/interviews/{world.iv_a}/live-link", headers=write)
            assert r.status == 200, await r.text()
            token = (await r.json())["url"].split("#token=", 1)[1]
            r = await c.put(
                f"/api/interviews/{world.iv_a}/ratings/communication",
                json={"score": score, "note": "clear"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status == 200, await r.text()
            scores.append(score)
        r = await c.post(f"/api/interviews/{world.iv_b}/live-link", headers=write)
        assert r.status == 403  # not their interview
        admin = people["hr_admin"]
        rated = await (
            await c.get(f"/api/interviews/{world.iv_a}/ratings", headers=admin.headers)
        ).json()
        assert rated["competencies"]["communication"]["n"] == 1
        assert rated["competencies"]["communication"]["mean"] == scores[-1]
        trail = await (await c.get("/api/audit", headers=admin.headers)).json()
        ratings = [e for e in trail if e["action"] == "rating.recorded"]
        assert ratings and all("interviewer@example.com" in e["actor"] for e in ratings)


async def test_raters_never_see_each_others_ratings(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        people = {w.label: w for w in await _people(c, world)}
        engine = app[RESOURCES_KEY].engine
        # A hiring manager of requisition A who also interviews on B's interview.
        both = [
            RoleGrant(Role.HIRING_MANAGER, requisition_id=world.req_a),
            RoleGrant(Role.INTERVIEWER, interview_id=world.iv_b),
        ]
        await asyncio.to_thread(
            accounts.create_account, engine, "both@example.com", "Both", both, "test", PASSWORD
        )
        headers, _csrf = await _sign_in(c, "both@example.com")
        for iv, decides in ((world.iv_a, True), (world.iv_b, False)):
            r = await c.get(f"/api/interviews/{iv}/report", headers=headers)
            assert r.status == 200
            assert ("human_ratings" in await r.json()) is decides, iv
        r = await c.get(f"/api/interviews/{world.iv_b}/ratings", headers=headers)
        assert r.status == 403
        r = await c.get(
            f"/api/interviews/{world.iv_a}/ratings", headers=people["interviewer"].headers
        )
        assert r.status == 403  # an interviewer account, on its own interview


async def test_a_persons_link_follows_the_account(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        world = await _world(c)
        people = {w.label: w for w in await _people(c, world)}

        async def link(who: Caller) -> dict[str, str]:
            r = await c.post(
                f"/api/interviews/{world.iv_a}/live-link",
                headers=who.headers | {"X-CSRF-Token": who.csrf or ""},
            )
            assert r.status == 200, await r.text()
            return {"Authorization": "Bearer " + (await r.json())["url"].split("#token=")[1]}

        rating = {"score": 3, "note": ""}
        path = f"/api/interviews/{world.iv_a}/ratings/communication"
        manager = await link(people["hiring_manager"])
        assert (await c.get(f"/api/interviews/{world.iv_a}", headers=manager)).status == 200
        assert (await c.put(path, json=rating, headers=manager)).status == 403  # watches only
        interviewer = await link(people["interviewer"])
        assert (await c.put(path, json=rating, headers=interviewer)).status == 200
        engine = app[RESOURCES_KEY].engine
        me = await (await c.get("/api/me", headers=people["interviewer"].headers)).json()
        await asyncio.to_thread(accounts.set_disabled, engine, me["id"], True, "test")
        r = await c.put(path, json=rating, headers=interviewer)
        assert r.status == 401 and "disabled" in (await r.json())["error"]

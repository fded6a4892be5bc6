"""Input that used to reach a 500 is refused with a JSON 4xx naming the field: huge integers,
overflowing and non-finite numbers, deep nesting, NUL bytes (PostgreSQL), a profile or follow-up
rule of the wrong shape; bad credentials are throttled; responses are standard JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hr_bridge import interviews as db
from server.app import create_app
from server.app_keys import RESOURCES_KEY
from server.settings import Settings
from server.web.auth import FailureThrottle
from server.web.util import dumps

KEY = "input-validation-admin-key-0123456789"
ADMIN = {"Authorization": f"Bearer {KEY}"}
IID = "0" * 32  # a well-formed interview id (no such interview)
QUESTIONS = [{"text": "Tell me about a deal."}]


@asynccontextmanager
async def _client(
    make_settings: Callable[..., Settings], **kw: Any
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(make_settings(admin_api_key=KEY, **kw))
    async with TestClient(TestServer(app)) as c:
        yield c


async def _refused(r: Any, status: int, field: str | None) -> dict[str, Any]:
    assert r.status == status, (r.status, await r.text())
    assert r.content_type == "application/json"
    body: dict[str, Any] = await r.json()
    assert body["error"] and body["field"] == field, body
    return body


async def test_huge_and_out_of_range_integers(make_settings: Callable[..., Settings]) -> None:
    async with _client(make_settings) as c:
        for eid in ("18446744073709551616", "2147483648", "0", "-1", "1e3"):
            for path in (
                f"/api/employees/{eid}",
                f"/api/training/{eid}",
                f"/api/follow-ups/{eid}",
                f"/api/onboarding-tasks/{eid}/done",
            ):
                method = c.get if path.startswith("/api/employees/") else c.post
                await _refused(await method(path, headers=ADMIN, json={}), 404, "id")
        await _refused(
            await c.post(
                "/api/employees/18446744073709551616/probation-reviews", headers=ADMIN, json={}
            ),
            404,
            "id",
        )
        for query, field in (
            ("/api/employees?offset=18446744073709551616", "offset"),
            ("/api/employees?offset=-1", "offset"),
            ("/api/employees?limit=501", "limit"),
            ("/api/events?after=18446744073709551616", "after"),
            ("/api/analytics/validity?min_n=2", "min_n"),
            ("/api/analytics/adverse-impact?threshold=1e400", "threshold"),
            ("/api/analytics/adverse-impact?threshold=nan", "threshold"),
            (f"/api/requisitions/{IID}/ranking?offset=99999999999999999999", "offset"),
        ):
            await _refused(await c.get(query, headers=ADMIN), 400, field)
        assert (await c.get("/api/employees?offset=2147483647", headers=ADMIN)).status == 200


async def test_non_finite_and_overflowing_numbers(make_settings: Callable[..., Settings]) -> None:
    async with _client(make_settings) as c:
        for salary in ("1e400", "Infinity", "-Infinity", "NaN"):
            raw = f'{{"salary": {salary}, "start_date": "2031-01-01", "created_by": "x"}}'
            r = await c.post(
                f"/api/interviews/{IID}/job-offer",
                headers=ADMIN | {"Content-Type": "application/json"},
                data=raw,
            )
            await _refused(r, 400, "salary")
        for level in ("NaN", "Infinity", "1e400"):
            raw = (
                '{"title": "t", "questions": [{"text": "q"}], '
                f'"requirements": {{"skills": {{"python": {level}}}}}}}'
            )
            r = await c.post(
                "/api/requisitions", headers=ADMIN | {"Content-Type": "application/json"}, data=raw
            )
            await _refused(r, 400, "requirements.skills.python")
        raw = '[{"ref": "r", "name": "n", "profile": {"skills": {"sql": NaN}}}]'
        r = await c.post(
            "/api/candidates", headers=ADMIN | {"Content-Type": "application/json"}, data=raw
        )
        await _refused(r, 400, "0.profile.skills.sql")


async def test_deep_nesting_is_refused_before_parsing(
    make_settings: Callable[..., Settings],
) -> None:
    async with _client(make_settings) as c:
        for body in (b"[" * 50_000 + b"]" * 50_000, b"[" * 50_000, b'{"a":' * 10_000):
            r = await c.post("/api/candidates", headers=ADMIN, data=body)
            await _refused(r, 400, "body")
        r = await c.post(
            "/api/requisitions", headers=ADMIN, data=b'{"title": ' + b"[" * 40 + b"]" * 40 + b"}"
        )
        await _refused(r, 400, "body")
        # Brackets inside strings are text, not nesting.
        r = await c.post("/api/candidates", headers=ADMIN, json=[{"ref": "r", "name": "[" * 100}])
        assert r.status == 200
        assert (await c.get("/healthz")).status == 200


async def test_bodies_over_the_cap_get_json_413(make_settings: Callable[..., Settings]) -> None:
    async with _client(make_settings) as c:
        big = json.dumps([{"ref": str(i), "name": "x" * 200} for i in range(6000)])
        assert len(big) > 1 << 20
        r = await c.post("/api/candidates", headers=ADMIN, data=big)
        await _refused(r, 413, "body")
        r = await c.post("/api/requisitions", headers=ADMIN, data=b" " * (70 * 1024))
        await _refused(r, 413, "body")


async def test_profile_shape_is_checked_and_background_works(
    make_settings: Callable[..., Settings],
) -> None:
    async with _client(make_settings) as c:
        for profile, field in (
            ({"skills": "python"}, "0.profile.skills"),
            ({"skills": {"python": 101}}, "0.profile.skills.python"),
            ({"experience": [{"years": -1}]}, "0.profile.experience.0.years"),
            ({"certificates": "ITIL"}, "0.profile.certificates"),
            ({"name": "someone else"}, "0.profile.name"),
        ):
            r = await c.post(
                "/api/candidates",
                headers=ADMIN,
                json=[{"ref": "r", "name": "n", "profile": profile}],
            )
            await _refused(r, 400, field)
        good = {
            "skills": {"Python": 60},
            "experience": [{"title": "dev", "company": "Acme", "years": 4}],
            "education": [{"degree": "BSc", "year": 2015}],
            "certificates": ["ITIL"],
        }
        r = await c.post(
            "/api/candidates", headers=ADMIN, json=[{"ref": "r", "name": "Ada", "profile": good}]
        )
        assert r.status == 200
        r = await c.post(
            "/api/requisitions",
            headers=ADMIN,
            json={
                "title": "Dev",
                "questions": QUESTIONS,
                "requirements": {"skills": {"python": 80}, "min_years": 2},
            },
        )
        rid = (await r.json())["id"]
        r = await c.post(
            "/api/interviews", headers=ADMIN, json={"requisition_id": rid, "candidate_ref": "r"}
        )
        iid = (await r.json())["id"]
        bg = await (await c.get(f"/api/interviews/{iid}/background", headers=ADMIN)).json()
        assert bg["candidate"]["skills"] == {"Python": 60.0}
        assert bg["match"]["overall"] == 87.5  # python 75% of the requirement, experience 100%


async def test_follow_up_rules_cannot_carry_other_fields(
    make_settings: Callable[..., Settings],
) -> None:
    rule = {"id": "x", "course": "c", "when": {"probation": {"peer_rating": 2}}}
    async with _client(make_settings) as c:
        for bad, field in (
            (rule | {"id": {"nested": 1}}, "follow_up_rules.0.id"),
            (rule | {"title": ["t"]}, "follow_up_rules.0.title"),
            (rule | {"internal": True}, "follow_up_rules.0.internal"),
            (rule | {"when": {"probation": {"peer_rating": "NaN"}}}, None),
        ):
            r = await c.post(
                "/api/requisitions",
                headers=ADMIN,
                json={"title": "t", "questions": QUESTIONS, "follow_up_rules": [bad]},
            )
            assert r.status == 400, await r.text()
            if field:
                assert (await r.json())["field"] == field
        r = await c.post(
            "/api/requisitions",
            headers=ADMIN,
            json={"title": "t", "questions": QUESTIONS, "follow_up_rules": [rule]},
        )
        assert r.status == 201
        engine = c.app[RESOURCES_KEY].engine
        req = await asyncio.to_thread(db.get_requisition, engine, (await r.json())["id"])
        assert req is not None
        assert req.follow_up_rules == [
            {"id": "x", "title": "x", "course": "c", "when": {"probation": {"peer_rating": 2.0}}}
        ]


async def test_nul_bytes_on_postgresql(
    make_settings: Callable[..., Settings], postgres_url: str
) -> None:
    async with _client(make_settings, database_url=postgres_url) as c:
        for body, field in (
            ({"title": "a\u0000b", "questions": QUESTIONS}, "title"),
            ({"title": "t", "questions": [{"text": "q\u0000"}]}, "questions.0.text"),
            ({"title": "t", "questions": QUESTIONS, "family": "\u0000"}, "family"),
        ):
            await _refused(await c.post("/api/requisitions", headers=ADMIN, json=body), 400, field)
        await _refused(
            await c.post("/api/candidates", headers=ADMIN, json=[{"ref": "r\u0000", "name": "n"}]),
            400,
            "0.ref",
        )
        await _refused(
            await c.post("/api/interviews", headers=ADMIN, json={"requisition_id": "\u0000"}),
            400,
            "requisition_id",
        )
        await _refused(await c.get("/api/interviews/ab%00cd", headers=ADMIN), 404, "id")
        await _refused(await c.get(f"/api/requisitions/{IID}%00/ranking", headers=ADMIN), 404, "id")
        await _refused(
            await c.get("/api/analytics/adverse-impact?family=a%00", headers=ADMIN), 400, "family"
        )
        await _refused(
            await c.get("/api/analytics/validity/plot?family=sales&competency=%00", headers=ADMIN),
            400,
            "competency",
        )
        # Ids above PostgreSQL's INTEGER are refused before the query.
        await _refused(await c.get("/api/employees/2147483648", headers=ADMIN), 404, "id")
        await _refused(await c.get("/api/events?after=2147483648", headers=ADMIN), 400, "after")
        assert (await c.get("/api/events?after=2147483647", headers=ADMIN)).status == 200


async def test_responses_are_standard_json(make_settings: Callable[..., Settings]) -> None:
    """A value stored before input was checked (NaN) is served as null, never as NaN."""
    assert dumps({"a": float("nan"), "b": [float("inf"), 1.5]}) == '{"a": null, "b": [null, 1.5]}'
    async with _client(make_settings) as c:
        engine = c.app[RESOURCES_KEY].engine
        await asyncio.to_thread(
            db.create_requisition,
            engine,
            title="Legacy",
            questions=[{"text": "q", "time_limit_s": 120}],
            requirements={"skills": {"python": float("nan")}},
        )
        r = await c.get("/api/requisitions", headers=ADMIN)
        text = await r.text()

        def no_constants(name: str) -> None:
            raise AssertionError(f"non-standard JSON constant {name}")

        rows = json.loads(text, parse_constant=no_constants)
        assert rows[0]["requirements"]["skills"]["python"] is None


async def test_bad_credentials_are_throttled_per_address(
    make_settings: Callable[..., Settings],
) -> None:
    async with _client(make_settings, auth_failure_limit=3, auth_failure_window_s=60) as c:
        bad = {"Authorization": "Bearer wrong"}
        for _ in range(3):
            await _refused(await c.get("/api/requisitions", headers=bad), 401, None)
        r = await c.get("/api/requisitions", headers=bad)
        await _refused(r, 429, None)
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        # The address waits, whatever it sends; public calls are not affected.
        await _refused(await c.get("/api/requisitions", headers=ADMIN), 429, None)
        await _refused(
            await c.get(f"/api/interviews/{IID}/self-id", headers={"Authorization": "Bearer a.b"}),
            429,
            None,
        )
        assert (await c.get("/api/self-id/options")).status == 200


def test_throttle_forgets_after_the_window() -> None:
    t = FailureThrottle(limit=2, window_s=10)
    t.failed("a", now=0)
    t.failed("a", now=1)
    assert t.retry_after("a", now=2) == 8 and t.retry_after("b", now=2) == 0
    assert t.retry_after("a", now=10.5) == 0  # the first failure left the window
    assert t.retry_after("a", now=11.5) == 0

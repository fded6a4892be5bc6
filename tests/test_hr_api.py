"""The HR API over HTTP: ranking, decision, offer, acceptance, self-identification, employee
records and analytics; who may call what."""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
import json
import re
import textwrap
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import TypeAdapter, ValidationError

from analytics import synthetic
from hr_bridge import interviews as db
from hr_bridge import lifecycle
from server.app import create_app
from server.app_keys import AUTH_KEY, RESOURCES_KEY
from server.settings import Settings
from server.web import api, contract, hr_api, signaling, sso_api, staff_api
from server.web import util as web_util
from tests.hr_fixtures import report_body

MATCH = {
    "parts": [
        {"kind": "competency", "name": "communication", "weight": 40, "required": 70},
        {"kind": "competency", "name": "composure", "label": "stress resilience", "weight": 30},
        {
            "kind": "fact",
            "name": "past_sales_results",
            "label": "past sales results",
            "weight": 20,
            "scale": [0, 150],
        },
        {"kind": "fact", "name": "customer_feedback", "weight": 10},
    ],
    "bands": {"high": 75, "medium": 55},
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _finish(app: Any, iid: str, scores: dict[str, float]) -> None:
    engine = app[RESOURCES_KEY].engine

    def work() -> None:
        lifecycle.move(
            engine,
            iid,
            db.InterviewState.FINISHED,
            actor="test",
            action="interview.finished",
            consent_at=datetime.now(UTC),
            finished_at=datetime.now(UTC),
        )
        db.save_report(engine, iid, report_body(iid, scores))

    await asyncio.to_thread(work)


class _Conformance:
    """A middleware that holds every JSON success body the app sends against the model its
    operation declares: the body validates, and the model given back the body (unset keys left
    out) is the body itself, so the model names every key the server sends, null or absent."""

    def __init__(self) -> None:
        self.checked: set[str] = set()
        self.problems: list[str] = []

    @web.middleware
    async def check(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        op = getattr(request.match_info.route.handler, "__self__", None)
        if not isinstance(op, contract.Operation) or not isinstance(response, web.Response):
            return response
        reply = op.responses.get(response.status)
        if not isinstance(reply, contract.Reply) or reply.model is None:
            return response
        if response.content_type != "application/json":
            return response
        where = f"{op.method} {op.path} {response.status}"
        self.checked.add(f"{op.method} {op.path}")
        assert isinstance(response.body, bytes)
        sent = json.loads(response.body)
        adapter: TypeAdapter[Any] = TypeAdapter(reply.model)
        try:
            typed = adapter.validate_python(sent)
        except ValidationError as err:
            self.problems.append(f"{where}: {err}")
            return response
        again = adapter.dump_python(typed, mode="json", exclude_unset=True)
        if again != sent:
            self.problems.append(f"{where}: the model reads {sent!r} as {again!r}")
        return response


def _checked_app(settings: Settings) -> tuple[web.Application, _Conformance]:
    app = create_app(settings)
    conformance = _Conformance()
    app.middlewares.append(conformance.check)
    return app, conformance


async def test_from_ranking_to_employee_over_http(make_settings: Callable[..., Settings]) -> None:
    app, conformance = _checked_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        admin = _bearer(app[AUTH_KEY].admin_key)
        bad = dict(MATCH, bands={"high": 40, "medium": 60})
        r = await c.post(
            "/api/requisitions",
            headers=admin,
            json={"title": "Account executive", "questions": [{"text": "Why?"}], "match": bad},
        )
        assert r.status == 400 and "medium must not be above high" in (await r.json())["error"]
        r = await c.post(
            "/api/requisitions",
            headers=admin,
            json={
                "title": "Account executive",
                "family": "Sales",
                "questions": [{"text": "Tell me about a deal."}],
                "match": MATCH,
                "salary_band": {"min": 50000, "max": 60000, "currency": "EUR"},
                "probation_months": 3,
                "follow_up_rules": [
                    {
                        "id": "ramp-up",
                        "course": "Selling under pressure",
                        "when": {
                            "interview": {"composure": 80},
                            "probation": {"task_completion": 95},
                        },
                    }
                ],
            },
        )
        rid = (await r.json())["id"]
        people = [
            {"ref": "a", "name": "Ada Park", "profile": {"facts": {"past_sales_results": 150}}},
            {"ref": "b", "name": "Bo Chen", "profile": {"facts": {"customer_feedback": 50}}},
        ]
        assert (await c.post("/api/candidates", headers=admin, json=people)).status == 200
        ids, invites = {}, {}
        for person, comm in (("a", 85.0), ("b", 62.0)):
            r = await c.post(
                "/api/interviews",
                headers=admin,
                json={"requisition_id": rid, "candidate_ref": person},
            )
            created = await r.json()
            ids[person] = created["id"]
            invites[person] = _bearer(created["candidate_url"].split("#token=")[1])
            await _finish(app, ids[person], {"communication": comm, "composure": 70.0})

        # Voluntary self-identification, on the finish screen, before anyone decides.
        options = await (await c.get("/api/self-id/options")).json()
        assert "declined" in options["sex"]
        url = f"/api/interviews/{ids['a']}/self-id"
        r = await c.post(url, headers=invites["a"], json={"sex": "robot"})
        assert r.status == 400
        r = await c.post(url, headers=invites["b"], json={"sex": "female"})
        assert r.status == 401  # someone else's interview
        r = await c.post(
            url, headers=invites["a"], json={"sex": "female", "race_ethnicity": "declined"}
        )
        assert r.status == 200
        assert (await (await c.get(url, headers=invites["a"])).json()) == {
            "answered": True,
            "open": True,
        }
        url_b = f"/api/interviews/{ids['b']}/self-id"
        assert (await (await c.get(url_b, headers=invites["b"])).json()) == {
            "answered": False,
            "open": True,
        }

        ranked = await (await c.get(f"/api/requisitions/{rid}/ranking", headers=admin)).json()
        assert ranked["requisition"]["family"] == "sales"
        assert [x["candidate_ref"] for x in ranked["candidates"]] == ["a", "b"]
        best, other = ranked["candidates"]
        # (0.4*85 + 0.3*70 + 0.2*100) / 0.9 = 75 / 0.9 = 83.3 (no customer feedback on record)
        assert best["match"]["band"] == "high" and best["match"]["score"] == 83.3
        reasons = [p["reason"] for p in other["match"]["parts"]]
        assert reasons[0] == "communication 62, below the requirement of 70 (40% of the score)"
        assert any("past sales results: no data" in x for x in reasons)

        iid = ids["a"]
        start = date(date.today().year + 1, 2, 1).isoformat()
        offer_body = {"salary": 55000, "start_date": start, "created_by": "Ana Ruiz"}
        r = await c.post(f"/api/interviews/{iid}/job-offer", headers=admin, json=offer_body)
        assert r.status == 409 and "decision" in (await r.json())["error"]
        decision = {"decision": "offer", "reason": "closes deals", "decided_by": "Ana Ruiz"}
        assert (await c.post(f"/api/interviews/{iid}/decision", json=decision)).status == 401
        r = await c.post(f"/api/interviews/{iid}/decision", headers=admin, json=decision)
        assert r.status == 201
        # Self-identification closes at the first decision: whether someone answers must not
        # depend on the outcome.
        r = await c.post(url, headers=invites["a"], json={"sex": "male"})
        assert r.status == 409
        status = await (await c.get(url, headers=invites["a"])).json()
        assert status == {"answered": True, "open": False}
        state = await (await c.get(f"/api/interviews/{iid}/decision", headers=admin)).json()
        assert state["decisions"][0]["recommendation"]["band"] == "high"
        assert state["decisions"][0]["decided_at"].endswith("Z")  # UTC, also on SQLite
        r = await c.post(
            f"/api/interviews/{iid}/job-offer", headers=admin, json=offer_body | {"salary": 1e6}
        )
        assert r.status == 400
        r = await c.post(f"/api/interviews/{iid}/job-offer", headers=admin, json=offer_body)
        offer = await r.json()
        assert r.status == 201 and "Probation: 3 months" in offer["text"]
        again = await (await c.post(f"/api/interviews/{iid}/job-offer/link", headers=admin)).json()
        assert again["candidate_url"].startswith(offer["candidate_url"].split("#")[0] + "#token=")
        cand = _bearer(again["candidate_url"].split("#token=")[1])
        # A candidate token cannot decide, and cannot read someone else's offer.
        r = await c.post(f"/api/interviews/{iid}/decision", headers=cand, json=decision)
        assert r.status == 401
        r = await c.get(f"/api/interviews/{ids['b']}/job-offer?as=candidate", headers=cand)
        assert r.status == 401
        seen = await (await c.get(f"/api/interviews/{iid}/job-offer", headers=cand)).json()
        assert seen["text"] == offer["text"] and seen["self_id_answered"] is True

        answer = {"accept": True, "typed_name": "Ada", "text_sha256": seen["text_sha256"]}
        r = await c.post(f"/api/interviews/{iid}/job-offer/answer", headers=cand, json=answer)
        assert r.status == 400 and "full name" in (await r.json())["error"]
        answer["typed_name"] = "ada park"
        r = await c.post(f"/api/interviews/{iid}/job-offer/answer", headers=cand, json=answer)
        done = await r.json()
        assert r.status == 200 and done["state"] == "accepted" and done["employee_id"]
        eid = done["employee_id"]
        r = await c.post(f"/api/interviews/{iid}/job-offer/link", headers=admin)
        assert r.status == 409  # accepted: no open offer to link to
        listed = await (await c.get("/api/employees", headers=admin)).json()
        assert listed["total"] == 1 and listed["employees"][0]["id"] == eid
        view = await (await c.get(f"/api/employees/{eid}", headers=admin)).json()
        assert view["interview"]["id"] == iid and len(view["onboarding"]) == 3
        r = await c.post(
            f"/api/employees/{eid}/probation-reviews",
            headers=admin,
            json={
                "month": 1,
                "manager_feedback": "Good start",
                "manager_rating": 6,
                "task_completion": 90,
                "peer_rating": 4,
                "reviewer": "Bo",
            },
        )
        assert r.status == 400  # ratings are 1-5
        r = await c.post(
            f"/api/employees/{eid}/performance-reviews",
            headers=admin,
            json={"period": "2027", "rating": 4.2, "reviewer": "Bo"},
        )
        assert r.status == 201
        r = await c.post(
            f"/api/employees/{eid}/probation-reviews",
            headers=admin,
            json={
                "month": 1,
                "manager_feedback": "Good start",
                "manager_rating": 4,
                "task_completion": 90,
                "peer_rating": 4,
                "reviewer": "Bo",
            },
        )
        added = await r.json()
        assert r.status == 201 and [f["rule_id"] for f in added["follow_ups"]] == ["ramp-up"]
        fid = added["follow_ups"][0]["id"]
        r = await c.post(f"/api/follow-ups/{fid}", headers=admin, json={"accept": True, "by": "Bo"})
        assert r.status == 200 and (await r.json())["state"] == "accepted"
        r = await c.post(
            f"/api/employees/{eid}/training", headers=admin, json={"course": "Negotiation"}
        )
        training = await r.json()
        assert r.status == 201 and training["status"] == "enrolled"
        r = await c.post(
            f"/api/training/{training['id']}", headers=admin, json={"status": "completed"}
        )
        assert r.status == 200 and (await r.json())["completed_at"]
        task = view["onboarding"][0]["id"]
        r = await c.post(f"/api/onboarding-tasks/{task}/done", headers=admin)
        assert r.status == 200 and (await r.json())["done_at"]
        view = await (await c.get(f"/api/employees/{eid}", headers=admin)).json()
        assert len(view["follow_ups"]) == 1 and len(view["training"]) == 2
        r = await c.put(f"/api/requisitions/{rid}/match", headers=admin, json=MATCH)
        assert r.status == 200 and (await r.json())["match_configured"] is True
        listed_reqs = await (await c.get("/api/requisitions", headers=admin)).json()
        assert [x["id"] for x in listed_reqs] == [rid]
        types = [e["type"] for e in await (await c.get("/api/events", headers=admin)).json()]
        assert "employee.created" in types and "performance_review.added" in types

        v = await (await c.get("/api/analytics/validity", headers=admin)).json()
        (fam,) = v["families"]
        assert fam["family"] == "sales" and fam["employees"] == 1 and v["synthetic"] is False
        assert all(row["small_n"] for row in fam["competencies"])
        r = await c.get(
            "/api/analytics/validity/plot?family=sales&competency=communication", headers=admin
        )
        assert r.content_type == "image/svg+xml" and "<svg" in await r.text()
        r = await c.get("/api/analytics/adverse-impact?format=csv", headers=admin)
        rows = list(csv.DictReader(io.StringIO(await r.text())))
        sex = [x for x in rows if x["stage"] == "hire" and x["dimension"] == "sex"]
        # One hired woman: a group that small is never shown (it would name her answer).
        assert [x["group"] for x in sex] == [
            "(not reported)",
            "(declined)",
            "(suppressed: 1 small group(s))",
        ]
        assert sex[2]["applicants"] == "1"
        report = await (await c.get("/api/analytics/adverse-impact", headers=admin)).json()
        assert report["pending"] == 1  # Bo Chen: no decision yet, outside every base
        assert all(len(x["groups"]) == 0 for x in report["stages"])
        assert (await c.get("/api/analytics/adverse-impact?data=nope", headers=admin)).status == 400
        assert (await c.get("/api/analytics/validity")).status == 401
        iid_b = ids["b"]
        r = await c.post(f"/api/interviews/{iid_b}/decision", headers=admin, json=decision)
        assert r.status == 201
        r = await c.post(f"/api/interviews/{iid_b}/job-offer", headers=admin, json=offer_body)
        assert r.status == 201
        r = await c.post(
            f"/api/interviews/{iid_b}/job-offer/withdraw", headers=admin, json={"by": "Ana Ruiz"}
        )
        assert r.status == 200 and (await r.json())["state"] == "withdrawn"
    assert not conformance.problems, "\n".join(conformance.problems)
    typed = {
        f"{op.method} {op.path}"
        for op in hr_api.OPERATIONS
        if any(isinstance(x, contract.Reply) and x.json for x in op.responses.values())
    }
    assert typed - conformance.checked == set()  # every JSON answer was held to its model


def _statuses_raised(fn: Callable[..., Any], seen: set[str]) -> set[int]:
    """The statuses a handler can answer itself: every web.HTTP* named in its source and in the
    sources of the server functions it calls (transitively), and its success status."""
    source = textwrap.dedent(inspect.getsource(fn))
    named = (getattr(web, name).status_code for name in re.findall(r"web\.(HTTP\w+)", source))
    found = {code for code in named if code > 0}  # not the HTTPException base
    found |= {int(code) for code in re.findall(r"status=(\d{3})", source)}
    for name in set(re.findall(r"\b(\w+)\(", source)) - seen:
        seen.add(name)
        for module in (api, hr_api, signaling, sso_api, staff_api, web_util):
            callee = getattr(module, name, None)
            if inspect.isfunction(callee) and callee.__module__.startswith("server."):
                found |= _statuses_raised(callee, seen)
    return found


def _check_operations(doc: dict[str, Any], ops: dict[tuple[str, str], Any]) -> None:
    for (path, method), op in ops.items():
        item = doc["paths"][path][method.lower()]
        where = f"{method} {path}"
        assert item["summary"] == op.summary and item["responses"], where
        params = {(p["in"], p["name"]) for p in item["parameters"]}
        assert {("path", n) for n in re.findall(r"{(\w+)}", path)} == {
            p for p in params if p[0] == "path"
        }, where
        query = {f.alias or n for n, f in op.query.model_fields.items()} if op.query else set()
        assert {("query", n) for n in query} == {p for p in params if p[0] == "query"}, where
        codes = {int(s) for s in item["responses"]}
        raised = _statuses_raised(inspect.unwrap(op.handler), set())
        if not any(200 <= code < 400 for code in raised):  # a success, or a redirect
            raised.add(101 if path.endswith("/live") else 200)
        assert raised <= codes, (where, raised - codes)
        if op.security:
            assert {401, 429} <= codes, where
        if op.body is not None:
            assert {400, 413} <= codes and item["requestBody"]["content"], where
        if op.params is not None:
            assert 404 in codes, where
        if op.query is not None:
            assert 400 in codes, where


async def test_openapi_documents_every_api_route(make_settings: Callable[..., Settings]) -> None:
    """The served document lists every API route with its path and query parameters and every
    status it can answer: those its handler raises and those the contract's checks add."""
    app = create_app(make_settings())
    ops = {(op.path, op.method): op for op in contract.operations(app)}
    async with TestClient(TestServer(app)) as c:
        r = await c.get("/api/openapi.json")
        assert r.status == 200 and r.content_type == "application/json"
        doc = await r.json()
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    served = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.resource.canonical != "/api/openapi.json"
        and route.method != "HEAD"
    }
    assert served == documented == set(ops)
    # Reading handler sources is slow work of the test's own: off the event loop.
    await asyncio.to_thread(_check_operations, doc, ops)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(doc)))
    assert refs and refs <= set(doc["components"]["schemas"])  # nothing dangling


async def test_synthetic_cohort_reads_keep_their_declared_shapes(
    make_settings: Callable[..., Settings],
) -> None:
    """A synthetic cohort (default and configured match weights, decisions with their
    recommendation, reviews, follow-ups, analytics under the synthetic label) is read in the
    shapes the operations declare."""
    app, conformance = _checked_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        admin = _bearer(app[AUTH_KEY].admin_key)
        engine = app[RESOURCES_KEY].engine
        await asyncio.to_thread(synthetic.generate, engine, 200, seed=3, impact={"female": 0.6})
        reqs = await (await c.get("/api/requisitions", headers=admin)).json()
        assert {x["match_configured"] for x in reqs} == {True, False}
        decided = 0
        for req in reqs:
            url = f"/api/requisitions/{req['id']}/ranking?limit=10"
            ranked = await (await c.get(url, headers=admin)).json()
            assert ranked["total"] > 0 and ranked["requisition"]["synthetic"] is True
            for cand in ranked["candidates"]:
                url = f"/api/interviews/{cand['interview_id']}/decision"
                state = await (await c.get(url, headers=admin)).json()
                decided += len(state["decisions"])
        assert decided > 0
        page = await (await c.get("/api/employees?data=synthetic&limit=30", headers=admin)).json()
        assert page["employees"]
        for row in page["employees"]:
            view = await (await c.get(f"/api/employees/{row['id']}", headers=admin)).json()
            assert view["employee"]["synthetic"] is True and view["performance_reviews"]
        url = "/api/analytics/validity?data=synthetic&min_n=3"
        v = await (await c.get(url, headers=admin)).json()
        assert v["label"] and v["families"]
        url = "/api/analytics/adverse-impact?data=synthetic"
        impact = await (await c.get(url, headers=admin)).json()
        assert impact["label"] and any(stage["groups"] for stage in impact["stages"])
        assert (await c.get("/api/events", headers=admin)).status == 200
    assert not conformance.problems, "\n".join(conformance.problems)

"""Candidate profiles in the HR store: import from JSON and CSV, match against requirements,
shown to interviewers before the interview."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hr_bridge.profiles import match, parse_candidates
from server.app import create_app
from server.app_keys import AUTH_KEY
from server.settings import Settings

PROFILE = {
    "education": [{"degree": "BSc Computer Science", "school": "TU", "year": 2018}],
    "experience": [
        {"title": "Support engineer", "company": "Acme", "years": 2.5},
        {"title": "Team lead", "company": "Beta", "years": 1.5},
    ],
    "skills": {"Python": 60, "SQL": 90},
    "certificates": ["ITIL"],
}
REQUIREMENTS = {
    "skills": {"python": 75, "sql": 80},
    "min_years": 5,
    "certificates": ["ITIL", "AWS"],
}


def test_match_lines_say_how_much_of_each_requirement_is_met() -> None:
    lines, overall = match(PROFILE, REQUIREMENTS)
    by = {x.requirement: x for x in lines}
    assert by["python"].percent == 80.0 and by["python"].reason.startswith(
        "python: 80% of the requirement"
    )
    assert by["sql"].percent == 100.0  # more than required counts as met, not more
    assert by["experience"].percent == 80.0 and "4 of 5 years" in by["experience"].reason
    assert by["certificate ITIL"].percent == 100 and by["certificate AWS"].percent == 0
    assert overall == pytest.approx((80 + 100 + 80 + 100 + 0) / 5)
    assert match(PROFILE, {}) == ([], None)


def test_parse_json_and_csv(tmp_path: Path) -> None:
    j = tmp_path / "c.json"
    j.write_text(json.dumps([{"ref": "c1", "name": "Ada", "profile": PROFILE}]))
    c = tmp_path / "c.csv"
    c.write_text(
        "ref,name,email,skills,years_experience,education,certificates\n"
        "c2,Grace,g@example.org,python:70;sql:50,6,MSc Physics,ITIL;AWS\n"
    )
    (a,) = parse_candidates(j)
    (g,) = parse_candidates(c)
    assert a["profile"]["skills"]["Python"] == 60
    assert g["profile"]["skills"] == {"python": 70.0, "sql": 50.0}
    assert match(g["profile"], REQUIREMENTS)[1] == pytest.approx(
        (93.33 + 62.5 + 100 + 100 + 100) / 5, abs=0.1
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("ref,name,skills\nc3,Bob,python-lots\n")
    with pytest.raises(ValueError, match="line 2"):
        parse_candidates(bad)


def test_import_command(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{"ref": "c1", "name": "Ada", "profile": PROFILE}]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env["HIRESTREAM_DATA_DIR"] = str(tmp_path / "data")
    run = [sys.executable, "-m", "server", "import-candidates"]
    out = subprocess.run([*run, str(f)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "1 new, 0 updated" in out.stdout, out.stderr
    out = subprocess.run([*run, str(f)], env=env, capture_output=True, text=True, timeout=60)
    assert "0 new, 1 updated" in out.stdout
    missing = subprocess.run(
        [*run, str(tmp_path / "nope.csv")], env=env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "hirestream: error:" in missing.stderr


async def test_background_for_interviewers(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with TestClient(TestServer(app)) as c:
        admin = {"Authorization": f"Bearer {app[AUTH_KEY].admin_key}"}
        r = await c.post(
            "/api/candidates",
            headers=admin,
            json=[{"ref": "c1", "name": "Ada", "profile": PROFILE}],
        )
        assert (await r.json()) == {"created": 1, "updated": 0}
        r = await c.post(
            "/api/requisitions",
            headers=admin,
            json={
                "title": "Support lead",
                "questions": [{"text": "Why?"}],
                "requirements": REQUIREMENTS,
            },
        )
        rid = (await r.json())["id"]
        r = await c.post(
            "/api/interviews", headers=admin, json={"requisition_id": rid, "candidate_ref": "c1"}
        )
        iv: dict[str, Any] = await r.json()
        assert r.status == 201, iv
        viewer = {"Authorization": "Bearer " + iv["interviewer_urls"][0].split("#token=")[1]}
        bg = await (await c.get(f"/api/interviews/{iv['id']}/background", headers=viewer)).json()
        assert bg["candidate"]["name"] == "Ada" and bg["match"]["overall"] == pytest.approx(72.0)
        reasons = [x["reason"] for x in bg["match"]["lines"]]
        assert any(x.startswith("python: 80% of the requirement") for x in reasons)
        listed = await (await c.get("/api/interviews", headers=admin)).json()
        assert [x["id"] for x in listed] == [iv["id"]] and listed[0]["state"] == "scheduled"
        r = await c.post(
            "/api/interviews", headers=admin, json={"requisition_id": rid, "candidate_ref": "zz"}
        )
        assert r.status == 400
        assert (await c.get(f"/api/interviews/{iv['id']}/background")).status == 401


def test_import_requisition_from_yaml(tmp_path: Path) -> None:
    f = tmp_path / "req.yaml"
    f.write_text(
        "title: Support lead\nlanguage: en\n"
        "competencies:\n  - {name: communication, weight: 2}\n  - composure\n"
        "questions:\n  - text: Tell us about an upset customer.\n    time_limit_s: 120\n"
        "    targets: [composure]\n    concepts: [listen, {name: apology, synonyms: [sorry]}]\n"
        "requirements: {skills: {python: 50}, min_years: 2}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env["HIRESTREAM_DATA_DIR"] = str(tmp_path / "data")
    cmd = [sys.executable, "-m", "server", "import-requisition"]
    out = subprocess.run([*cmd, str(f)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("requisition ") and "Support lead (rubric " in out.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "x", "questions": []}))
    out = subprocess.run([*cmd, str(bad)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "hirestream: error:" in out.stderr

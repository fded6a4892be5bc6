"""The typed report: bodies stored before it validate and keep their JSON byte for byte; the
synthetic cohort's reports go through it; what is not a report is refused, in memory and
in the spool."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics import SYNTHETIC_LABEL, synthetic
from hr_bridge import interviews as db
from integrations.exports import frappe_interview_feedback, hr_xml_assessment
from pipeline.scoring.report_model import CompetencyScore, Flag, Report, load_report
from server.interview_service import InterviewService, SharedModels
from server.settings import Settings
from tests.hr_fixtures import report_body

# Written by the report builder before the model existed (trimmed): every key and every
# kind of flag as it was stored and delivered.
STORED_LIVE: dict[str, Any] = {
    "report_version": 1,
    "interview_id": "iv1",
    "candidate_name": "Ada",
    "requisition": {"id": "r1", "title": "Sales"},
    "generated_at": "2026-11-30T16:51:41+00:00",
    "rubric_version": "6fea8d688cdb",
    "weights": {
        "communication": 0.4,
        "logical_structure": 0.2,
        "job_knowledge": 0.2,
        "engagement": 0.2,
    },
    "models": {"vad": "v"},
    "affect_analysed": False,
    "overall": 90.6,
    "competencies": {
        "communication": {
            "value": 93.1,
            "confidence": 0.85,
            "components": {},
            "evidence": [
                {
                    "kind": "pace",
                    "text": "51 words in 17.8 s (172 wpm)",
                    "start": 1.0,
                    "end": 18.8,
                    "utterance": None,
                }
            ],
        },
        "job_knowledge": {
            "value": 66.7,
            "confidence": 0.82,
            "components": {},
            "evidence": [
                {
                    "kind": "concept:budget",
                    "text": "budget",
                    "start": 18.5,
                    "end": 18.8,
                    "utterance": 1,
                }
            ],
        },
    },
    "questions": [
        {
            "index": 0,
            "question": "Tell us about a project under pressure.",
            "targets": ["logical_structure"],
            "transcript": [
                {"utterance": 1, "start": 1.0, "end": 18.8, "text": "When I was at my last company"}
            ],
            "scores": {
                "logical_structure": {
                    "value": 100.0,
                    "confidence": 0.64,
                    "components": {"star_parts": 4, "connectives": 3},
                    "evidence": [
                        {
                            "kind": "structure:situation",
                            "text": "when i was",
                            "start": 1.0,
                            "end": 2.0,
                            "utterance": 1,
                        }
                    ],
                }
            },
        }
    ],
    "flags": [
        {"flag": "several_faces", "detail": "10 of 100 analysed frames"},
        {"flag": "long_absence", "start": 10.0, "end": 17.5},
        {"flag": "stage_degraded", "stage": "face", "t": 3.0, "reason": "face analysis failed: x"},
        {"flag": "interrupted", "detail": "the live session ended: x"},
    ],
    "candidate_summary": "We kept a transcript of your answers with times.",
    "decision": "A person decides. These scores are evidence for that decision, not a verdict.",
}

# Written by the synthetic cohort before the model existed.
STORED_SYNTHETIC: dict[str, Any] = {
    "report_version": 1,
    "synthetic": True,
    "label": "SYNTHETIC DATA — generated, not real people",
    "interview_id": "iv3",
    "candidate_name": "Synthetic Candidate",
    "requisition": {"title": "[SYNTHETIC] Account executive", "family": "sales"},
    "generated_at": "2026-11-30T16:51:41+00:00",
    "rubric_version": "synthetic",
    "weights": {"communication": 0.5, "composure": 0.5},
    "models": {},
    "affect_analysed": False,
    "overall": 70.1,
    "competencies": {
        "communication": {"value": 50.5, "confidence": 1.0, "components": {}, "evidence": []},
        "composure": {"value": 90.0, "confidence": 1.0, "components": {}, "evidence": []},
    },
    "questions": [],
    "flags": [{"flag": "synthetic", "detail": "SYNTHETIC DATA — generated, not real people"}],
    "candidate_summary": "SYNTHETIC DATA — generated, not real people",
    "decision": "A person decides. These scores are evidence for that decision, not a verdict.",
}


@pytest.mark.parametrize("stored", [STORED_LIVE, STORED_SYNTHETIC], ids=["live", "synthetic"])
def test_a_body_stored_before_validates_and_keeps_its_json(stored: dict[str, Any]) -> None:
    report = Report.model_validate(stored)
    assert json.dumps(report.model_dump(mode="json"), ensure_ascii=False) == json.dumps(
        stored, ensure_ascii=False
    )  # same keys, same order, same numbers (4 stays 4, 1.0 stays 1.0)
    assert report.model_validate_json(report.model_dump_json()) == report
    assert load_report(report) is report


def test_typed_fields_of_a_stored_body() -> None:
    report = load_report(STORED_LIVE)
    assert report.scores() == {"communication": 93.1, "job_knowledge": 66.7}
    assert report.generated_at.utcoffset() is not None  # aware, UTC
    assert report.requisition is not None and report.requisition.title == "Sales"
    assert report.flags[1] == Flag(flag="long_absence", start=10.0, end=17.5)
    assert report.competencies["communication"].evidence[0].utterance is None
    synthetic_report = load_report(STORED_SYNTHETIC)
    assert synthetic_report.synthetic and synthetic_report.label
    assert not report.synthetic and report.label is None


def test_exports_and_page_of_a_stored_body() -> None:
    hrx = hr_xml_assessment(STORED_LIVE)["AssessmentReport"]
    assert hrx["AssessmentRequisition"] == {"id": "r1", "title": "Sales"}
    assert hrx["AssessmentStatus"]["StatusDate"] == "2026-11-30T16:51:41+00:00"
    assert hrx["AssessmentResult"]["Flags"] == STORED_LIVE["flags"]
    assert hrx["AssessmentMethod"]["Models"] == {"vad": "v"}
    frappe = frappe_interview_feedback(STORED_LIVE, interview="HR-INT-1")
    assert frappe["interview"] == "HR-INT-1"
    assert frappe["skill_assessment"] == [
        {"skill": "Communication", "rating": 0.931},
        {"skill": "Job Knowledge", "rating": 0.667},
    ]
    assert frappe["feedback"] == (
        "Overall 90.6 / 100 (hirestream, rubric 6fea8d688cdb). "
        "several_faces. long_absence. stage_degraded. interrupted."
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_numbers_must_be_finite(bad: float) -> None:
    for path in (("overall",), ("weights", "communication"), ("flags", 1, "start")):
        body = json.loads(json.dumps(STORED_LIVE))
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        with pytest.raises(ValidationError, match="finite"):
            Report.model_validate(body)
    with pytest.raises(ValidationError, match="finite"):
        CompetencyScore(value=bad, confidence=1.0)


def test_what_is_not_a_report_is_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Report.model_validate(STORED_LIVE | {"score": 5})
    with pytest.raises(ValidationError, match="extra"):
        Report.model_validate(STORED_LIVE | {"flags": [{"flag": "x", "severity": "high"}]})
    with pytest.raises(ValidationError, match="Input should be 'several_faces'"):
        Flag.model_validate({"flag": "resumed"})  # a new kind of flag is a change to the model
    without = {k: v for k, v in STORED_LIVE.items() if k != "interview_id"}
    with pytest.raises(ValidationError, match="interview_id"):
        Report.model_validate(without)
    with pytest.raises(ValidationError, match="timezone"):
        Report.model_validate(STORED_LIVE | {"generated_at": "2026-11-30T16:51:41"})


def test_synthetic_reports_are_stored_through_the_model(engine: Engine) -> None:
    synthetic.generate(engine, 60, seed=3)
    with Session(engine) as s:
        rows = list(s.exec(select(db.Report)))
    assert len(rows) == 60
    for row in rows:
        report = load_report(row.body)
        assert report.synthetic and report.flags == [Flag(flag="synthetic", detail=SYNTHETIC_LABEL)]
        assert report.requisition is not None and report.requisition.family in synthetic.FAMILIES
        assert report.overall == row.overall and set(report.scores()) == set(synthetic.COMPETENCIES)
        assert list(row.body)[:3] == ["report_version", "synthetic", "label"]


@pytest.fixture
async def redis_client(external_redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(external_redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_spooled_file_that_is_not_a_report_is_set_aside_not_blocking(
    engine: Engine,
    redis_client: aioredis.Redis,
    make_settings: Callable[..., Settings],
    shared_models: SharedModels,
) -> None:
    settings = make_settings()
    req = db.create_requisition(engine, title="Support", competencies=["communication"])
    iid = db.create_interview(engine, requisition_id=req.id, candidate_name="Ada").id
    spool = settings.data_dir / "spool"
    spool.mkdir(parents=True)
    (spool / "report-0000-broken.json").write_text('{"interview_id": "x"}')  # sorts first
    (spool / f"report-{iid}.json").write_text(
        report_body(iid, {"communication": 61.5}).model_dump_json()
    )
    svc = InterviewService(settings, engine, redis_client, shared_models)
    try:
        recovery = await svc.recover()
    finally:
        await svc.aclose()
    assert recovery.spooled == 1
    row = db.get_report(engine, iid)
    assert row is not None and load_report(row.body).scores() == {"communication": 61.5}
    assert sorted(p.name for p in spool.iterdir()) == ["report-0000-broken.rejected"]

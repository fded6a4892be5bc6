"""Helpers for HR workflow tests: a migrated engine and a finished interview with a report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from hr_bridge import interviews as db
from hr_bridge import lifecycle
from hr_bridge.interviews import InterviewState
from pipeline.scoring.report_model import CompetencyScore, EvidenceSpan, Report, RequisitionRef

SCORES = {
    "communication": 48.0,
    "logical_structure": 71.0,
    "job_knowledge": 80.0,
    "engagement": 90.0,
    "composure": 66.0,
}


def report_body(
    iid: str, scores: dict[str, float], name: str | None = None, title: str | None = None
) -> Report:
    """A small finalized report with everything the report renderer reads; each score has
    one evidence span, "um, about <competency>"."""
    return Report(
        interview_id=iid,
        candidate_name=name,
        requisition=RequisitionRef(title=title) if title else None,
        generated_at=datetime.now(UTC),
        rubric_version="test",
        weights={k: 1 / len(scores) for k in scores},
        models={"asr": "test"},
        affect_analysed=False,
        overall=round(sum(scores.values()) / len(scores), 1),
        competencies={
            k: CompetencyScore(
                value=v,
                confidence=1.0,
                evidence=[
                    EvidenceSpan(
                        kind="filler", text=f"um, about {k}", start=3.0, end=4.5, utterance=0
                    )
                ],
            )
            for k, v in scores.items()
        },
        questions=[],
        flags=[],
        candidate_summary="Thank you for the interview.",
    )


def finished_interview(
    engine: Engine,
    requisition: db.Requisition | None = None,
    name: str = "Mei Lin",
    ref: str | None = None,
    scores: dict[str, float] | None = None,
    **req_fields: Any,
) -> tuple[db.Requisition, db.Interview]:
    """A requisition (unless given), an interview moved to finished, and its stored report."""
    req = requisition or db.create_requisition(
        engine,
        title="Account executive",
        competencies=list(SCORES),
        questions=[{"text": "Tell me about a deal you closed.", "time_limit_s": 120}],
        **({"salary_band": {"min": 50000, "max": 60000, "currency": "EUR"}} | req_fields),
    )
    iv = db.create_interview(engine, requisition_id=req.id, candidate_name=name, candidate_ref=ref)
    iv = lifecycle.move(
        engine,
        iv.id,
        InterviewState.FINISHED,
        actor="test",
        action="interview.finished",
        consent_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
    )
    db.save_report(engine, iv.id, report_body(iv.id, scores or SCORES))
    return req, iv

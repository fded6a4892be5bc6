"""Candidates of a requisition ranked by composite match, with their workflow state.
Blocking: call from a worker thread."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from hr_bridge import matching, profiles, ratings
from hr_bridge.interviews import Interview, Report, Requisition
from pipeline.scoring import report_model


def _iso(value: datetime | str | None) -> str | None:
    """Raw SQL gives SQLite's text or PostgreSQL's datetime: ISO 8601 in UTC either way."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def requisition_view(req: Requisition) -> dict[str, Any]:
    return {
        "id": req.id,
        "title": req.title,
        "language": req.language,
        "family": req.family,
        "competencies": req.competencies,
        "requirements": req.requirements,
        "salary_band": req.salary_band,
        "probation_months": req.probation_months,
        "match": req.match_config or matching.default_config(_req_dict(req)),
        "match_configured": req.match_config is not None,
        "follow_up_rules": req.follow_up_rules,
        "synthetic": req.synthetic,
        "created_at": req.created_at.isoformat(),
    }


def _req_dict(req: Requisition) -> dict[str, Any]:
    return {"competencies": req.competencies, "requirements": req.requirements}


def _match(
    req: Requisition,
    scores: dict[str, float],
    profile: dict[str, Any] | None,
    rated: dict[str, float],
) -> matching.Match:
    requirements_pct = None
    if profile is not None and req.requirements:
        requirements_pct = profiles.match(profile, req.requirements)[1]
    return matching.compute(
        req.match_config, _req_dict(req), scores, profile, requirements_pct, rated
    )


def recommendation(engine: Engine, iid: str) -> matching.Match | None:
    """The composite match of one finished interview (None without a report)."""
    with Session(engine) as s:
        report = s.get(Report, iid)
        if report is None:
            return None
        iv = s.get(Interview, iid)
        assert iv is not None
        req = s.get(Requisition, iv.requisition_id)
        assert req is not None
        cand = (
            s.exec(
                select(profiles.Candidate).where(profiles.Candidate.ref == iv.candidate_ref)
            ).first()
            if iv.candidate_ref
            else None
        )
        scores = report_model.load_report(report.body).scores()
        rated = ratings.mean_by_competency(s, iid)
        return _match(req, scores, cand.profile if cand else None, rated)


def rank(engine: Engine, rid: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Every interviewed candidate of the requisition, best composite match first."""
    with Session(engine) as s:
        req = s.get(Requisition, rid)
        if req is None:
            raise KeyError(rid)
        conn = s.connection()
        rows = conn.execute(
            text(
                # Grouped joins, not per-row subqueries: one pass however many candidates.
                "SELECT i.id, i.candidate_name, i.candidate_ref, i.finished_at, "
                "d.decision, d.decided_by, o.state, e.id "
                "FROM interview i JOIN report rep ON rep.interview_id = i.id "
                "LEFT JOIN (SELECT interview_id, MAX(id) AS last FROM decision "
                "GROUP BY interview_id) ld ON ld.interview_id = i.id "
                "LEFT JOIN decision d ON d.id = ld.last "
                "LEFT JOIN (SELECT interview_id, MAX(id) AS last FROM job_offer "
                "GROUP BY interview_id) lo ON lo.interview_id = i.id "
                "LEFT JOIN job_offer o ON o.id = lo.last "
                "LEFT JOIN employee e ON e.interview_id = i.id "
                "WHERE i.requisition_id = :rid"
            ),
            {"rid": rid},
        ).all()
        scores: dict[str, dict[str, float]] = defaultdict(dict)
        for iid, competency, value in conn.execute(
            text(
                "SELECT s.interview_id, s.competency, s.value FROM report_score s "
                "JOIN interview i ON i.id = s.interview_id WHERE i.requisition_id = :rid"
            ),
            {"rid": rid},
        ):
            scores[iid][competency] = float(value)
        rated: dict[str, dict[str, float]] = defaultdict(dict)
        for iid, competency, mean in conn.execute(
            text(
                "SELECT r.interview_id, r.competency, AVG(r.score) FROM rating r "
                "JOIN interview i ON i.id = r.interview_id WHERE i.requisition_id = :rid "
                "GROUP BY r.interview_id, r.competency"
            ),
            {"rid": rid},
        ):
            rated[iid][competency] = float(mean)
        refs = [r[2] for r in rows if r[2]]
        found = s.exec(select(profiles.Candidate).where(col(profiles.Candidate.ref).in_(refs)))
        profile_by_ref = {c.ref: c.profile for c in found}
    ranked = []
    for iid, name, ref, finished, decision, decided_by, offer_state, employee_id in rows:
        m = _match(req, scores[iid], profile_by_ref.get(ref) if ref else None, rated[iid])
        ranked.append(
            {
                "interview_id": iid,
                "candidate_name": name,
                "candidate_ref": ref,
                # raw SQL: SQLite hands back text, PostgreSQL a datetime
                "finished_at": _iso(finished),
                "overall": scores[iid].get("overall"),
                "match": m.as_dict(),
                "decision": decision,
                "decided_by": decided_by,
                "offer": offer_state,
                "employee_id": employee_id,
            }
        )
    # Best band first, so a high score on little data (incomplete) never outranks a
    # complete record; by score within a band.
    order = {"high": 0, "medium": 1, "low": 2, "incomplete": 3}
    ranked.sort(key=lambda r: (order[r["match"]["band"]], -(r["match"]["score"] or 0)))
    bands: dict[str, int] = defaultdict(int)
    for r in ranked:
        bands[r["match"]["band"]] += 1
    return {
        "requisition": requisition_view(req),
        "total": len(ranked),
        "bands": dict(bands),
        "offset": offset,
        "candidates": ranked[offset : offset + limit],
    }

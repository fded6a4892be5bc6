"""A synthetic cohort to demonstrate and test the analytics at scale.

Everything it writes is marked synthetic (requisition.synthetic, candidate.synthetic,
employee.synthetic, "[SYNTHETIC]" titles, "Synthetic Candidate" names, a "synthetic" flag in
every report) and the analytics label any result that includes it. It never mixes with real
data unless asked (`data=all`), and `purge()` removes all of it.

The model, per requisition family:
- five interview competencies, independent, 50 + 15 z (clipped to 0-100);
- selection on the mean of them plus noise: the top share passes the interview; the better
  half of those get an offer (a decision recorded as by "synthetic reviewer"), 80% accept;
- voluntary self-identification, with some not reported and some declined; an optional
  planted adverse impact multiplies one group's chance to pass;
- later performance of the hired: a latent p = sum(rho_k z_k) + noise with z_k the
  competencies standardised *among the hired of the family* and weights solving
  R beta = rho (R: their correlations among the hired, which selection makes negative), so
  with noise orthogonal to them in the sample, the correlation between competency k and p
  among the employees of the cohort is the planted rho_k (up to rounding); the
  performance rating is 3 + 0.7 p on a 1-5 scale (clipped, 1 decimal), probation ratings are
  noisier versions of it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, delete, insert, select, text

from analytics import SYNTHETIC_LABEL
from hr_bridge.employees import (
    Employee,
    FollowUp,
    OnboardingTask,
    PerformanceReview,
    ProbationReview,
    TrainingRecord,
    add_months,
)
from hr_bridge.hiring import Decision, JobOffer, offer_text, sha256
from hr_bridge.interviews import Interview, Report, ReportScore, Requisition
from hr_bridge.profiles import Candidate
from hr_bridge.self_id import RACE_ETHNICITY, SelfId
from pipeline.scoring import report_model as rm

REVIEWER = "synthetic reviewer (generated)"
COMPETENCIES = ("communication", "logical_structure", "job_knowledge", "engagement", "composure")
FAMILIES: dict[str, dict[str, Any]] = {
    "sales": {
        "title": "[SYNTHETIC] Account executive",
        "share": 0.5,
        "planted": {"communication": 0.40, "composure": 0.25, "job_knowledge": 0.10},
        "match": {
            "parts": [
                {"kind": "competency", "name": "communication", "weight": 40, "required": 70},
                {
                    "kind": "competency",
                    "name": "composure",
                    "label": "stress resilience",
                    "weight": 30,
                    "required": 60,
                },
                {
                    "kind": "fact",
                    "name": "past_sales_results",
                    "label": "past sales results",
                    "weight": 20,
                    "required": 60,
                    "scale": [0, 150],
                },
                {"kind": "fact", "name": "customer_feedback", "weight": 10},
            ],
            "bands": {"high": 70, "medium": 55},
        },
        "salary": (48000, 62000),
    },
    "engineering": {
        "title": "[SYNTHETIC] Backend engineer",
        "share": 0.3,
        "planted": {"job_knowledge": 0.35, "logical_structure": 0.25},
        "match": None,
        "salary": (60000, 85000),
    },
    "support": {
        "title": "[SYNTHETIC] Customer support specialist",
        "share": 0.2,
        "planted": {"communication": 0.30, "engagement": 0.20},
        "match": None,
        "salary": (36000, 44000),
    },
}
SEX_P = {"female": 0.46, "male": 0.46, "non-binary": 0.02, "declined": 0.03, None: 0.03}
RACE_P = {
    "White": 0.50,
    "Black or African American": 0.12,
    "Hispanic or Latino": 0.15,
    "Asian": 0.10,
    "Two or more races": 0.03,
    "American Indian or Alaska Native": 0.01,
    "Native Hawaiian or Other Pacific Islander": 0.01,
    "declined": 0.04,
    None: 0.04,
}
PASS_SHARE = 0.4


@dataclass
class Summary:
    candidates: int = 0
    passed: int = 0
    offered: int = 0
    hired: int = 0
    families: dict[str, int] = field(default_factory=dict)
    planted: dict[str, dict[str, float]] = field(default_factory=dict)
    impact: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    label: str = SYNTHETIC_LABEL


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _choice(rng: np.random.Generator, probs: Mapping[str | None, float], n: int) -> list[Any]:
    keys = list(probs)
    p = np.array([probs[k] for k in keys], dtype=float)
    picks = rng.choice(len(keys), size=n, p=p / p.sum())
    return [keys[i] for i in picks]


def generate(
    engine: Engine,
    candidates: int = 10_000,
    seed: int = 7,
    impact: Mapping[str, float] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Summary:
    """Write a synthetic cohort of `candidates` interviewed applicants (blocking).

    `impact` plants adverse impact at the interview stage: {"female": 0.7} lets 70% of the
    women who would pass, pass."""
    assert set(RACE_P) - {None, "declined"} <= set(RACE_ETHNICITY)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n = candidates
    impact = dict(impact or {})
    names = list(FAMILIES)
    shares = np.array([FAMILIES[f]["share"] for f in names])
    family = np.array(names)[rng.choice(len(names), size=n, p=shares / shares.sum())]
    z = rng.standard_normal((n, len(COMPETENCIES)))
    comps = np.clip(np.round(50 + 15 * z, 1), 0, 100)
    overall = np.round(comps.mean(axis=1), 1)
    sex = _choice(rng, SEX_P, n)
    race = _choice(rng, RACE_P, n)
    selection = overall + rng.normal(0, 4, n)
    passed = np.zeros(n, dtype=bool)
    offered = np.zeros(n, dtype=bool)
    for f in names:
        idx = np.flatnonzero(family == f)
        cut = np.quantile(selection[idx], 1 - PASS_SHARE)
        passed[idx] = selection[idx] >= cut
    for i in range(n):
        for group, factor in impact.items():
            if passed[i] and group in (sex[i], race[i]) and rng.random() > factor:
                passed[i] = False
    for f in names:
        idx = np.flatnonzero((family == f) & passed)
        if len(idx):
            offered[idx] = selection[idx] >= np.median(selection[idx])
    hired = offered & (rng.random(n) < 0.8)
    run = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    start = date(now.year, now.month, 1)
    summary = Summary(
        candidates=n,
        passed=int(passed.sum()),
        offered=int(offered.sum()),
        hired=int(hired.sum()),
        families={f: int((family == f).sum()) for f in names},
        planted={f: dict(FAMILIES[f]["planted"]) for f in names},
        impact=impact,
    )

    with engine.begin() as conn:
        progress("requisitions")
        req_ids = {f: uuid.uuid4().hex for f in names}
        conn.execute(
            insert(_t(Requisition)),
            [
                {
                    "id": req_ids[f],
                    "title": FAMILIES[f]["title"],
                    "language": "en",
                    "competencies": list(COMPETENCIES),
                    "questions": [{"text": "Synthetic question", "time_limit_s": 120}],
                    "requirements": None,
                    "family": f,
                    "match_config": FAMILIES[f]["match"],
                    "salary_band": {
                        "min": FAMILIES[f]["salary"][0],
                        "max": FAMILIES[f]["salary"][1],
                        "currency": "EUR",
                    },
                    "probation_months": 6,
                    "follow_up_rules": None,
                    "synthetic": True,
                    "created_at": now,
                }
                for f in names
            ],
        )
        progress("candidates")
        refs = [f"SYN-{run}-{i:06d}" for i in range(n)]
        cand_names = [f"Synthetic Candidate {run}-{i:06d}" for i in range(n)]
        sales = np.clip(np.round(rng.normal(95, 25, n)), 0, 150)
        feedback = np.clip(np.round(rng.normal(70, 12, n)), 0, 100)
        conn.execute(
            insert(_t(Candidate)),
            [
                {
                    "ref": refs[i],
                    "name": cand_names[i],
                    "email": None,
                    "profile": {
                        "synthetic": True,
                        "facts": {
                            "past_sales_results": float(sales[i]),
                            "customer_feedback": float(feedback[i]),
                        },
                    },
                    "synthetic": True,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )
        progress("interviews and reports")
        iids = [uuid.uuid4().hex for _ in range(n)]
        conn.execute(
            insert(_t(Interview)),
            [
                {
                    "id": iids[i],
                    "requisition_id": req_ids[family[i]],
                    "candidate_name": cand_names[i],
                    "candidate_ref": refs[i],
                    "state": "finished",
                    "affect_allowed": False,
                    "invite_jti": uuid.uuid4().hex,
                    "invite_used_at": now,
                    "consent_at": now,
                    "notice_version": "synthetic",
                    "started_at": now,
                    "finished_at": now,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )
        conn.execute(
            insert(_t(Report)),
            [
                {
                    "interview_id": iids[i],
                    "created_at": now,
                    "rubric_version": "synthetic",
                    "overall": float(overall[i]),
                    "body": _report(
                        iids[i], cand_names[i], family[i], comps[i], overall[i]
                    ).model_dump(mode="json"),
                }
                for i in range(n)
            ],
        )
        conn.execute(
            insert(_t(ReportScore)),
            [
                {"interview_id": iids[i], "competency": c, "value": float(comps[i, k])}
                for i in range(n)
                for k, c in enumerate(COMPETENCIES)
            ]
            + [
                {"interview_id": iids[i], "competency": "overall", "value": float(overall[i])}
                for i in range(n)
            ],
        )
        answered = [i for i in range(n) if sex[i] is not None or race[i] is not None]
        conn.execute(
            insert(_t(SelfId)),
            [
                {
                    "interview_id": iids[i],
                    "sex": sex[i],
                    "race_ethnicity": race[i],
                    "reported_at": now,
                }
                for i in answered
            ],
        )
        progress("decisions and offers")
        conn.execute(
            insert(_t(Decision)),
            [
                {
                    "interview_id": iids[i],
                    "decision": "offer" if offered[i] else "advance" if passed[i] else "reject",
                    "reason": "synthetic decision (generated)",
                    "decided_by": REVIEWER,
                    "recommendation": None,
                    "decided_at": now,
                }
                for i in range(n)
            ],
        )
        by_iid = {iid: i for i, iid in enumerate(iids)}
        decision_id = dict(
            conn.execute(
                select(_t(Decision).c.interview_id, _t(Decision).c.id).where(
                    _t(Decision).c.interview_id.in_([iids[i] for i in np.flatnonzero(offered)])
                )
            ).all()
        )
        offers = []
        for iid, did in decision_id.items():
            i = by_iid[iid]
            lo, hi = FAMILIES[family[i]]["salary"]
            salary = float(round((lo + hi) / 2, -2))
            body = offer_text(cand_names[i], FAMILIES[family[i]]["title"], salary, "EUR", 6, start)
            offers.append(
                {
                    "interview_id": iid,
                    "decision_id": did,
                    "salary": salary,
                    "currency": "EUR",
                    "probation_months": 6,
                    "start_date": start,
                    "text": body,
                    "text_sha256": sha256(body),
                    "state": "accepted" if hired[i] else "declined",
                    "created_by": REVIEWER,
                    "created_at": now,
                    "accepted_name": cand_names[i] if hired[i] else None,
                    "answered_at": now,
                }
            )
        if offers:
            conn.execute(insert(_t(JobOffer)), offers)
        progress("employees and reviews")
        hired_idx = np.flatnonzero(hired)
        offer_id = dict(
            conn.execute(
                select(_t(JobOffer).c.interview_id, _t(JobOffer).c.id).where(
                    _t(JobOffer).c.interview_id.in_([iids[i] for i in hired_idx])
                )
            ).all()
        )
        if len(hired_idx):
            conn.execute(
                insert(_t(Employee)),
                [
                    {
                        "interview_id": iids[i],
                        "candidate_ref": refs[i],
                        "name": cand_names[i],
                        "requisition_id": req_ids[family[i]],
                        "title": FAMILIES[family[i]]["title"],
                        "offer_id": offer_id[iids[i]],
                        "start_date": start,
                        "probation_end": add_months(start, 6),
                        "synthetic": True,
                        "created_at": now,
                    }
                    for i in hired_idx
                ],
            )
        employee_id = dict(
            conn.execute(
                select(_t(Employee).c.interview_id, _t(Employee).c.id).where(
                    _t(Employee).c.interview_id.in_([iids[i] for i in hired_idx])
                )
            ).all()
        )
        latent = np.zeros(n)
        for f in names:
            idx = np.flatnonzero(hired & (family == f))
            if len(idx) < 2 * len(COMPETENCIES):  # too few to plant anything: noise only
                latent[idx] = rng.standard_normal(len(idx))
                continue
            zs = (comps[idx] - comps[idx].mean(axis=0)) / comps[idx].std(axis=0)
            rho = np.array([FAMILIES[f]["planted"].get(c, 0.0) for c in COMPETENCIES])
            # Selection on the sum makes the competencies of the hired correlate (negatively);
            # solving R beta = rho with their correlation matrix R puts corr(z_k, p) at rho_k.
            beta = np.linalg.solve(np.corrcoef(zs, rowvar=False), rho)
            signal = zs @ beta
            rest = max(0.0, 1.0 - float(signal.var()))
            # Noise made orthogonal to the competencies in this sample, so the planted
            # correlations hold in the cohort itself (not only in expectation).
            noise = rng.standard_normal(len(idx))
            design = np.column_stack([np.ones(len(idx)), zs])
            noise -= design @ np.linalg.lstsq(design, noise, rcond=None)[0]
            latent[idx] = signal + np.sqrt(rest) * noise / noise.std()
        perf = np.clip(np.round(3 + 0.7 * latent, 1), 1, 5)
        manager = np.clip(np.round(3 + 0.6 * latent + rng.normal(0, 0.5, n)), 1, 5)
        peer = np.clip(np.round(3 + 0.5 * latent + rng.normal(0, 0.6, n)), 1, 5)
        tasks = np.clip(np.round(80 + 10 * latent + rng.normal(0, 8, n)), 0, 100)
        conn.execute(
            insert(_t(ProbationReview)),
            [
                {
                    "employee_id": employee_id[iids[i]],
                    "month": 3,
                    "manager_feedback": "synthetic review (generated)",
                    "manager_rating": float(manager[i]),
                    "task_completion": float(tasks[i]),
                    "peer_rating": float(peer[i]),
                    "reviewer": REVIEWER,
                    "at": now,
                }
                for i in hired_idx
            ],
        )
        conn.execute(
            insert(_t(PerformanceReview)),
            [
                {
                    "employee_id": employee_id[iids[i]],
                    "period": str(start.year + 1),
                    "rating": float(perf[i]),
                    "reviewer": REVIEWER,
                    "notes": "synthetic review (generated)",
                    "at": now,
                }
                for i in hired_idx
            ],
        )
    summary.seconds = round(time.perf_counter() - t0, 2)
    return summary


def _report(iid: str, name: str, family: str, comps: np.ndarray, overall: float) -> rm.Report:
    """Through the same model as a live interview's report, marked synthetic."""
    return rm.Report(
        synthetic=True,
        label=SYNTHETIC_LABEL,
        interview_id=iid,
        candidate_name=name,
        requisition=rm.RequisitionRef(title=FAMILIES[family]["title"], family=family),
        generated_at=datetime.now(UTC),
        rubric_version="synthetic",
        weights={c: 0.2 for c in COMPETENCIES},
        models={},
        affect_analysed=False,
        overall=float(overall),
        competencies={
            c: rm.CompetencyScore(value=float(comps[k]), confidence=1.0)
            for k, c in enumerate(COMPETENCIES)
        },
        questions=[],
        flags=[rm.Flag(flag="synthetic", detail=SYNTHETIC_LABEL)],
        candidate_summary=SYNTHETIC_LABEL,
    )


def purge(engine: Engine) -> int:
    """Delete every synthetic row; returns the number of synthetic interviews removed."""
    req = _t(Requisition)
    iv = _t(Interview)
    emp = _t(Employee)
    with engine.begin() as conn:
        rids = select(req.c.id).where(req.c.synthetic.is_(True)).scalar_subquery()
        iids = select(iv.c.id).where(iv.c.requisition_id.in_(rids)).scalar_subquery()
        eids = select(emp.c.id).where(emp.c.interview_id.in_(iids)).scalar_subquery()
        count = conn.execute(
            select(text("COUNT(*)")).select_from(iv).where(iv.c.requisition_id.in_(rids))
        ).scalar_one()
        for model in (TrainingRecord, FollowUp, PerformanceReview, ProbationReview, OnboardingTask):
            conn.execute(delete(_t(model)).where(_t(model).c.employee_id.in_(eids)))
        conn.execute(delete(emp).where(emp.c.interview_id.in_(iids)))
        for other in (JobOffer, Decision, SelfId, ReportScore, Report):
            conn.execute(delete(_t(other)).where(_t(other).c.interview_id.in_(iids)))
        conn.execute(delete(iv).where(iv.c.requisition_id.in_(rids)))
        conn.execute(delete(req).where(req.c.synthetic.is_(True)))
        cand = _t(Candidate)
        conn.execute(delete(cand).where(cand.c.synthetic.is_(True)))
    return int(count)

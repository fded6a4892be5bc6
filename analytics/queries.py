"""Analytics over the HR record store: predictive validity of interview competencies, and
adverse impact of the hiring stages. Reads flat rows in a few queries (report_score, reviews,
decisions, offers, employees, self-identification) and hands them to analytics.stats and
analytics.adverse_impact. Blocking: call from a worker thread.

`data` chooses the population: "real" (default: synthetic rows left out), "synthetic" (only
the generated cohort) or "all". Every result says whether synthetic data is in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine, text

from analytics import SYNTHETIC_LABEL, adverse_impact, plots, stats
from hr_bridge import hiring

DataChoice = Literal["real", "synthetic", "all"]
Outcome = Literal["performance", "probation"]
OUTCOMES: dict[str, str] = {
    "performance": "mean performance-review rating (1-5)",
    "probation": "mean probation manager rating (1-5)",
}
VALIDITY_METHOD = (
    "For each interview competency, its correlation with later performance among hired "
    "employees, per requisition family: Pearson r and Spearman rho with two-sided p-values "
    "(t test, n-2 degrees of freedom) and 95% percentile bootstrap intervals over employees. "
    "Employees are selected on their interview scores, so the range is restricted and the "
    "correlations understate those in all applicants. Fewer than {min_n} employees: flagged, "
    "too few to say anything."
)


def _data_params(data: DataChoice) -> dict[str, Any]:
    """Bound parameters for SYNTHETIC_FILTER."""
    return {"all_data": data == "all", "synthetic": data == "synthetic"}


# Every query filters on r.synthetic with (:all_data OR r.synthetic = :synthetic).
EMPLOYEES_SQL = {
    "performance": "SELECT e.id, e.interview_id, r.family, r.synthetic, o.y FROM employee e "
    "JOIN requisition r ON r.id = e.requisition_id "
    "JOIN (SELECT employee_id, AVG(rating) AS y FROM performance_review GROUP BY employee_id) o "
    "ON o.employee_id = e.id WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family)",
    "probation": "SELECT e.id, e.interview_id, r.family, r.synthetic, o.y FROM employee e "
    "JOIN requisition r ON r.id = e.requisition_id "
    "JOIN (SELECT employee_id, AVG(manager_rating) AS y FROM probation_review "
    "GROUP BY employee_id) o "
    "ON o.employee_id = e.id WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family)",
}
SCORES_SQL = (
    "SELECT e.id, s.competency, s.value FROM employee e "
    "JOIN requisition r ON r.id = e.requisition_id "
    "JOIN report_score s ON s.interview_id = e.interview_id "
    "WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family)"
)
# Self-identification given after the first decision is read as not reported: otherwise
# whether someone answered could depend on the outcome (asked again on the offer page).
IMPACT_SQL = (
    "SELECT i.id, r.synthetic, "
    "CASE WHEN fd.first IS NULL OR sid.reported_at <= fd.first THEN sid.sex END, "
    "CASE WHEN fd.first IS NULL OR sid.reported_at <= fd.first THEN sid.race_ethnicity END, "
    "d.decision, COALESCE(o.n, 0), COALESCE(e.n, 0) "
    "FROM interview i "
    "JOIN report rep ON rep.interview_id = i.id "
    "JOIN requisition r ON r.id = i.requisition_id "
    "LEFT JOIN self_id sid ON sid.interview_id = i.id "
    "LEFT JOIN (SELECT interview_id, MIN(decided_at) AS first, MAX(id) AS last "
    "FROM decision GROUP BY interview_id) fd ON fd.interview_id = i.id "
    "LEFT JOIN decision d ON d.id = fd.last "
    "LEFT JOIN (SELECT interview_id, COUNT(*) AS n FROM job_offer GROUP BY interview_id) o "
    "ON o.interview_id = i.id "
    "LEFT JOIN (SELECT interview_id, COUNT(*) AS n FROM employee GROUP BY interview_id) e "
    "ON e.interview_id = i.id "
    "WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family) "
    "AND (CAST(:rid AS VARCHAR(32)) IS NULL OR r.id = :rid)"
)


@dataclass
class ValidityInput:
    """Per family: employee ids, the outcome and each competency's scores (NaN: missing)."""

    outcome: dict[str, np.ndarray]
    scores: dict[str, dict[str, np.ndarray]]
    synthetic: bool


def validity_input(
    engine: Engine,
    data: DataChoice = "real",
    outcome: Outcome = "performance",
    family: str | None = None,
) -> ValidityInput:
    """Per family (or only `family`): the employees' outcomes and competency scores."""
    params = {**_data_params(data), "family": family}
    with engine.connect() as conn:
        employees = conn.execute(text(EMPLOYEES_SQL[outcome]), params).all()
        score_rows = conn.execute(text(SCORES_SQL), params).all()
    by_family: dict[str, list[tuple[int, float]]] = defaultdict(list)
    synthetic = False
    for eid, _iid, family, syn, y in employees:
        by_family[family].append((eid, float(y)))
        synthetic = synthetic or bool(syn)
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for eid, competency, value in score_rows:
        values[eid][competency] = float(value)
    out_y: dict[str, np.ndarray] = {}
    out_scores: dict[str, dict[str, np.ndarray]] = {}
    for family, rows in sorted(by_family.items()):
        ids = [eid for eid, _ in rows]
        out_y[family] = np.array([y for _, y in rows])
        names = sorted({c for eid in ids for c in values[eid]})
        out_scores[family] = {
            c: np.array([values[eid].get(c, np.nan) for eid in ids]) for c in names
        }
    return ValidityInput(out_y, out_scores, synthetic)


def validity(
    engine: Engine,
    data: DataChoice = "real",
    outcome: Outcome = "performance",
    resamples: int = 2000,
    min_n: int = 30,
) -> dict[str, Any]:
    """Per family and competency: n, Pearson, Spearman, p-values, bootstrap intervals."""
    inp = validity_input(engine, data, outcome)
    families = []
    for family, y in inp.outcome.items():
        rows = []
        for competency, x in inp.scores[family].items():
            corr = stats.correlate(x, y, resamples=resamples, seed=0, min_n=min_n)
            rows.append({"competency": competency, **corr.as_dict()})
        families.append({"family": family, "employees": len(y), "competencies": rows})
    out: dict[str, Any] = {
        "data": data,
        "synthetic": inp.synthetic,
        "outcome": outcome,
        "outcome_label": OUTCOMES[outcome],
        "min_n": min_n,
        "resamples": resamples,
        "method": VALIDITY_METHOD.format(min_n=min_n),
        "families": families,
    }
    if inp.synthetic:
        out["label"] = SYNTHETIC_LABEL
    return out


def validity_plot(
    engine: Engine,
    family: str,
    competency: str,
    data: DataChoice = "real",
    outcome: Outcome = "performance",
    min_n: int = 30,
) -> str:
    """The scatter of one competency against the outcome in one family, as SVG."""
    inp = validity_input(engine, data, outcome, family)
    y = inp.outcome.get(family, np.array([]))
    x = inp.scores.get(family, {}).get(competency, np.full(len(y), np.nan))
    keep = ~np.isnan(x)
    # The caption needs n, r and rho only: no bootstrap (the table has the intervals).
    corr = stats.correlate(x, y, resamples=0, min_n=min_n) if len(y) else None
    note = corr.note if corr is not None and corr.note else ""
    if corr is not None and corr.pearson is not None:
        note = (f"{note}  " if note else "") + (
            f"n = {corr.n}, r = {corr.pearson:.2f}, rho = {corr.spearman:.2f}"
            if corr.spearman is not None
            else f"n = {corr.n}, r = {corr.pearson:.2f}"
        )
    return plots.scatter_svg(
        x[keep],
        y[keep],
        title=f"{family}: {competency.replace('_', ' ')}",
        x_label=f"interview {competency.replace('_', ' ')} (0-100)",
        y_label=OUTCOMES[outcome],
        y_range=(1.0, 5.0),
        synthetic=inp.synthetic,
        note=note,
    )


def impact_records(
    engine: Engine,
    data: DataChoice = "real",
    family: str | None = None,
    requisition_id: str | None = None,
) -> tuple[list[dict[str, Any]], bool, int]:
    """One record per decided application (a stored report and a decision), with the
    self-identification and the stages reached; and how many are still pending.

    Stages only narrow: an offer (even withdrawn or declined later) means the interview stage
    was passed, whatever the newest decision; otherwise passed = the newest decision is
    advance or offer. No decision yet, or on hold without an offer: pending, left out of
    every base (counting them as not selected would move the ratios with the order in which
    people are decided)."""
    params = {**_data_params(data), "family": family, "rid": requisition_id}
    with engine.connect() as conn:
        rows = conn.execute(text(IMPACT_SQL), params).all()
    records = []
    pending = 0
    for _iid, _syn, sex, race, decision, offers, hires in rows:
        offered = offers > 0
        passed = offered or decision in hiring.PASSED
        if not passed and decision in (None, "hold"):
            pending += 1
            continue
        records.append(
            {
                "sex": sex,
                "race_ethnicity": race,
                "passed": passed,
                "offered": offered,
                "hired": hires > 0,
            }
        )
    return records, any(bool(r[1]) for r in rows), pending


def impact(
    engine: Engine,
    data: DataChoice = "real",
    family: str | None = None,
    requisition_id: str | None = None,
    threshold: float = 0.8,
    min_group: int = 5,
) -> tuple[list[adverse_impact.StageDimension], dict[str, Any]]:
    records, synthetic, pending = impact_records(engine, data, family, requisition_id)
    result = adverse_impact.adverse_impact(records, threshold=threshold, min_group=min_group)
    meta: Mapping[str, Any] = {
        "data": data,
        "family": family,
        "requisition_id": requisition_id,
        "applications": len(records),
        "pending": pending,
        "pending_note": "applications without a decision, or on hold, are left out of every "
        "base until decided; self-identification given after the first decision counts as "
        "not reported",
        "synthetic": synthetic,
    }
    return result, dict(meta)

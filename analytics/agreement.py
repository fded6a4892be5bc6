"""Agreement between the AI's competency scores and the interviewers' ratings, per competency
across interviews (of one requisition, one family, or all). Blocking: call from a worker
thread.

For each interview that has a report and at least one rating of a competency, the pair is
(AI score 0-100, mean rating over its raters 1-5). Per competency:

- n: pairs; `abstained`: rated interviews where the AI abstained (no value), left out of n;
- Pearson r between the AI score and the mean rating (scipy, through analytics.stats);
- quadratic-weighted Cohen's kappa between the AI score binned to 1-5 (0-20 -> 1, 20-40 -> 2,
  40-60 -> 3, 60-80 -> 4, 80-100 -> 5; a boundary goes to the upper bin, 100 to 5) and the
  mean rating rounded half up;
- `disagree` when n >= MIN_N and (r < R_BELOW or kappa < KAPPA_BELOW).

Thresholds: r < 0.3 is below Cohen's (1988) "medium" correlation, and kappa < 0.2 is at most
"slight" agreement on Landis and Koch's (1977) scale: below either, the AI's scores do not
track the interviewers' judgement well enough to be read as the same thing. Fewer than 10
pairs flag nothing: the interval around r is then about +-0.6, so a low r says little. The flag
is a screen that asks a person to look, not a verdict on either side.

`data` chooses the population as in analytics.queries ("real" by default: synthetic rows left
out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from analytics import SYNTHETIC_LABEL, stats
from analytics.queries import DataChoice, _data_params
from hr_bridge import ratings
from hr_bridge.interviews import Requisition

MIN_N = 10
R_BELOW = 0.3
KAPPA_BELOW = 0.2
LEVELS = 5

METHOD = (
    "Per competency, over interviews with a report and at least one interviewer rating: n "
    "pairs of the AI score (0-100) and the mean rating over raters (1-5); Pearson r between "
    "them; quadratic-weighted Cohen's kappa between the AI score in five bins (0-20-40-60-80-"
    "100) and the mean rating rounded half up. Scores where the AI abstained are left out and "
    "counted. Flagged as disagreeing when n >= {min_n} and r < {r} or kappa < {kappa}: weak "
    "correlation, or at most slight agreement. A flag asks a person to look at both."
)

# Both filter on r.synthetic with (:all_data OR r.synthetic = :synthetic), as analytics.queries.
# Mean rating per rated (interview, competency), for interviews with a report.
RATINGS_SQL = (
    "SELECT g.interview_id, i.requisition_id, r.synthetic, g.competency, AVG(g.score) "
    "FROM rating g JOIN interview i ON i.id = g.interview_id "
    "JOIN requisition r ON r.id = i.requisition_id "
    "JOIN report rep ON rep.interview_id = g.interview_id "
    "WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family) "
    "AND (CAST(:rid AS VARCHAR(32)) IS NULL OR r.id = :rid) "
    "GROUP BY g.interview_id, i.requisition_id, r.synthetic, g.competency"
)
AI_SQL = (
    "SELECT s.interview_id, s.competency, s.value FROM report_score s "
    "JOIN interview i ON i.id = s.interview_id JOIN requisition r ON r.id = i.requisition_id "
    "WHERE (:all_data OR r.synthetic = :synthetic) "
    "AND (CAST(:family AS VARCHAR(100)) IS NULL OR r.family = :family) "
    "AND (CAST(:rid AS VARCHAR(32)) IS NULL OR r.id = :rid) "
    "AND EXISTS (SELECT 1 FROM rating g WHERE g.interview_id = s.interview_id)"
)


def ai_level(score: ArrayLike) -> NDArray[np.int64]:
    """AI scores 0-100 in five equal bins, 1-5 (a bin's lower edge belongs to it; 100 is 5)."""
    s = np.asarray(score, dtype=np.float64)
    return np.clip(np.floor(s / 20.0).astype(np.int64) + 1, 1, LEVELS)


def rating_level(mean: ArrayLike) -> NDArray[np.int64]:
    """Mean ratings rounded half up (2.5 -> 3; numpy's round would give 2), 1-5."""
    m = np.asarray(mean, dtype=np.float64)
    return np.clip(np.floor(m + 0.5).astype(np.int64), 1, LEVELS)


def quadratic_kappa(a: ArrayLike, b: ArrayLike, levels: int = LEVELS) -> float:
    """Cohen's kappa with quadratic weights for two ratings of the same items on 1..levels;
    NaN when undefined (no items, or both constant on one level).

    Written out rather than imported: scikit-learn has it (cohen_kappa_score) but is not a
    dependency of the product, and the formula is short: kappa = 1 - sum(w O) / sum(w E),
    with O the observed confusion matrix, E the one expected from the marginals and
    w_ij = (i - j)^2 / (levels - 1)^2."""
    x = np.asarray(a, dtype=np.int64) - 1
    y = np.asarray(b, dtype=np.int64) - 1
    if x.size == 0 or x.shape != y.shape:
        return math.nan
    observed = np.zeros((levels, levels))
    np.add.at(observed, (x, y), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / x.size
    i, j = np.indices((levels, levels))
    weights = (i - j) ** 2 / (levels - 1) ** 2
    disagreement_by_chance = float((weights * expected).sum())
    if disagreement_by_chance == 0.0:
        return math.nan
    return 1.0 - float((weights * observed).sum()) / disagreement_by_chance


def _num(v: float, digits: int = 4) -> float | None:
    return None if math.isnan(v) else round(v, digits)


@dataclass
class Pairs:
    label: str
    ai: list[float] = field(default_factory=list)
    human: list[float] = field(default_factory=list)
    abstained: int = 0
    interviewer_only: int = 0


def compare(p: Pairs, competency: str) -> dict[str, Any]:
    """One competency's row: n, means, r, kappa and the flag."""
    n = len(p.ai)
    ai, human = np.array(p.ai), np.array(p.human)
    r = stats.pearson(ai, human)[0] if n else math.nan
    kappa = quadratic_kappa(ai_level(ai), rating_level(human)) if n else math.nan
    low = (not math.isnan(r) and r < R_BELOW) or (not math.isnan(kappa) and kappa < KAPPA_BELOW)
    disagree = n >= MIN_N and low
    if p.interviewer_only and not n:
        note = "rated by interviewers only: no AI score to compare"
    elif n < MIN_N:
        note = f"fewer than {MIN_N} pairs: too few to judge agreement"
    elif math.isnan(r) or math.isnan(kappa):
        note = "no variation on one side: agreement cannot be computed"
    elif disagree:
        note = "the AI and the interviewers disagree: review this competency's scoring"
    else:
        note = ""
    return {
        "competency": competency,
        "label": p.label,
        "n": n,
        "abstained": p.abstained,
        "mean_ai": _num(float(ai.mean()), 2) if n else None,
        "mean_human": _num(float(human.mean()), 2) if n else None,
        "pearson": _num(r),
        "kappa": _num(kappa),
        "disagree": disagree,
        "note": note,
    }


def _requisitions(engine: Engine, ids: Sequence[str]) -> dict[str, Requisition]:
    with Session(engine) as s:
        return {r.id: r for r in s.exec(select(Requisition).where(col(Requisition.id).in_(ids)))}


def agreement(
    engine: Engine,
    data: DataChoice = "real",
    requisition_id: str | None = None,
    family: str | None = None,
) -> dict[str, Any]:
    """Per competency: AI-human agreement over the rated interviews chosen (see the module)."""
    params = {**_data_params(data), "family": family, "rid": requisition_id}
    with engine.connect() as conn:
        rated = conn.execute(text(RATINGS_SQL), params).all()
        ai_rows = conn.execute(text(AI_SQL), params).all()
    reqs = _requisitions(engine, sorted({row[1] for row in rated}))
    ai = {(iid, comp): float(v) for iid, comp, v in ai_rows}
    measures: dict[str, dict[str, str | None]] = {}
    labels: dict[str, str] = {}
    for rid, req in reqs.items():
        comps = ratings.competencies(req)
        measures[rid] = {c.key: c.measure for c in comps}
        for c in comps:
            labels.setdefault(c.key, ratings.label_in(c, "en"))
    pairs: dict[str, Pairs] = {}
    interviews: set[str] = set()
    synthetic = False
    for iid, rid, syn, comp, mean in rated:
        synthetic = synthetic or bool(syn)
        interviews.add(iid)
        p = pairs.setdefault(comp, Pairs(labels.get(comp, comp)))
        value = ai.get((iid, comp))
        if value is not None:
            p.ai.append(value)
            p.human.append(float(mean))
        elif measures.get(rid, {}).get(comp) is None:
            p.interviewer_only += 1
        else:
            p.abstained += 1
    out: dict[str, Any] = {
        "data": data,
        "synthetic": synthetic,
        "requisition_id": requisition_id,
        "family": family,
        "interviews": len(interviews),
        "min_n": MIN_N,
        "r_below": R_BELOW,
        "kappa_below": KAPPA_BELOW,
        "method": METHOD.format(min_n=MIN_N, r=R_BELOW, kappa=KAPPA_BELOW),
        "competencies": [compare(pairs[c], c) for c in sorted(pairs)],
    }
    if synthetic:
        out["label"] = SYNTHETIC_LABEL
    return out

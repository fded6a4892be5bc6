"""The composite match score of a candidate for a requisition.

A requisition's `match_config` weighs interview competencies and EHR facts, for example:

    parts:
      - {kind: competency, name: communication, weight: 40, required: 70}
      - {kind: competency, name: composure, label: stress resilience, weight: 30}
      - {kind: fact, name: past_sales_results, weight: 20, required: 60, scale: [0, 150]}
      - {kind: fact, name: customer_feedback, weight: 10}
      - {kind: requirements, weight: 20}        # resume match with the requirements
    bands: {high: 75, medium: 55}

Every part is on a 0-100 scale: competencies are the report's scores (matched by normalised
name, so "Logical structure" finds `logical_structure`); `rating` parts are the interviewers'
mean rating of a competency (1-5 mapped to 0-100); facts come from the candidate's profile
(`facts`, else `skills`), mapped linearly from `scale` when the HR system keeps them in other
units (quota attainment 0-150%); `requirements` is the resume match of hr_bridge.profiles.

No data is never good news. A part without data (a competency the interview had too little
evidence for, a fact missing from the HR record) lowers the coverage and is named; it is not
re-weighted away. The score (the weighted mean over the parts with data) exists only when at
least MIN_COVERAGE of the weight has data. The band is stated only when the missing parts
could not change it: with every missing part at 0 and at 100 the weighted sum must fall in
the same band; otherwise the band is "incomplete" and `possible_bands` says which bands the
missing data could still lead to. The result is a recommendation with its reasons: a person
decides, and the system never rejects anyone on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.scoring.catalogue import normalise
from pipeline.scoring.rubric import DEFAULT_COMPETENCIES, competencies_from

DEFAULT_BANDS = {"high": 75.0, "medium": 55.0}
MIN_COVERAGE = 0.5
RECOMMENDATION = {
    "high": "advance: a strong match; a person decides",
    "medium": "consider: read the reasons; a person decides",
    "low": "weak match on these parts: read the reasons and the evidence; a person decides",
    "incomplete": "too little data to recommend: a person decides from the evidence",
}
BAND_ORDER = ("low", "medium", "high")


@dataclass(frozen=True)
class Part:
    kind: str  # competency, rating, fact, requirements
    name: str
    label: str
    weight: float  # share of the configured weight, 0-1
    value: float | None  # 0-100, None without data
    raw: float | None  # the value in its own units (facts with a scale)
    required: float | None
    met: bool | None
    points: float | None  # what it adds to the score
    reason: str


@dataclass(frozen=True)
class Match:
    score: float | None
    band: str  # high, medium, low, incomplete
    coverage: float  # share of the weight that had data
    parts: list[Part]
    recommendation: str
    missing: list[str]  # labels of the parts without data
    possible_bands: list[str]  # the bands the data (with what is missing) allows

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_config(requisition: Mapping[str, Any]) -> dict[str, Any]:
    """Without a configuration: the rubric's competency weights (competencies rated by
    interviewers only as `rating` parts), and the resume match (20%) when the requisition has
    requirements."""
    parts: list[dict[str, Any]] = []
    for c in competencies_from(requisition.get("competencies") or []):
        # What the engine cannot measure is weighed by the interviewers' ratings.
        kind = "competency" if c.measure is not None else "rating"
        parts.append({"kind": kind, "name": c.label, "weight": c.weight})
    if not parts:
        parts = [{"kind": "competency", "name": n, "weight": 1.0} for n in DEFAULT_COMPETENCIES]
    if requisition.get("requirements"):
        total = sum(p["weight"] for p in parts)
        parts.append({"kind": "requirements", "name": "requirements", "weight": total / 4})
    return {"parts": parts, "bands": dict(DEFAULT_BANDS)}


def _fact(profile: Mapping[str, Any], name: str) -> float | None:
    for section in ("facts", "skills"):
        values = profile.get(section) or {}
        for key, value in values.items():
            if key.lower() == name.lower() and isinstance(value, int | float):
                return float(value)
    return None


def _band(score: float, bands: Mapping[str, float]) -> str:
    return "high" if score >= bands["high"] else "medium" if score >= bands["medium"] else "low"


def compute(
    config: Mapping[str, Any] | None,
    requisition: Mapping[str, Any],
    competencies: Mapping[str, float],
    profile: Mapping[str, Any] | None,
    requirements_match: float | None,
    ratings: Mapping[str, float] | None = None,
) -> Match:
    """The composite score from a report's competency values (those with a value), the
    interviewers' mean ratings (1-5, by competency key), the candidate's profile and the
    resume match (hr_bridge.profiles.match), with a reason for every part."""
    by_key = {normalise(k): v for k, v in competencies.items()}
    rated = {normalise(k): v for k, v in (ratings or {}).items()}
    cfg = config or default_config(requisition)
    bands = {**DEFAULT_BANDS, **(cfg.get("bands") or {})}
    specs = cfg.get("parts") or []
    total_w = sum(float(p.get("weight", 0)) for p in specs) or 1.0
    parts: list[Part] = []
    for spec in specs:
        kind, name = spec["kind"], spec.get("name") or spec["kind"]
        label = spec.get("label") or name.replace("_", " ")
        weight = float(spec.get("weight", 0)) / total_w
        required = spec.get("required")
        raw: float | None
        if kind == "competency":
            raw = by_key.get(normalise(name))
            value = raw
        elif kind == "rating":
            raw = rated.get(normalise(name))
            value = None if raw is None else min(100.0, max(0.0, 25 * (raw - 1)))
        elif kind == "fact":
            raw = _fact(profile or {}, name)
            lo, hi = spec.get("scale") or (0.0, 100.0)
            value = None if raw is None else min(100.0, max(0.0, 100 * (raw - lo) / (hi - lo)))
        else:
            raw = value = requirements_match
        parts.append(_part(kind, name, label, weight, value, raw, required, spec))
    have = sum(p.weight for p in parts if p.value is not None)
    points = sum(p.weight * p.value for p in parts if p.value is not None)
    score = round(points / have, 1) if have and have >= MIN_COVERAGE - 1e-9 else None
    # The missing weight at 0 and at 100: the bands the full data could still give.
    lowest, highest = _band(points, bands), _band(points + 100 * (1 - have), bands)
    possible = list(BAND_ORDER[BAND_ORDER.index(lowest) : BAND_ORDER.index(highest) + 1])
    band = possible[0] if score is not None and len(possible) == 1 else "incomplete"
    missing = [p.label for p in parts if p.value is None]
    return Match(score, band, round(have, 3), parts, RECOMMENDATION[band], missing, possible)


def _part(
    kind: str,
    name: str,
    label: str,
    weight: float,
    value: float | None,
    raw: float | None,
    required: float | None,
    spec: Mapping[str, Any],
) -> Part:
    share = f"{weight:.0%} of the score"
    if value is None:
        source = {
            "competency": "not enough interview evidence for a score",
            "rating": "no interviewer rating yet",
            "requirements": "no resume data to match",
        }.get(kind, "no data in the HR record")
        return Part(
            kind, name, label, weight, None, None, required, None, None,
            f"{label}: {source}; coverage lowered by {share}",
        )  # fmt: skip
    shown = f"{value:.0f}"
    if kind == "fact" and spec.get("scale"):
        shown = f"{raw:g} ({value:.0f} on the 0-100 scale)"
    elif kind == "requirements":
        shown = f"{value:.0f}% of the requirements met"
    elif kind == "rating":
        shown = f"{raw:.1f} of 5 from interviewers ({value:.0f} on the 0-100 scale)"
    met = None if required is None else value >= float(required)
    if required is None:
        reason = f"{label} {shown} ({share})"
    elif met:
        reason = f"{label} {shown}, meets the requirement of {float(required):g} ({share})"
    else:
        reason = f"{label} {shown}, below the requirement of {float(required):g} ({share})"
    return Part(
        kind, name, label, weight, round(value, 1), raw, required, met,
        round(weight * value, 1), reason,
    )  # fmt: skip

"""Selection rates and impact ratios by sex and race/ethnicity (the four-fifths rule).

Why: an AI-assisted interview is a selection procedure, so employers are expected to monitor
whether it (and the human decisions that follow it) selects one group at a markedly lower rate
than another. The usual screen is the EEOC "four-fifths rule": a group whose selection rate is
below 80 % of the highest group's rate shows possible adverse impact. It is a heuristic that
tells someone where to look, not a finding; with small groups it is unreliable, so every group
under `min_group` applicants is marked `small_sample` rather than hidden.

Rates are computed step by step (each stage's base is the people who reached it) and for the
bottom line (hires over everyone interviewed), for sex, race/ethnicity and their intersection.
Self-reported fields left empty or declined are counted as missing, never guessed.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from analytics import SYNTHETIC_LABEL

STAGES: tuple[str, ...] = ("interview_passed", "offer", "hire", "overall")
DIMENSIONS: tuple[str, ...] = ("sex", "race_ethnicity", "sex × race_ethnicity")

CSV_COLUMNS: tuple[str, ...] = (
    "stage",
    "dimension",
    "group",
    "applicants",
    "selected",
    "selection_rate",
    "impact_ratio",
    "four_fifths_flag",
    "small_sample",
    "reference_group",
)
MISSING_KINDS: tuple[str, ...] = ("not_reported", "declined")
_MISSING_CSV_LABELS = {"not_reported": "(not reported)", "declined": "(declined)"}
_OUTCOMES = ("passed", "offered", "hired")
# Per stage: (index into the outcome triple that puts a record in the base, or None for every
# record; index of the outcome that counts as selected). Offer and hire are conditional on the
# previous step; "overall" is the bottom line.
_STAGE_RULES: dict[str, tuple[int | None, int]] = {
    "interview_passed": (None, 0),
    "offer": (0, 1),
    "hire": (1, 2),
    "overall": (None, 2),
}
_RESERVED_JSON_KEYS = frozenset(
    {"synthetic", "label", "threshold", "min_group", "method", "stages"}
)

# A self-reported value after cleaning: (group label, None) or (None, missing kind).
_Reported = tuple[str | None, str | None]


@dataclass(frozen=True)
class GroupRate:
    """One group's selection at one stage; the flag means "look closer", not "discrimination"."""

    group: str
    applicants: int
    selected: int
    rate: float | None
    impact_ratio: float | None
    four_fifths_flag: bool
    small_sample: bool


@dataclass(frozen=True)
class StageDimension:
    """All groups of one dimension at one stage, plus who could not be placed in a group.

    `base` counts every record in the stage's base, so sum(applicants) + sum(missing) == base.
    `threshold` and `min_group` are carried so exports state the rule they were judged by.
    """

    stage: str
    dimension: str
    base: int
    missing: dict[str, int]
    reference_group: str | None
    groups: list[GroupRate]
    threshold: float = 0.8
    min_group: int = 5
    # Groups left out of an export for privacy (suppress_small): how many, how many people.
    suppressed: dict[str, int] = field(default_factory=lambda: {"groups": 0, "applicants": 0})


def _reported(value: Any) -> _Reported:
    """Clean a self-reported value; empty and "declined" are kept apart because they differ."""
    if value is None:
        return None, "not_reported"
    text = str(value).strip()
    if not text:
        return None, "not_reported"
    if text.casefold() == "declined":
        return None, "declined"
    return text, None


def _intersection(sex: _Reported, race: _Reported) -> _Reported:
    """Both parts are needed; an explicit decline of either part wins over a plain blank."""
    if sex[0] is not None and race[0] is not None:
        return f"{sex[0]} × {race[0]}", None
    if "declined" in (sex[1], race[1]):
        return None, "declined"
    return None, "not_reported"


def _outcome(record: Mapping[str, Any], index: int) -> tuple[bool, bool, bool]:
    """Read the three outcomes strictly: a wrong or inconsistent funnel would skew every rate."""
    values: list[bool] = []
    for key in _OUTCOMES:
        value = record.get(key)
        # bool, or the 0/1 integers some database drivers return for boolean columns.
        if not isinstance(value, int) or value not in (0, 1):
            raise ValueError(f"record {index}: {key!r} must be a bool, got {value!r}")
        values.append(bool(value))
    passed, offered, hired = values
    if offered and not passed:
        raise ValueError(f"record {index}: offered without a passed interview")
    if hired and not offered:
        raise ValueError(f"record {index}: hired without an offer")
    return passed, offered, hired


def _groups(
    applicants: Mapping[str, int], selected: Mapping[str, int], threshold: Fraction, min_group: int
) -> tuple[str | None, list[GroupRate]]:
    """Pick the reference group and rate every group against it.

    Ratios and flags use exact fractions, so a ratio of exactly 0.8 is not flagged because of
    floating-point error; only the reported numbers are rounded.
    """
    labels = sorted(label for label, n in applicants.items() if n > 0)
    qualified = [label for label in labels if applicants[label] >= min_group] or labels
    reference: str | None = None
    best = Fraction(-1)
    for label in qualified:  # sorted, so a tie goes to the first label
        rate = Fraction(selected[label], applicants[label])
        if rate > best:
            reference, best = label, rate
    rows: list[GroupRate] = []
    for label in labels:
        n, k = applicants[label], selected[label]
        ratio = Fraction(k, n) / best if reference is not None and best > 0 else None
        rows.append(
            GroupRate(
                group=label,
                applicants=n,
                selected=k,
                rate=round(k / n, 4),
                impact_ratio=None if ratio is None else round(float(ratio), 4),
                four_fifths_flag=ratio is not None and ratio < threshold,
                small_sample=n < min_group,
            )
        )
    return reference, rows


def adverse_impact(
    records: Iterable[Mapping[str, Any]], *, threshold: float = 0.8, min_group: int = 5
) -> list[StageDimension]:
    """Selection rates, impact ratios and four-fifths flags for every stage and dimension.

    Returns one entry per stage × dimension (in STAGES, then DIMENSIONS order), even when a
    stage has nobody in it, so a report always has the same shape.
    """
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive number, got {threshold!r}")
    if min_group < 1:
        raise ValueError(f"min_group must be at least 1, got {min_group!r}")
    exact_threshold = Fraction(str(threshold))  # 0.8 means 4/5, not the nearest binary float

    # One pass: count identical (sex, race, outcome) combinations; there are few of them.
    combos: Counter[tuple[_Reported, _Reported, tuple[bool, bool, bool]]] = Counter()
    for index, record in enumerate(records):
        sex = _reported(record.get("sex"))
        race = _reported(record.get("race_ethnicity"))
        combos[sex, race, _outcome(record, index)] += 1

    bases: Counter[str] = Counter()
    applicants: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    selected: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    missing: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (sex, race, outcome), count in combos.items():
        by_dimension = (sex, race, _intersection(sex, race))
        for stage, (base_index, selected_index) in _STAGE_RULES.items():
            if base_index is not None and not outcome[base_index]:
                continue
            bases[stage] += count
            for dimension, (group, missing_kind) in zip(DIMENSIONS, by_dimension, strict=True):
                key = (stage, dimension)
                if group is None:
                    missing[key][str(missing_kind)] += count
                    continue
                applicants[key][group] += count
                if outcome[selected_index]:
                    selected[key][group] += count

    result: list[StageDimension] = []
    for stage in STAGES:
        for dimension in DIMENSIONS:
            key = (stage, dimension)
            reference, rows = _groups(applicants[key], selected[key], exact_threshold, min_group)
            result.append(
                StageDimension(
                    stage=stage,
                    dimension=dimension,
                    base=bases[stage],
                    missing={kind: missing[key][kind] for kind in MISSING_KINDS},
                    reference_group=reference,
                    groups=rows,
                    threshold=threshold,
                    min_group=min_group,
                )
            )
    return result


def _parameters(result: list[StageDimension]) -> tuple[float | None, int | None]:
    """The one threshold and min_group a result was computed with (None for an empty list)."""
    found = {(entry.threshold, entry.min_group) for entry in result}
    if len(found) > 1:
        raise ValueError("result mixes entries computed with different threshold/min_group")
    return found.pop() if found else (None, None)


def _method(threshold: float | None, min_group: int | None) -> str:
    """Plain-language method note, so a reader of the export knows what the numbers mean."""
    cutoff = "the threshold" if threshold is None else f"{threshold:g}"
    small = "min_group" if min_group is None else str(min_group)
    return (
        "Each stage's base is the people who reached it (interview_passed and overall: everyone "
        "interviewed; offer: those who passed; hire: those offered), and a group's impact ratio "
        "is its selection rate divided by the highest rate among groups with at least "
        f"{small} applicants. Ratios below {cutoff} are flagged under the four-fifths rule, a "
        "screening heuristic and not a finding of discrimination; flags on groups under "
        f"{small} applicants are marked small_sample, and people who did not report or declined "
        "are counted as missing, not placed in a group."
    )


PRIVACY_MIN = 5


def suppress_small(result: list[StageDimension], k: int = PRIVACY_MIN) -> list[StageDimension]:
    """The result without groups of fewer than `k` applicants, for anything a person reads.

    Self-identification is read only in aggregate: a cell of one or two people next to who
    was hired would tell whose answer it was. Suppressed groups are counted, not named; the
    impact ratios of the groups shown are unchanged (the reference is always a group of at
    least `min_group`, or, if no group is that large, it is named as suppressed)."""
    out = []
    for entry in result:
        shown = [g for g in entry.groups if g.applicants >= k]
        hidden = [g for g in entry.groups if g.applicants < k]
        reference = entry.reference_group
        if reference is not None and any(g.group == reference for g in hidden):
            reference = "(a suppressed group)"
        out.append(
            replace(
                entry,
                groups=shown,
                reference_group=reference,
                suppressed={
                    "groups": len(hidden),
                    "applicants": sum(g.applicants for g in hidden),
                },
            )
        )
    return out


def as_json(
    result: list[StageDimension],
    *,
    synthetic: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON-ready report that states its method and, for synthetic data, says so up front."""
    extra = dict(meta or {})
    clash = sorted(_RESERVED_JSON_KEYS & extra.keys())
    if clash:
        raise ValueError(f"meta must not override report keys: {clash}")
    threshold, min_group = _parameters(result)
    report: dict[str, Any] = {"synthetic": synthetic}
    if synthetic:
        report["label"] = SYNTHETIC_LABEL
    report.update(
        threshold=threshold,
        min_group=min_group,
        method=_method(threshold, min_group),
        stages=[
            {
                "stage": entry.stage,
                "dimension": entry.dimension,
                "base": entry.base,
                "missing": dict(entry.missing),
                "reference_group": entry.reference_group,
                "suppressed": dict(entry.suppressed),
                "groups": [
                    {
                        "group": row.group,
                        "applicants": row.applicants,
                        "selected": row.selected,
                        "rate": row.rate,
                        "impact_ratio": row.impact_ratio,
                        "four_fifths_flag": row.four_fifths_flag,
                        "small_sample": row.small_sample,
                    }
                    for row in entry.groups
                ],
            }
            for entry in result
        ],
    )
    report.update(extra)
    return report


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def as_csv(result: list[StageDimension], *, synthetic: bool = False) -> str:
    """A spreadsheet-friendly table: each stage × dimension's groups, then its missing counts.

    Synthetic data gets a leading `#` comment line, so the file cannot pass for real people.
    """
    buffer = io.StringIO()
    if synthetic:
        buffer.write(f"# {SYNTHETIC_LABEL}\r\n")  # same line ending as the csv writer
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in result:
        reference = entry.reference_group or ""
        for row in entry.groups:
            writer.writerow(
                (
                    entry.stage,
                    entry.dimension,
                    row.group,
                    row.applicants,
                    row.selected,
                    _number(row.rate),
                    _number(row.impact_ratio),
                    _yes_no(row.four_fifths_flag),
                    _yes_no(row.small_sample),
                    reference,
                )
            )
        for kind in MISSING_KINDS:
            label = _MISSING_CSV_LABELS[kind]
            count = entry.missing.get(kind, 0)
            writer.writerow((entry.stage, entry.dimension, label, count, "", "", "", "", "", ""))
        if entry.suppressed["groups"]:
            label = f"(suppressed: {entry.suppressed['groups']} small group(s))"
            people = entry.suppressed["applicants"]
            writer.writerow((entry.stage, entry.dimension, label, people, "", "", "", "", "", ""))
    return buffer.getvalue()

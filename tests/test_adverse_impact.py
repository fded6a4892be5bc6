"""Adverse-impact tables checked against numbers worked out by hand, not by the code itself.

Why: a compliance report that is silently off by one base or one rounding step is worse than
none, so the main test pins every count, rate, ratio and flag of a small explicit cohort.
"""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pytest

from analytics import SYNTHETIC_LABEL
from analytics.adverse_impact import (
    DIMENSIONS,
    STAGES,
    GroupRate,
    StageDimension,
    adverse_impact,
    as_csv,
    as_json,
)

SEX, RACE, BOTH = DIMENSIONS
COLUMNS = [
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
]


def block(
    n: int, sex: Any, race: Any, passed: int, offered: int, hired: int
) -> list[dict[str, Any]]:
    """n people with the same self-report: the first `passed` passed, of them the first
    `offered` got an offer, of those the first `hired` accepted."""
    assert n >= passed >= offered >= hired
    return [
        {
            "sex": sex,
            "race_ethnicity": race,
            "passed": i < passed,
            "offered": i < offered,
            "hired": i < hired,
        }
        for i in range(n)
    ]


# The hand-checked cohort: 100 men, 80 women, 7 people without a usable sex.
#                         n   passed offered hired
COHORT = (
    block(70, "male", "White", 45, 24, 20)
    + block(30, "male", "Black", 15, 6, 4)  # men:   100 / 60 / 30 / 24
    + block(50, "female", "White", 20, 8, 7)
    + block(25, "female", "Black", 8, 3, 3)
    + block(3, "female", None, 1, 1, 0)  # race not reported
    + block(2, "female", "declined", 1, 0, 0)  # women:  80 / 30 / 12 / 10
    + block(4, None, "White", 2, 1, 1)  # sex not reported
    + block(2, "Declined", "Black", 1, 1, 1)  # sex declined (any case)
    + block(1, "", None, 0, 0, 0)  # both blank: not reported
)  # total 187 records

# Missing counts per dimension. Intersection: missing if either part is; "declined" if either
# part was declined, else "not reported".
#   sex:   not reported = 4 (None) + 1 ("") ; declined = 2 ("Declined")
#   race:  not reported = 3 (female/None) + 1 (""/None) ; declined = 2 (female/"declined")
#   both:  not reported = 3 (female/None) + 4 (None/White) + 1 (""/None) = 8
#          declined     = 2 (female/declined) + 2 (Declined/Black) = 4
# Each entry: base, missing (not reported, declined), reference, then per group:
#   (group, applicants, selected, rate, impact ratio, four-fifths flag, small sample)
EXPECTED: dict[tuple[str, str], tuple[Any, ...]] = {
    # ---- interview_passed: base = all 187 records; selected = passed --------------------
    # female 30/80 = 0.375; male 60/100 = 0.6 -> reference male; 0.375/0.6 = 0.625 < 0.8.
    ("interview_passed", SEX): (187, (5, 2), "male", [
        ("female", 80, 30, 0.375, 0.625, True, False),
        ("male", 100, 60, 0.6, 1.0, False, False),
    ]),
    # White 70+50+4 = 124 applicants, 45+20+2 = 67 passed -> 0.540322... = 0.5403.
    # Black 30+25+2 = 57 applicants, 15+8+1 = 24 passed -> 0.421052... = 0.4211.
    # ratio (24/57)/(67/124) = 2976/3819 = 0.779261... = 0.7793 < 0.8 -> flagged.
    # 124 + 57 + 4 + 2 = 187.
    ("interview_passed", RACE): (187, (4, 2), "White", [
        ("Black", 57, 24, 0.4211, 0.7793, True, False),
        ("White", 124, 67, 0.5403, 1.0, False, False),
    ]),
    # m×W 45/70 = 0.642857 (reference); f×B 8/25 = 0.32 -> 0.32*70/45 = 0.49777 = 0.4978;
    # f×W 20/50 = 0.4 -> 28/45 = 0.6222; m×B 15/30 = 0.5 -> 35/45 = 0.7778. 175 + 12 = 187.
    ("interview_passed", BOTH): (187, (8, 4), "male × White", [
        ("female × Black", 25, 8, 0.32, 0.4978, True, False),
        ("female × White", 50, 20, 0.4, 0.6222, True, False),
        ("male × Black", 30, 15, 0.5, 0.7778, True, False),
        ("male × White", 70, 45, 0.6429, 1.0, False, False),
    ]),
    # ---- offer: base = the 60+30+2+1+0 = 93 who passed; selected = offered ---------------
    # female 12/30 = 0.4; male 30/60 = 0.5; ratio exactly 0.8 = 4/5 -> NOT below 0.8.
    # missing: None/White passed 2 (the "" person did not pass); Declined/Black passed 1.
    ("offer", SEX): (93, (2, 1), "male", [
        ("female", 30, 12, 0.4, 0.8, False, False),
        ("male", 60, 30, 0.5, 1.0, False, False),
    ]),
    # White 67 passed, 24+8+1 = 33 offered -> 0.492537 = 0.4925.
    # Black 24 passed, 6+3+1 = 10 offered -> 0.416666 = 0.4167.
    # ratio (10/24)/(33/67) = 670/792 = 0.845959 = 0.846. missing: female/None 1, declined 1.
    ("offer", RACE): (93, (1, 1), "White", [
        ("Black", 24, 10, 0.4167, 0.846, False, False),
        ("White", 67, 33, 0.4925, 1.0, False, False),
    ]),
    # m×W 24/45 = 0.5333 (reference); f×B 3/8 = 0.375 -> 0.375*45/24 = 0.703125 = 0.7031;
    # f×W 8/20 = 0.4 -> 18/24 = 0.75; m×B 6/15 = 0.4 -> 0.75.
    # missing: not reported 1 (female/None) + 2 (None/White) ; declined 1 + 1.
    ("offer", BOTH): (93, (3, 2), "male × White", [
        ("female × Black", 8, 3, 0.375, 0.7031, True, False),
        ("female × White", 20, 8, 0.4, 0.75, True, False),
        ("male × Black", 15, 6, 0.4, 0.75, True, False),
        ("male × White", 45, 24, 0.5333, 1.0, False, False),
    ]),
    # ---- hire: base = the 30+12+1+1 = 44 offered; selected = hired ------------------------
    # female 10/12 = 0.8333 (reference now); male 24/30 = 0.8 -> 0.8*12/10 = 0.96.
    ("hire", SEX): (44, (1, 1), "female", [
        ("female", 12, 10, 0.8333, 1.0, False, False),
        ("male", 30, 24, 0.8, 0.96, False, False),
    ]),
    # White 33 offered, 20+7+1 = 28 hired -> 0.848484 = 0.8485; Black 10 offered, 4+3+1 = 8
    # hired -> 0.8; ratio 0.8*33/28 = 0.942857 = 0.9429. missing: female/None 1, no decliner.
    ("hire", RACE): (44, (1, 0), "White", [
        ("Black", 10, 8, 0.8, 0.9429, False, False),
        ("White", 33, 28, 0.8485, 1.0, False, False),
    ]),
    # f×B 3/3 = 1.0 is the highest rate but only 3 < 5 applicants, so the reference is the
    # best group with >= 5: f×W 7/8 = 0.875. f×B 1/0.875 = 1.142857 = 1.1429 (small sample);
    # m×B 4/6 = 0.6667 -> (2/3)/(7/8) = 16/21 = 0.7619 flagged; m×W 20/24 = 0.8333 ->
    # (5/6)/(7/8) = 40/42 = 0.9524. missing: female/None 1 + None/White 1; Declined/Black 1.
    ("hire", BOTH): (44, (2, 1), "female × White", [
        ("female × Black", 3, 3, 1.0, 1.1429, False, True),
        ("female × White", 8, 7, 0.875, 1.0, False, False),
        ("male × Black", 6, 4, 0.6667, 0.7619, True, False),
        ("male × White", 24, 20, 0.8333, 0.9524, False, False),
    ]),
    # ---- overall (bottom line): base = all 187; selected = hired ---------------------------
    # female 10/80 = 0.125; male 24/100 = 0.24 -> 0.125/0.24 = 0.520833 = 0.5208.
    ("overall", SEX): (187, (5, 2), "male", [
        ("female", 80, 10, 0.125, 0.5208, True, False),
        ("male", 100, 24, 0.24, 1.0, False, False),
    ]),
    # White 28/124 = 0.225806 = 0.2258; Black 8/57 = 0.140350 = 0.1404;
    # ratio 8*124/(57*28) = 992/1596 = 0.621553 = 0.6216.
    ("overall", RACE): (187, (4, 2), "White", [
        ("Black", 57, 8, 0.1404, 0.6216, True, False),
        ("White", 124, 28, 0.2258, 1.0, False, False),
    ]),
    # m×W 20/70 = 0.285714 = 0.2857 (reference); f×B 3/25 = 0.12 -> 0.12*3.5 = 0.42;
    # f×W 7/50 = 0.14 -> 0.49; m×B 4/30 = 0.1333 -> 28/60 = 0.4667.
    ("overall", BOTH): (187, (8, 4), "male × White", [
        ("female × Black", 25, 3, 0.12, 0.42, True, False),
        ("female × White", 50, 7, 0.14, 0.49, True, False),
        ("male × Black", 30, 4, 0.1333, 0.4667, True, False),
        ("male × White", 70, 20, 0.2857, 1.0, False, False),
    ]),
}  # fmt: skip


def by_key(result: list[StageDimension]) -> dict[tuple[str, str], StageDimension]:
    return {(entry.stage, entry.dimension): entry for entry in result}


def test_hand_checked_cohort_shape() -> None:
    result = adverse_impact(COHORT)
    assert [(e.stage, e.dimension) for e in result] == [(s, d) for s in STAGES for d in DIMENSIONS]
    assert len(COHORT) == 187


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_hand_checked_cohort(key: tuple[str, str]) -> None:
    base, (not_reported, declined), reference, groups = EXPECTED[key]
    entry = by_key(adverse_impact(COHORT))[key]
    assert entry == StageDimension(
        stage=key[0],
        dimension=key[1],
        base=base,
        missing={"not_reported": not_reported, "declined": declined},
        reference_group=reference,
        groups=[GroupRate(*row) for row in groups],
    )
    # Every record in the base is either in a group or counted as missing.
    assert sum(g.applicants for g in entry.groups) + sum(entry.missing.values()) == entry.base


def test_conditional_bases() -> None:
    # 10 people, 4 passed, 2 of them offered, 1 hired; all the same group.
    records = block(10, "female", "Asian", 4, 2, 1)
    entries = by_key(adverse_impact(records, min_group=1))
    expected = {  # stage: (base, selected, rate)
        "interview_passed": (10, 4, 0.4),
        "offer": (4, 2, 0.5),  # over the 4 who passed, not over all 10
        "hire": (2, 1, 0.5),  # over the 2 offered
        "overall": (10, 1, 0.1),  # bottom line: over everyone
    }
    for stage, (base, selected, rate) in expected.items():
        for dimension in DIMENSIONS:
            entry = entries[stage, dimension]
            assert entry.base == base
            assert [(g.applicants, g.selected, g.rate) for g in entry.groups] == [
                (base, selected, rate)
            ]


def test_group_with_nobody_at_a_stage_is_omitted() -> None:
    records = block(6, "male", "White", 3, 1, 1) + block(6, "female", "White", 0, 0, 0)
    entries = by_key(adverse_impact(records))
    assert [g.group for g in entries["interview_passed", SEX].groups] == ["female", "male"]
    assert [g.group for g in entries["offer", SEX].groups] == ["male"]  # no woman passed
    assert entries["offer", SEX].base == 3


def test_inconsistent_funnel_is_rejected() -> None:
    bad = {"sex": "male", "race_ethnicity": "White", "passed": False, "offered": True}
    with pytest.raises(ValueError, match="record 1: offered without a passed interview"):
        adverse_impact([COHORT[0], {**bad, "hired": False}])
    with pytest.raises(ValueError, match="hired without an offer"):
        adverse_impact([{**bad, "passed": True, "offered": False, "hired": True}])
    with pytest.raises(ValueError, match="'hired' must be a bool"):
        adverse_impact([{**bad, "passed": True}])  # missing key
    with pytest.raises(ValueError, match="'passed' must be a bool"):
        adverse_impact([{**bad, "passed": "yes", "hired": False}])


def test_database_integers_are_accepted() -> None:
    ints = [{"sex": "male", "race_ethnicity": "White", "passed": 1, "offered": 1, "hired": 0}]
    bools = [{"sex": "male", "race_ethnicity": "White", "passed": True, "offered": True}]
    assert adverse_impact(ints) == adverse_impact([{**bools[0], "hired": False}])


def test_missing_values_normalised() -> None:
    records: list[dict[str, Any]] = [
        {"sex": None, "race_ethnicity": "DECLINED"},
        {"sex": "", "race_ethnicity": " Declined "},
        {"sex": "   ", "race_ethnicity": "declined"},
        {"race_ethnicity": "White"},  # key absent: not reported
        {"sex": "declined", "race_ethnicity": None},
        {"sex": " female ", "race_ethnicity": " White "},  # surrounding spaces trimmed
    ]
    for record in records:
        record.update(passed=False, offered=False, hired=False)
    entries = by_key(adverse_impact(records))
    assert entries["overall", SEX].missing == {"not_reported": 4, "declined": 1}
    assert entries["overall", RACE].missing == {"not_reported": 1, "declined": 3}
    # Intersection: a decline of either part counts as declined (4), the rest not reported.
    assert entries["overall", BOTH].missing == {"not_reported": 1, "declined": 4}
    assert [g.group for g in entries["overall", BOTH].groups] == ["female × White"]


def test_small_group_is_not_the_reference() -> None:
    records = (
        block(2, "nonbinary", "White", 2, 2, 2)  # 2/2 = 1.0, but only 2 applicants
        + block(10, "male", "White", 6, 3, 3)  # 0.6
        + block(10, "female", "White", 4, 2, 2)  # 0.4
    )
    entry = by_key(adverse_impact(records))["interview_passed", SEX]
    assert entry.reference_group == "male"
    assert entry.groups == [
        GroupRate("female", 10, 4, 0.4, 0.6667, True, False),  # 0.4/0.6
        GroupRate("male", 10, 6, 0.6, 1.0, False, False),
        GroupRate("nonbinary", 2, 2, 1.0, 1.6667, False, True),  # 1.0/0.6, small sample
    ]


def test_all_groups_small_falls_back_to_all_groups() -> None:
    records = block(2, "male", "White", 2, 0, 0) + block(3, "female", "White", 1, 0, 0)
    entry = by_key(adverse_impact(records))["interview_passed", SEX]
    assert entry.reference_group == "male"
    assert entry.groups == [
        GroupRate("female", 3, 1, 0.3333, 0.3333, True, True),  # flag kept, marked small
        GroupRate("male", 2, 2, 1.0, 1.0, False, True),
    ]


def test_zero_reference_rate_gives_no_ratios() -> None:
    records = block(10, "male", "White", 5, 0, 0) + block(8, "female", "Black", 4, 0, 0)
    entries = by_key(adverse_impact(records))
    for dimension in DIMENSIONS:
        entry = entries["overall", dimension]  # nobody hired
        assert entry.reference_group is not None
        assert [(g.rate, g.impact_ratio, g.four_fifths_flag) for g in entry.groups] == [
            (0.0, None, False),
            (0.0, None, False),
        ]
    csv_text = as_csv(adverse_impact(records))
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    hired_rows = [r for r in rows if r["stage"] == "overall" and not r["group"].startswith("(")]
    assert {(r["selection_rate"], r["impact_ratio"]) for r in hired_rows} == {("0.0000", "")}


def test_empty_input() -> None:
    result = adverse_impact([])
    assert len(result) == len(STAGES) * len(DIMENSIONS)
    for entry in result:
        assert entry.base == 0
        assert entry.groups == []
        assert entry.reference_group is None
        assert entry.missing == {"not_reported": 0, "declined": 0}
    json.dumps(as_json(result))
    rows = list(csv.DictReader(io.StringIO(as_csv(result))))
    assert len(rows) == 2 * len(result)  # only the missing-data rows
    assert as_json([])["stages"] == []


def test_threshold_and_min_group_parameters() -> None:
    offer_sex = by_key(adverse_impact(COHORT, threshold=0.9))["offer", SEX]
    assert offer_sex.groups[0].four_fifths_flag is True  # 0.8 < 0.9
    # min_group above every group at the hire stage: reference falls back to the top rate.
    hire_both = by_key(adverse_impact(COHORT, min_group=100))["hire", BOTH]
    assert hire_both.reference_group == "female × Black"
    assert all(g.small_sample for g in hire_both.groups)
    with pytest.raises(ValueError, match="threshold"):
        adverse_impact([], threshold=0)
    with pytest.raises(ValueError, match="threshold"):
        adverse_impact([], threshold=float("nan"))
    with pytest.raises(ValueError, match="min_group"):
        adverse_impact([], min_group=0)


def read_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_csv_round_trip() -> None:
    result = adverse_impact(COHORT)
    text = as_csv(result)
    assert not text.startswith("#")
    assert SYNTHETIC_LABEL not in text
    rows = read_csv(text)
    group_rows = sum(len(e.groups) for e in result)
    assert len(rows) == group_rows + 2 * len(result)

    first = rows[0]  # interview_passed, sex, female
    assert first == {
        "stage": "interview_passed",
        "dimension": "sex",
        "group": "female",
        "applicants": "80",
        "selected": "30",
        "selection_rate": "0.3750",
        "impact_ratio": "0.6250",
        "four_fifths_flag": "yes",
        "small_sample": "no",
        "reference_group": "male",
    }
    # After each stage × dimension's groups come its two missing-data rows.
    not_reported = {"stage": "interview_passed", "dimension": "sex", "group": "(not reported)"}
    assert rows[2] == {**dict.fromkeys(COLUMNS, ""), **not_reported, "applicants": "5"}
    assert rows[3]["group"] == "(declined)"
    assert rows[3]["applicants"] == "2"

    small = next(
        r for r in rows if r["stage"] == "hire" and r["group"] == "female × Black"
    )  # the "×" survives the round trip
    assert (small["impact_ratio"], small["four_fifths_flag"], small["small_sample"]) == (
        "1.1429",
        "no",
        "yes",
    )
    # Every group row matches the result it came from.
    expected_rows = [
        (e.stage, e.dimension, g.group, str(g.applicants), str(g.selected))
        for e in result
        for g in e.groups
    ]
    got_rows = [
        (r["stage"], r["dimension"], r["group"], r["applicants"], r["selected"])
        for r in rows
        if not r["group"].startswith("(")
    ]
    assert got_rows == expected_rows


def test_csv_quotes_awkward_labels() -> None:
    records = block(5, 'x, "y"', "White", 1, 0, 0)
    rows = read_csv(as_csv(adverse_impact(records)))
    assert rows[0]["group"] == 'x, "y"'


def test_csv_synthetic_comment_line() -> None:
    result = adverse_impact(COHORT)
    text = as_csv(result, synthetic=True)
    first, rest = text.split("\r\n", 1)
    assert first == "# SYNTHETIC DATA — generated, not real people"
    assert text.count("SYNTHETIC") == 1
    assert read_csv(rest) == read_csv(as_csv(result))


def test_json() -> None:
    result = adverse_impact(COHORT)
    report = as_json(result, meta={"cohort": "test", "generated_at": "2025-01-01"})
    json.loads(json.dumps(report))
    assert report["synthetic"] is False
    assert "label" not in report
    assert (report["threshold"], report["min_group"]) == (0.8, 5)
    assert "four-fifths" in report["method"]
    assert "offer: those who passed" in report["method"]
    assert (report["cohort"], report["generated_at"]) == ("test", "2025-01-01")
    assert len(report["stages"]) == 12
    hire_both = report["stages"][8]
    assert (hire_both["stage"], hire_both["dimension"]) == ("hire", BOTH)
    assert hire_both["missing"] == {"not_reported": 2, "declined": 1}
    assert hire_both["reference_group"] == "female × White"
    assert hire_both["groups"][0] == {
        "group": "female × Black",
        "applicants": 3,
        "selected": 3,
        "rate": 1.0,
        "impact_ratio": 1.1429,
        "four_fifths_flag": False,
        "small_sample": True,
    }


def test_json_synthetic_label_and_parameters() -> None:
    report = as_json(adverse_impact(COHORT, threshold=0.75, min_group=10), synthetic=True)
    assert report["synthetic"] is True
    assert report["label"] == "SYNTHETIC DATA — generated, not real people"
    assert (report["threshold"], report["min_group"]) == (0.75, 10)
    assert "below 0.75" in report["method"]
    assert "at least 10 applicants" in report["method"]
    json.dumps(report)


def test_json_meta_cannot_override_report_keys() -> None:
    with pytest.raises(ValueError, match="synthetic"):
        as_json(adverse_impact(COHORT), synthetic=True, meta={"synthetic": False})


def test_json_rejects_mixed_parameters() -> None:
    mixed = adverse_impact(COHORT)[:1] + adverse_impact(COHORT, threshold=0.9)[1:]
    with pytest.raises(ValueError, match="different threshold"):
        as_json(mixed)


def random_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    sexes = ["female", "male", "nonbinary", None, "", "declined"]
    races = ["Asian", "Black", "Hispanic or Latino", "White", "Two or more", None, "Declined"]
    records = []
    for _ in range(n):
        passed = rng.random() < 0.5
        offered = passed and rng.random() < 0.4
        hired = offered and rng.random() < 0.8
        records.append(
            {
                "sex": rng.choice(sexes),
                "race_ethnicity": rng.choice(races),
                "passed": passed,
                "offered": offered,
                "hired": hired,
            }
        )
    return records


def test_random_records_invariants() -> None:
    # Speed is measured by bench/analytics.py, not asserted here.
    records = random_records(10_000)
    result = adverse_impact(records)
    stage_sizes = {
        "interview_passed": len(records),
        "offer": sum(r["passed"] for r in records),
        "hire": sum(r["offered"] for r in records),
        "overall": len(records),
    }
    for entry in result:
        assert entry.base == stage_sizes[entry.stage]
        assert sum(g.applicants for g in entry.groups) + sum(entry.missing.values()) == entry.base
        assert [g.group for g in entry.groups] == sorted(g.group for g in entry.groups)
        ratios = [g.impact_ratio for g in entry.groups if g.group == entry.reference_group]
        assert ratios == [1.0]

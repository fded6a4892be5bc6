"""Analytics over a synthetic cohort: planted correlations recovered within their intervals,
planted adverse impact found, synthetic data labelled and kept apart from real data."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from analytics import SYNTHETIC_LABEL, adverse_impact, queries, synthetic
from hr_bridge import employees, hiring
from hr_bridge import interviews as db
from hr_bridge.db import make_engine, migrate
from hr_bridge.models import WorkflowConflict
from tests.hr_fixtures import finished_interview


@pytest.fixture(scope="module")
def cohort(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Engine, synthetic.Summary]]:
    """10,000 synthetic candidates (one SQLite file for the module) and one real interview."""
    path: Path = tmp_path_factory.mktemp("cohort") / "hs.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    finished_interview(engine)  # real data, which synthetic analytics must leave out
    summary = synthetic.generate(engine, 10_000, seed=11, impact={"female": 0.6})
    yield engine, summary
    engine.dispose()


def test_planted_correlations_are_recovered_within_their_intervals(
    cohort: tuple[Engine, synthetic.Summary],
) -> None:
    engine, summary = cohort
    out = queries.validity(engine, "synthetic")
    assert out["synthetic"] is True and out["label"] == SYNTHETIC_LABEL
    families = {f["family"]: f for f in out["families"]}
    assert set(families) == set(synthetic.FAMILIES)
    checked = 0
    for family, planted in summary.planted.items():
        rows = {r["competency"]: r for r in families[family]["competencies"]}
        for competency in synthetic.COMPETENCIES:
            row = rows[competency]
            rho = planted.get(competency, 0.0)
            lo, hi = row["pearson_ci"]
            assert lo <= rho <= hi, (family, competency, rho, row)
            assert row["n"] == families[family]["employees"] > 200 and not row["small_n"]
            if rho >= 0.25:  # strong enough to be seen at these sizes
                assert row["pearson_p"] < 1e-3 and row["spearman"] > 0.1
            checked += 1
    assert checked == 15


def test_planted_adverse_impact_is_flagged_and_missing_data_counted(
    cohort: tuple[Engine, synthetic.Summary],
) -> None:
    engine, summary = cohort
    result, meta = queries.impact(engine, "synthetic")
    assert meta["synthetic"] is True and meta["applications"] == summary.candidates
    passed_sex = next(
        sd for sd in result if sd.stage == "interview_passed" and sd.dimension == "sex"
    )
    rates = {g.group: g for g in passed_sex.groups}
    # Women passed at 60% of the rate they would have: an impact ratio near 0.6, flagged.
    assert rates["female"].impact_ratio == pytest.approx(0.6, abs=0.06)
    assert rates["female"].four_fifths_flag and not rates["male"].four_fifths_flag
    total_missing = sum(passed_sex.missing.values())
    assert 0 < total_missing < 0.15 * summary.candidates
    assert passed_sex.base == summary.candidates
    assert sum(g.applicants for g in passed_sex.groups) + total_missing == passed_sex.base
    hire = next(sd for sd in result if sd.stage == "hire" and sd.dimension == "sex")
    assert hire.base == summary.offered
    text = adverse_impact.as_csv(result, synthetic=True)
    assert text.startswith("# SYNTHETIC DATA")


def test_real_data_is_analysed_apart_from_synthetic(
    cohort: tuple[Engine, synthetic.Summary],
) -> None:
    engine, _ = cohort
    records, synthetic_in, pending = queries.impact_records(engine, "real")
    assert records == [] and pending == 1 and synthetic_in is False  # not decided yet
    assert queries.validity(engine, "real")["families"] == []
    everything, synthetic_in, pending = queries.impact_records(engine, "all")
    assert len(everything) == 10_000 and pending == 1 and synthetic_in is True
    assert len(db.list_interviews(engine)) == 1  # HR lists hide generated people by default
    assert len(db.list_interviews(engine, 50, synthetic=True)) == 50


def test_synthetic_people_take_no_workflow_actions(
    cohort: tuple[Engine, synthetic.Summary],
) -> None:
    """Generated people never reach an HR system: every workflow write on them is refused."""
    engine, _ = cohort
    (iv,) = db.list_interviews(engine, 1, synthetic=True)
    with pytest.raises(hiring.HiringConflict, match="synthetic"):
        hiring.record_decision(engine, iv.id, "offer", "demo", "Dana Lee", None)
    staff, total = employees.list_employees(engine, 1, synthetic=True)
    assert total > 0
    with pytest.raises(WorkflowConflict, match="synthetic"):
        employees.add_training(engine, staff[0].id or 0, "Any course", "enrolled")


def test_plots_are_labelled_synthetic(cohort: tuple[Engine, synthetic.Summary]) -> None:
    engine, _ = cohort
    svg = queries.validity_plot(engine, "sales", "communication", "synthetic")
    assert svg.startswith("<svg") and "SYNTHETIC DATA" in svg and len(svg) < 100_000


def test_small_families_are_flagged(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'small.db'}")
    migrate(engine)
    synthetic.generate(engine, 120, seed=2)
    out = queries.validity(engine, "synthetic")
    for family in out["families"]:
        assert family["employees"] < 30
        for row in family["competencies"]:
            assert row["small_n"] and "too few" in row["note"]
    assert synthetic.purge(engine) == 120
    assert queries.impact_records(engine, "all")[0] == []
    engine.dispose()


def test_postgres_runs_the_same_queries(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    summary = synthetic.generate(engine, 1500, seed=5)
    out = queries.validity(engine, "synthetic", resamples=500)
    assert sum(f["employees"] for f in out["families"]) == summary.hired
    assert all(math.isfinite(r["pearson"]) for f in out["families"] for r in f["competencies"])
    records, syn, _pending = queries.impact_records(engine, "synthetic", family="sales")
    assert syn and len(records) == summary.families["sales"]
    assert synthetic.purge(engine) == 1500
    engine.dispose()


def test_cli_writes_and_purges_a_labelled_cohort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli.main import main

    monkeypatch.setenv("HIRESTREAM_DATA_DIR", str(tmp_path / "data"))
    assert main(["synthetic-cohort", "--candidates", "300", "--plant-impact", "female=0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(SYNTHETIC_LABEL) and "300 candidates" in out and "female" in out
    assert main(["synthetic-cohort", "--plant-impact", "female"]) == 2
    assert "GROUP=FACTOR" in capsys.readouterr().err
    assert main(["synthetic-cohort", "--purge"]) == 0
    assert "removed 300 synthetic interviews" in capsys.readouterr().out

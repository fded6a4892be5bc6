"""Analytics at scale: generate a synthetic cohort (labelled synthetic) and time the
predictive-validity and adverse-impact analytics and the plots over it.

    python -m bench.analytics [--candidates 10000] [--runs 3] [--database-url URL] [--out F]

Uses a throwaway SQLite file unless --database-url names another database (the synthetic
rows are purged afterwards). Prints medians over --runs and writes bench/results/analytics.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analytics import SYNTHETIC_LABEL, adverse_impact, queries, synthetic
from bench.common import write_json
from hr_bridge.db import make_engine, migrate


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrate(engine)
        t0 = time.perf_counter()
        cohort = synthetic.generate(engine, args.candidates, impact={"female": 0.7})
        generate_s = round(time.perf_counter() - t0, 2)
        try:
            validity_s, validity = _timed(lambda: queries.validity(engine, "synthetic"), args.runs)
            impact_s, (impact, _meta) = _timed(
                lambda: queries.impact(engine, "synthetic"), args.runs
            )
            export_s, _ = _timed(
                lambda: (
                    adverse_impact.as_csv(impact, synthetic=True),
                    adverse_impact.as_json(impact, synthetic=True),
                ),
                args.runs,
            )
            fam = validity["families"][0]
            plot_s, svg = _timed(
                lambda: queries.validity_plot(
                    engine, fam["family"], fam["competencies"][0]["competency"], "synthetic"
                ),
                args.runs,
            )
        finally:
            synthetic.purge(engine)
            engine.dispose()
    rows = [
        (f["family"], c["competency"], c["n"], c["pearson"], c["pearson_ci"])
        for f in validity["families"]
        for c in f["competencies"]
    ]
    flagged = sum(g.four_fifths_flag for sd in impact for g in sd.groups)
    result = {
        "label": SYNTHETIC_LABEL,
        "database": url.split(":")[0],
        "candidates": args.candidates,
        "hired": cohort.hired,
        "generate_s": generate_s,
        "validity_s_median": validity_s,
        "adverse_impact_s_median": impact_s,
        "export_s_median": export_s,
        "plot_s_median": plot_s,
        "plot_bytes": len(svg),
        "four_fifths_flags": flagged,
        "validity": rows,
    }
    print(SYNTHETIC_LABEL)
    print(
        f"{args.candidates} candidates ({cohort.hired} hired), {url.split(':')[0]}: "
        f"generate {generate_s} s; validity {validity_s} s (all families and competencies, "
        f"2000 bootstrap resamples each); adverse impact {impact_s} s; CSV+JSON export "
        f"{export_s} s; one plot {plot_s} s ({len(svg)} bytes); medians of {args.runs}"
    )
    for family, competency, n, r, ci in rows:
        print(f"  {family:12s} {competency:18s} n={n:5d} r={r} CI={ci}")
    print("wrote", write_json("analytics", result, args.out))


if __name__ == "__main__":
    main()

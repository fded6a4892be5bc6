"""The `hirestream` command: serve, doctor, migrate, imports, synthetic cohort, demo, analyze,
users.

Each subcommand imports what it needs when it runs (a function-level import, not a cycle):
`hirestream --help` and `migrate` then start in a fraction of a second instead of loading
aiortc, the model runtimes and the analytics."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import uvloop

from server import __version__
from server.errors import HirestreamError
from server.logging_setup import configure_logging
from server.settings import Settings, load_settings

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hirestream",
        description="Real-time AI video-interview engine. Settings come from HIRESTREAM_* "
        "environment variables and an optional TOML file (--config or HIRESTREAM_CONFIG).",
    )
    p.add_argument("--version", action="version", version=f"hirestream {__version__}")
    p.add_argument("--config", type=Path, help="TOML settings file")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="start the web server (embedded Redis unless configured)")
    s.add_argument("--host", help="override HIRESTREAM_HOST")
    s.add_argument("--port", type=int, help="override HIRESTREAM_PORT (0: any free port)")

    d = sub.add_parser("doctor", help="check models, Redis, database, codecs and Chromium")
    from server.cli.doctor import SECTIONS

    d.add_argument(
        "--skip", action="append", choices=SECTIONS, default=[], help="leave a section out"
    )

    sub.add_parser("migrate", help="bring the database schema to the newest migration")

    ir = sub.add_parser("import-requisition", help="store a requisition and rubric from YAML/JSON")
    ir.add_argument(
        "path", type=Path, help="title, language, competencies, questions, requirements"
    )

    ic = sub.add_parser("import-candidates", help="add or update candidates from JSON or CSV")
    ic.add_argument("path", type=Path, help="a .json list or a .csv file (see README)")

    sc = sub.add_parser(
        "synthetic-cohort",
        help="write a generated cohort (labelled synthetic) to demonstrate the analytics",
    )
    sc.add_argument("--candidates", type=int, default=10_000, help="interviewed applicants")
    sc.add_argument("--seed", type=int, default=7)
    sc.add_argument(
        "--plant-impact",
        action="append",
        default=[],
        metavar="GROUP=FACTOR",
        help="lower a group's chance to pass the interview, e.g. female=0.7 (repeatable)",
    )
    sc.add_argument("--purge", action="store_true", help="delete all synthetic data instead")

    dm = sub.add_parser("demo", help="create a sample requisition and interview; print the links")
    dm.add_argument("--json", action="store_true", help="print JSON for scripts")
    dm.add_argument("--language", default="en", choices=["en", "zh"])
    dm.add_argument("--affect", action="store_true", help="allow facial-expression analysis")

    us = sub.add_parser("users", help="add, list, disable, enable or reset staff accounts")
    ua = us.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    uadd = ua.add_parser("add", help="create an account; prints its set-password link")
    uadd.add_argument("email")
    uadd.add_argument("--name", required=True, help="the person's name as others see it")
    uadd.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help="hr_admin, recruiter, auditor, hiring_manager:requisition=<id>, "
        "interviewer:interview=<id> or interviewer:requisition=<id> (repeatable)",
    )
    ua.add_parser("list", help="every account with its roles and state")
    ua.add_parser("disable", help="stop an account (ends its sessions)").add_argument("email")
    ua.add_parser("enable", help="let a disabled account sign in again").add_argument("email")
    ureset = ua.add_parser("reset", help="end sessions, clear a lockout, print a set-password link")
    ureset.add_argument("email")
    ureset.add_argument("--totp", action="store_true", help="also remove the second factor")

    a = sub.add_parser(
        "analyze", help="run the live audio pipeline over a recorded file (wav, mp3, mp4, webm...)"
    )
    a.add_argument("path", type=Path, help="audio or video file")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a.add_argument("--out", type=Path, help="also write the JSON result to this file")
    a.add_argument("--language", default="en", choices=["en", "zh"], help="interview language")
    a.add_argument("--context", help="text that primes recognition, e.g. the question asked")
    a.add_argument(
        "--requisition",
        type=Path,
        help="score the file against this requisition or rubric (YAML/JSON) and print the "
        "report a live interview would get",
    )
    a.add_argument(
        "--answers",
        type=Path,
        help="with --requisition: JSON list of the questions' start times in seconds, or of "
        "{index, start} objects (default: the whole file answers question 1)",
    )
    a.add_argument("--no-video", action="store_true", help="skip the face analysis of video")
    a.add_argument(
        "--affect",
        action="store_true",
        help="also classify facial expressions (only where the interview's policy allows it)",
    )
    return p


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    return load_settings(args.config, **overrides)


def _doctor(settings: Settings, skip: list[str]) -> int:
    from server.cli.doctor import format_table, run_doctor

    rows = run_doctor(settings, set(skip))
    print(format_table(rows))
    failed = [r for r in rows if r.status == "FAIL"]
    if failed:
        print(
            f"\n{len(failed)} problem(s): "
            + "; ".join(f"{r.component}: {r.detail}" for r in failed)
        )
        return 1
    print("\nall checks passed")
    return 0


def _import_candidates(settings: Settings, path: Path) -> int:
    from hr_bridge.profiles import parse_candidates, upsert_candidates
    from server.resources import open_database

    try:
        rows = parse_candidates(path)
    except (OSError, ValueError) as err:
        raise ImportFailed(str(err)) from None
    engine = open_database(settings)
    try:
        new, updated = upsert_candidates(engine, rows)
    finally:
        engine.dispose()
    print(f"{path}: {new} new, {updated} updated candidate(s)")
    return 0


def _import_requisition(settings: Settings, path: Path) -> int:
    """Validated exactly as the API validates POST /api/requisitions."""
    from pydantic import ValidationError

    from hr_bridge import interviews as db
    from pipeline.scoring.rubric import read_mapping, rubric_from_dict
    from server.resources import open_database
    from server.web.schemas import RequisitionIn

    try:
        data = read_mapping(path)
        rubric = rubric_from_dict(data)  # checks the rubric part and gives its version
        body = RequisitionIn.model_validate(data)
    except (OSError, ValueError, ValidationError) as err:
        first = str(err).strip().splitlines()[0]
        raise ImportFailed(f"{path}: {first}") from None
    engine = open_database(settings)
    try:
        req = db.create_requisition(engine, **body.fields())
    finally:
        engine.dispose()
    print(f"requisition {req.id}: {req.title} (rubric {rubric.version})")
    return 0


def _synthetic_cohort(settings: Settings, args: argparse.Namespace) -> int:
    from analytics import synthetic
    from server.resources import open_database

    impact: dict[str, float] = {}
    for item in args.plant_impact:
        group, _, factor = item.rpartition("=")
        try:
            impact[group] = float(factor)
        except ValueError:
            raise ImportFailed(
                f"--plant-impact {item!r}: use GROUP=FACTOR, e.g. female=0.7"
            ) from None
        if not group or not 0 <= impact[group] <= 1:
            raise ImportFailed(f"--plant-impact {item!r}: a group and a factor in [0, 1]")
    if not args.purge and not 1 <= args.candidates <= 200_000:
        raise ImportFailed("--candidates: between 1 and 200000")
    engine = open_database(settings, run_migrations=True)
    try:
        if args.purge:
            print(f"removed {synthetic.purge(engine)} synthetic interviews and their records")
            return 0
        summary = synthetic.generate(
            engine,
            args.candidates,
            args.seed,
            impact,
            progress=lambda step: print(f"  writing {step}...", file=sys.stderr),
        )
    finally:
        engine.dispose()
    print(
        f"{summary.label}\n{summary.candidates} candidates "
        f"({', '.join(f'{k} {v}' for k, v in summary.families.items())}): "
        f"{summary.passed} passed the interview, {summary.offered} offered, "
        f"{summary.hired} hired, in {summary.seconds} s.\n"
        "Planted correlations with later performance: "
        + "; ".join(
            f"{fam}: " + ", ".join(f"{c} {r}" for c, r in planted.items())
            for fam, planted in summary.planted.items()
        )
        + (f"\nPlanted impact at the interview stage: {impact}" if impact else "")
        + "\nSee /hr/analytics (data: synthetic). Remove with --purge."
    )
    return 0


class ImportFailed(HirestreamError):
    """The file to import cannot be read or is invalid; nothing was imported."""


def _migrate(settings: Settings) -> int:
    from hr_bridge.db import migration_status, redact
    from server.resources import open_database

    engine = open_database(settings, run_migrations=True)
    status = migration_status(engine)
    print(f"database {redact(str(engine.url))}: schema at revision {status.current}")
    engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        # The doctor's table is its output; routine log lines would only clutter it.
        quiet = (
            args.command in ("doctor", "analyze", "demo", "users") and settings.log_level == "INFO"
        )
        configure_logging("WARNING" if quiet else settings.log_level)
        if args.command == "serve":
            from server.cli.serve import serve

            # uvloop, not asyncio's own loop: that one reads one UDP datagram per socket per
            # loop turn, so under load (8 live interviews on 2 cores, bench.live) the
            # candidates' packets overflowed the socket buffer (12% lost, audio holes) and
            # ICE consent checks timed out and closed connections; uvloop drains the socket
            # per wake-up (same run: 0 lost, no interview interrupted).
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(serve(settings))
            return 0
        if args.command == "doctor":
            return _doctor(settings, args.skip)
        if args.command == "import-requisition":
            return _import_requisition(settings, args.path)
        if args.command == "import-candidates":
            return _import_candidates(settings, args.path)
        if args.command == "synthetic-cohort":
            return _synthetic_cohort(settings, args)
        if args.command == "demo":
            from server.cli.demo import run_demo

            return run_demo(settings, args.language, args.json, args.affect)
        if args.command == "users":
            from server.cli.users import run_users

            return run_users(settings, args)
        if args.command == "analyze":
            from server.cli.analyze import run_analyze

            return run_analyze(settings, args)
        return _migrate(settings)
    except HirestreamError as err:
        print(f"hirestream: error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C before the server installed its own handler
        return 130


if __name__ == "__main__":
    sys.exit(main())

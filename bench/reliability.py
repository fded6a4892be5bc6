"""Reliability under faults and bad input, against real `hirestream serve` processes.

    python -m bench.reliability [--quick] [--only SCENARIO ...] [--soak-s N] [--out PATH]
                                [--pg URL] [--redis-url URL] [--seed S]

Each scenario starts its own server on 127.0.0.1 (free port, private temp data dir, embedded
Redis and SQLite unless --pg/--redis-url), drives it over loopback only, and stops by itself:

  sdp        N malformed or unanswerable SDP offers (default 1,000; --quick 100) to /offer with
             valid candidate tokens of consented interviews, N/10 to /watch of a live one:
             share of 4xx, 5xx, offers answered, invites spent (a good offer afterwards
             gets 410), server RSS growth
  ws-flood   one candidate token opens N /live WebSockets (default 200) while another
             interview's interviewer follows a real live interview: does it keep receiving,
             /readyz during and after, close codes
  redis-kill kill -9 the embedded redis-server during K live interviews (default 2), finish
             them: reports / interviews finished, seconds until /readyz is 200 again
  server-kill kill -9 the server during K live interviews, restart on the same data dir:
             interviews left `live`, their state, reports
  webhooks   a receiver failing half of the POSTs with 500; HR events (decisions) and
             reports; one server kill -9 and restart mid-way: delivered / emitted (unique
             webhook-id), duplicates, time to drain
  soak       interviews at 75% of max_live_interviews for --soak-s s (default 600; --quick
             60): RSS growth, event-loop lag p99 (GET /healthz round trips every 100 ms from
             a separate process), 5xx

Live interviews are real aiortc candidates (bench.rtc_client: synthesized speech, a moving
face). Prints one line per scenario and writes bench/results/reliability-<UTC time>.json and
bench/results/reliability-latest.json (or --out PATH). Every process it starts is killed on
exit, Ctrl-C and errors included.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.asr_latency import TEXTS
from bench.common import RESULTS
from bench.reliability_faults import redis_kill, server_kill, webhooks
from bench.reliability_input import sdp, ws_flood
from bench.reliability_proc import Context, ProcRegistry
from bench.reliability_result import Result
from bench.reliability_soak import soak
from bench.speech import conversation

SCENARIOS = ("sdp", "ws-flood", "redis-kill", "server-kill", "webhooks", "soak")
ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "/usr/bin/git"


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        [GIT, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        [GIT, "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or None,
        "tree_modified": bool(dirty),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def runners(args: argparse.Namespace) -> dict[str, Callable[[Context, Result], Awaitable[None]]]:
    n_sdp = args.sdp_offers or (100 if args.quick else 1000)
    n_ws = args.ws_sockets or 200
    n_events = 20 if args.quick else 60
    soak_s = args.soak_s or (60.0 if args.quick else 600.0)
    return {
        "sdp": lambda c, r: sdp(c, r, n_sdp),
        "ws-flood": lambda c, r: ws_flood(c, r, n_ws),
        "redis-kill": lambda c, r: redis_kill(c, r, args.interviews),
        "server-kill": lambda c, r: server_kill(c, r, args.interviews),
        "webhooks": lambda c, r: webhooks(c, r, args.interviews, n_events),
        "soak": lambda c, r: soak(c, r, soak_s),
    }


async def run(ctx: Context, names: list[str], args: argparse.Namespace) -> list[Result]:
    table = runners(args)
    out = []
    for name in names:
        res = Result(name)
        t0 = time.monotonic()
        try:
            await table[name](ctx, res)
        except Exception as err:  # one scenario failing must not hide the others' figures
            res.error = f"{type(err).__name__}: {err}"
            res.details["traceback"] = traceback.format_exc(limit=6)
        finally:
            ctx.registry.kill_all()  # whatever the scenario left running
        res.seconds = time.monotonic() - t0
        print(res.line(), flush=True)
        out.append(res)
    return out


def _interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def write(payload: dict[str, Any], out: Path | None) -> list[Path]:
    text = json.dumps(payload, indent=2, default=str) + "\n"
    if out is not None:
        paths = [out]
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        paths = [RESULTS / f"reliability-{stamp}.json", RESULTS / "reliability-latest.json"]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.reliability", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--quick", action="store_true", help="fewer offers, a 60 s soak")
    ap.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="SCENARIO",
                    help=f"run only these: {', '.join(SCENARIOS)}")  # fmt: skip
    ap.add_argument("--soak-s", type=float, help="soak length in seconds (600; --quick 60)")
    ap.add_argument("--out", type=Path, help="write the JSON here instead of bench/results/")
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL URL for the servers' database")
    ap.add_argument("--redis-url", metavar="URL", help="external Redis (redis-kill is skipped)")
    ap.add_argument("--seed", type=int, default=1, help="seeds mutations and the flaky receiver")
    ap.add_argument("--interviews", type=int, default=2, help="live interviews in the faults")
    ap.add_argument("--sdp-offers", type=int, help="bad offers (1000; --quick 100)")
    ap.add_argument("--ws-sockets", type=int, help="flood WebSockets (200)")
    ap.add_argument("--utterances", type=int, default=3, help="answers each candidate speaks")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [s for s in SCENARIOS if not args.only or s in args.only]
    registry = ProcRegistry()
    atexit.register(registry.kill_all)
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C stops the run even when started from a shell or CI job that ignores SIGINT in
    # its background children (Python then leaves it ignored and asyncio.run never sees it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hs-rel-") as tmp:
        root = Path(tmp)
        pcm, _ = conversation(TEXTS[: args.utterances], root, [1.6])
        ctx = Context(registry, root, args.quick, args.seed, pcm, args.pg, args.redis_url)
        try:
            results = asyncio.run(run(ctx, names, args))
        except KeyboardInterrupt:
            print("interrupted: every server and probe stopped", file=sys.stderr)
            return 130
        finally:
            registry.kill_all()
    payload = {
        "bench": "reliability",
        "machine": machine(),
        "options": {
            "quick": args.quick,
            "scenarios": names,
            "database": "postgresql (--pg)" if args.pg else "sqlite",
            "redis": "external (--redis-url)" if args.redis_url else "embedded",
            "seed": args.seed,
            "interviews": args.interviews,
            "utterances": args.utterances,
            "speech_s": round(ctx.speech_s, 1),
        },
        "seconds": round(time.monotonic() - started, 1),
        "results": [r.as_dict() for r in results],
    }
    for path in write(payload, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

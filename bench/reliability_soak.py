"""`soak`: interviews at 75% of max_live_interviews for a while, a new one as each ends.

Event-loop lag is measured from outside: a separate process times GET /healthz every 100 ms
(bench.reliability_probe); the handler does no I/O, so its round trip is the wait for the
server's loop plus well under a millisecond of loopback HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import aiohttp

from bench.reliability_client import Api, Candidate
from bench.reliability_proc import Context, start_probe
from bench.reliability_result import Result, percentile

MAX_LIVE = 4  # the product's default for max_live_interviews
LAG_TARGET_MS = 100.0


async def soak(ctx: Context, res: Result, seconds: float) -> None:
    live_target = max(1, (MAX_LIVE * 3) // 4)
    server = ctx.server("soak", max_live=MAX_LIVE)
    await server.astart()
    probe_out = ctx.root / "soak-probe.json"
    rss: list[tuple[float, float]] = []
    finished: list[str] = []
    offers: Counter[str] = Counter()
    finishes: Counter[str] = Counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        api = Api(http, server.base, server.admin_key())
        rid = await api.requisition("soak")
        probe = start_probe(ctx.registry, server.base, seconds, probe_out)
        t0 = time.monotonic()
        end = t0 + seconds
        length = ctx.speech_s + 2.0

        async def slot() -> None:
            while time.monotonic() < end:
                cand = Candidate(api, await api.schedule(rid), ctx.pcm)
                started = await cand.start()
                offers[str(cand.status)] += 1
                if not started:
                    await asyncio.sleep(1)
                    continue
                await asyncio.sleep(max(0.0, min(length, end - time.monotonic())))
                finishes[str(await cand.finish())] += 1
                finished.append(cand.iv.id)

        async def sample() -> None:
            while True:
                if (mb := server.rss_mb()) is not None:
                    rss.append((time.monotonic() - t0, mb))
                await asyncio.sleep(1)

        rss_start = server.rss_mb()
        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(slot() for _ in range(live_target)))
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await asyncio.sleep(3)
        rss_idle = server.rss_mb()
        await asyncio.to_thread(probe.wait, 30)
        reports = sum([await api.has_report(i) for i in finished])
    await server.astop()

    samples: list[list[Any]] = json.loads(probe_out.read_text())["samples"]
    rtt = [float(ms) for _, status, ms in samples if status == 200]
    probe_codes = Counter(str(status) for _, status, _ in samples)
    p99 = percentile(rtt, 0.99)
    fifth = [mb for t, mb in rss if 0.1 * seconds <= t < 0.2 * seconds]
    last = [mb for t, mb in rss if t >= 0.9 * seconds]
    growth = (sum(last) / len(last) - sum(fifth) / len(fifth)) if fifth and last else None
    five = api.tally.server_errors + sum(1 for _, s, _ in samples if s >= 500)
    res.add(
        "loop lag p99",
        None if p99 is None else round(p99, 1),
        "n/a" if p99 is None else f"{p99:.1f} ms",
        f"< {LAG_TARGET_MS:.0f} ms",
        p99 is not None and p99 < LAG_TARGET_MS,
    )
    res.add(
        "RSS growth",
        None if growth is None else round(growth, 1),
        "n/a" if growth is None else f"{growth:+.1f} MB",
    )
    res.add(
        "RSS idle",
        rss_idle,
        f"{rss_idle or 0:.0f} MB after the last interview (start {rss_start or 0:.0f} MB)",
    )
    res.add("5xx", five, str(five))
    res.add(
        "reports",
        reports,
        f"{reports}/{len(finished)} finished",
        "0 lost",
        reports == len(finished),
    )
    res.details = {
        "seconds": seconds,
        "max_live_interviews": MAX_LIVE,
        "concurrent_interviews": live_target,
        "interview_length_s": round(length, 1),
        "interviews_finished": len(finished),
        "offer_statuses": dict(offers),
        "finish_statuses": dict(finishes),
        "loop_lag_note": "round trip of GET /healthz from a separate process every 100 ms; "
        "the candidates' encoders in the bench process share the same cores",
        "healthz_ms": {
            "n": len(rtt),
            "p50": percentile(rtt, 0.5),
            "p99": p99,
            "max": max(rtt, default=None),
            "statuses": dict(probe_codes),
        },
        "rss_mb": {
            "growth_note": "mean of the last 10% of the soak minus the mean of its 10-20% window",
            "peak": max((mb for _, mb in rss), default=None),
            "start": rss_start,
            "idle_after": rss_idle,
            "samples": [[round(t, 1), round(mb, 1)] for t, mb in rss[:: max(1, len(rss) // 60)]],
        },
        "http": api.tally.as_dict(),
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }

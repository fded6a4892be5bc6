"""Bad input: malformed SDP offers (`sdp`) and a WebSocket flood from one token (`ws-flood`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from typing import Any

import aiohttp
import numpy as np

from bench import reliability_sdp as bad_sdp
from bench.reliability_client import Api, Candidate, Interview, real_offer_sdp
from bench.reliability_proc import Context
from bench.reliability_result import Result, pct

WATCH_SHARE = 10  # one bad offer to /watch for every ten to /offer


async def send_bad(api: Api, iv: Interview, body: bad_sdp.Body, path: str) -> int:
    token = iv.token if path == "offer" else iv.viewers[0]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"/api/interviews/{iv.id}/{path}"
    if isinstance(body, bytes):
        status, _ = await api.call("POST", url, headers, data=body)
    else:
        status, _ = await api.call("POST", url, headers, data=json.dumps(body))
    return status


def _klass(status: int) -> str:
    return "no response" if status == 0 else f"{status // 100}xx"


async def sdp(ctx: Context, res: Result, n: int) -> None:
    """n bad offers to /offer on consented interviews, n/10 to /watch of a live one; then a
    good offer to every interview that only ever refused: 410 means a bad offer spent it."""
    server = ctx.server("sdp")
    await server.astart()
    pool_size = 20 if n > 200 else min(10, max(2, n // 10))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        api = Api(http, server.base, server.admin_key())
        rid = await api.requisition("sdp")
        pool = [await api.schedule(rid) for _ in range(pool_size)]
        real = await real_offer_sdp()
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        statuses: Counter[str] = Counter()
        answered: list[str] = []
        rss_start = server.rss_mb()
        rss_warm = rss_start
        warm = len(bad_sdp.MUTATIONS)
        for i, (name, seed) in enumerate(bad_sdp.plan(n, ctx.seed)):
            if i == warm:
                rss_warm = server.rss_mb()  # every code path touched once
            slot = i % len(pool)
            status = await send_bad(api, pool[slot], bad_sdp.make(name, real, seed), "offer")
            by_kind[name][str(status)] += 1
            statuses[_klass(status)] += 1
            if 200 <= status < 300:  # answered: the interview went live on a bad offer
                answered.append(f"{name}: {pool[slot].id}")
                await api.finish(pool[slot])
                pool[slot] = await api.schedule(rid)
        rss_end = server.rss_mb()

        # Bad offers to /watch while one real interview is live.
        live_iv = await api.schedule(rid)
        cand = Candidate(api, live_iv, ctx.pcm)
        watch_statuses: Counter[str] = Counter()
        watch_kinds: dict[str, Counter[str]] = defaultdict(Counter)
        live_after: dict[str, Any] = {}
        if await cand.start():
            await asyncio.sleep(2)
            for name, seed in bad_sdp.plan(max(1, n // WATCH_SHARE), ctx.seed + 1):
                status = await send_bad(api, live_iv, bad_sdp.make(name, real, seed), "watch")
                watch_statuses[_klass(status)] += 1
                watch_kinds[name][str(status)] += 1
            live_after = {
                "state": await api.state(live_iv.id),
                "candidate_connection": cand.pc.connectionState if cand.pc else None,
            }
            live_after["finish_status"] = await cand.finish()
            live_after["report"] = await api.has_report(live_iv.id)
        else:
            live_after = {"offer_status": cand.status}

        # A good offer for every interview the bad ones never started: 410 = invite spent.
        spent: list[str] = []
        good: Counter[str] = Counter()
        silence = np.zeros(16_000, np.float32)
        for iv in pool:
            probe = Candidate(api, iv, silence)
            ok = await probe.start()
            good[str(probe.status)] += 1
            if probe.status == 410:
                spent.append(iv.id)
            if ok:
                await probe.finish()
    await server.astop()

    total = sum(statuses.values())
    four = statuses["4xx"]
    res.add("4xx", four / total if total else None, pct(four, total), "100%", four == total)
    res.add("5xx", statuses["5xx"], str(statuses["5xx"]))
    res.add("answered", len(answered), str(len(answered)), "0", not answered)
    res.add("invites spent", len(spent), f"{len(spent)}/{len(pool)}", "0", not spent)
    w_total = sum(watch_statuses.values())
    res.add(
        "/watch 4xx",
        watch_statuses["4xx"] / w_total if w_total else None,
        f"{pct(watch_statuses['4xx'], w_total)} of {w_total}",
        "100%",
        w_total > 0 and watch_statuses["4xx"] == w_total,
    )
    growth = (rss_end or 0) - (rss_warm or 0)
    res.add("RSS growth", round(growth, 1), f"{growth:+.1f} MB")
    res.details = {
        "offers": total,
        "by_class": dict(statuses),
        "by_mutation": {k: dict(v) for k, v in sorted(by_kind.items())},
        "answered": answered,
        "pool": len(pool),
        "good_offer_statuses": dict(good),
        "spent": spent,
        "watch": {
            "by_class": dict(watch_statuses),
            "by_mutation": {k: dict(v) for k, v in sorted(watch_kinds.items())},
        },
        "live_interview_after_watch_offers": live_after,
        "rss_mb": {"start": rss_start, "after_first_of_each_kind": rss_warm, "end": rss_end},
        "rss_note": "growth counted from after one offer of each kind (lazy imports settle) "
        "to after the last one; /proc VmRSS",
        "http": api.tally.as_dict(),
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }


async def ws_flood(ctx: Context, res: Result, n: int) -> None:
    """n /live WebSockets with one candidate token while another interview's interviewer
    socket follows a real live interview: does it keep receiving, and /readyz?"""
    server = ctx.server("ws-flood")
    await server.astart()
    hold_s = 5.0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        api = Api(http, server.base, server.admin_key())
        rid = await api.requisition("ws-flood")
        flooder = await api.schedule(rid)
        watched = await api.schedule(rid)
        cand = Candidate(api, watched, ctx.pcm)
        if not await cand.start():
            raise RuntimeError(f"the watched interview did not start: {cand.status}")
        viewer = await http.ws_connect(f"{server.base}/api/interviews/{watched.id}/live")
        await viewer.send_json({"token": watched.viewers[0]})
        received: list[float] = []

        async def follow() -> None:
            async for msg in viewer:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    received.append(time.monotonic())

        follower = asyncio.create_task(follow())
        ready: list[tuple[float, str, int]] = []
        phase = ["before"]

        async def poll_ready() -> None:
            while True:
                ready.append((time.monotonic(), phase[0], await api.readyz()))
                await asyncio.sleep(0.25)

        poller = asyncio.create_task(poll_ready())
        await asyncio.sleep(4)  # the candidate speaks; records flow
        t_before = time.monotonic()
        await asyncio.sleep(3)

        outcomes: Counter[str] = Counter()
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def one() -> None:
            try:
                ws = await http.ws_connect(f"{server.base}/api/interviews/{flooder.id}/live")
            except aiohttp.WSServerHandshakeError as err:
                outcomes[f"handshake {err.status}"] += 1
                return
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                outcomes[f"connect {type(err).__name__}"] += 1
                return
            sockets.append(ws)
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
                await ws.send_json({"token": flooder.token})
                msg = await asyncio.wait_for(ws.receive(), 10)
                if msg.type == aiohttp.WSMsgType.TEXT:
                    outcomes["snapshot received"] += 1
            await asyncio.sleep(hold_s)
            if ws.closed:
                outcomes[f"closed by server {ws.close_code}"] += 1
            else:
                outcomes["open after hold"] += 1

        phase[0] = "during"
        t_flood = time.monotonic()
        await asyncio.gather(*(one() for _ in range(n)))
        t_flood_end = time.monotonic()
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        phase[0] = "after"
        t_after = time.monotonic()
        await asyncio.sleep(3)
        t_end = time.monotonic()
        viewer_open = not viewer.closed
        poller.cancel()
        await cand.finish()
        await viewer.close()
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    await server.astop()

    def rate(a: float, b: float) -> float:
        return round(sum(1 for t in received if a <= t < b) / max(b - a, 1e-9), 2)

    before, during, after = (
        rate(t_before, t_flood),
        rate(t_flood, t_flood_end),
        rate(t_after, t_end),
    )
    by_phase: dict[str, Counter[str]] = defaultdict(Counter)
    for _, ph, status in ready:
        by_phase[ph][str(status)] += 1
    ready_during = by_phase["during"]
    ready_after = by_phase["after"]
    res.add(
        "other viewer received",
        during,
        f"{during}/s during (before {before}/s, after {after}/s)",
        "> 0/s",
        during > 0 and viewer_open,
    )
    res.add("readyz during", dict(ready_during), _codes(ready_during))
    res.add(
        "readyz after",
        dict(ready_after),
        _codes(ready_after),
        "200",
        bool(ready_after) and set(ready_after) == {"200"},
    )
    res.add("flood outcomes", dict(outcomes), ", ".join(f"{k}: {v}" for k, v in outcomes.items()))
    res.details = {
        "sockets": n,
        "hold_s": hold_s,
        "flood_s": round(t_flood_end - t_flood, 2),
        "viewer_records_per_s": {"before": before, "during": during, "after": after},
        "viewer_socket_open_after": viewer_open,
        "readyz": {k: dict(v) for k, v in by_phase.items()},
        "http": api.tally.as_dict(),
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }


def _codes(c: Counter[str]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(c.items())) or "none"

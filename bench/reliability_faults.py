"""Faults during live interviews: the embedded Redis killed (`redis-kill`), the server killed
and restarted on the same data dir (`server-kill`), and webhook deliveries through a flaky
receiver across a server kill (`webhooks`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import random
import secrets
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bench.reliability_client import Api, Candidate, Interview, wait_states
from bench.reliability_proc import Context, Server, alive, redis_child
from bench.reliability_result import Result

TALK_S = 6.0  # interviews run this long before the fault


async def start_candidates(api: Api, ctx: Context, k: int) -> list[Candidate]:
    rid = await api.requisition("fault")
    cands = []
    for _ in range(k):
        cand = Candidate(api, await api.schedule(rid), ctx.pcm)
        if not await cand.start():
            raise RuntimeError(f"a live interview did not start: HTTP {cand.status}")
        cands.append(cand)
    return cands


async def redis_kill(ctx: Context, res: Result, k: int) -> None:
    if ctx.redis_url:
        res.add("skipped", None, "external Redis (--redis-url) is not ours to kill")
        return
    deadline_s = 30.0 if ctx.quick else 60.0
    server = ctx.server("redis-kill")
    await server.astart()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        api = Api(http, server.base, server.admin_key())
        cands = await start_candidates(api, ctx, k)
        await asyncio.sleep(TALK_S)
        victim = redis_child(server.pid)
        if victim is None:
            raise RuntimeError("no redis-server child of the server process")
        ready: list[tuple[float, int]] = []
        ready_ms: list[float] = []  # how long each /readyz took to answer
        redis_back: list[float] = []
        steady = asyncio.Event()  # /readyz answers 200 (again)

        async def poll() -> None:
            while True:
                t = time.monotonic()
                ready.append((t, await api.readyz()))
                ready_ms.append((time.monotonic() - t) * 1000)
                if ready[-1][1] == 200:
                    steady.set()
                else:
                    steady.clear()
                if not redis_back and redis_child(server.pid) not in (None, victim):
                    redis_back.append(time.monotonic())
                await asyncio.sleep(0.1)

        os.kill(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        poller = asyncio.create_task(poll())
        await asyncio.sleep(TALK_S)  # the interviews go on without Redis
        finish_statuses = Counter([str(await c.finish()) for c in cands])
        ids = [c.iv.id for c in cands]
        states = await wait_states(api, ids, {"live"}, 10)
        reports = sum([await api.has_report(i) for i in ids])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                steady.wait(), max(0.0, deadline_s - (time.monotonic() - t_kill))
            )
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        new_redis = redis_child(server.pid)
    await server.astop()

    finished = sum(1 for s in states.values() if s == "finished")
    res.add(
        "reports",
        reports,
        f"{reports}/{finished} finished ({k} interviews)",
        "0 lost",
        reports == finished == k,
    )
    first_bad = next((t for t, s in ready if s != 200), None)
    back_at = _ready_again(ready)
    if first_bad is None:
        back_s: float | None = 0.0
        shown = "0 s (never unready; polled every 0.1 s)"
    elif back_at is None:
        back_s, shown = None, f"never (within {deadline_s:.0f} s)"
    else:
        back_s = round(back_at - t_kill, 2)
        shown = f"{back_s:.1f} s"
    res.add("readyz 200 again after", back_s, shown)
    slowest = round(max(ready_ms, default=0.0), 1)
    res.add("slowest /readyz", slowest, f"{slowest:.0f} ms")
    res.add(
        "redis-server back after",
        round(redis_back[0] - t_kill, 2) if redis_back else None,
        f"{redis_back[0] - t_kill:.1f} s" if redis_back else "never",
    )
    res.details = {
        "interviews": k,
        "finish_statuses": dict(finish_statuses),
        "states": states,
        "redis_pid_killed": victim,
        "redis_child_after": new_redis,
        "readyz_first_non_200_s": None if first_bad is None else round(first_bad - t_kill, 2),
        "readyz_codes": dict(Counter(str(s) for _, s in ready)),
        "readyz_slowest_ms": round(max(ready_ms, default=0.0), 1),
        "http": api.tally.as_dict(),
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }


def _ready_again(ready: list[tuple[float, int]]) -> float | None:
    """When /readyz turned 200 for good: the first 200 after the last failure (None if it
    never failed, or if the last answer was not 200)."""
    bad = [i for i, (_, s) in enumerate(ready) if s != 200]
    if not bad or bad[-1] == len(ready) - 1:
        return None
    return ready[bad[-1] + 1][0]


FINALIZE_AFTER_S = 5  # how long an interrupted interview may resume before it is finished


async def transcribed_lines(api: Api, iid: str) -> int:
    """Transcript lines in the interview's report (0 without one)."""
    status, body = await api.call("GET", f"/api/interviews/{iid}/report")
    if status != 200 or not isinstance(body, dict):
        return 0
    return sum(len(q.get("transcript", [])) for q in body.get("questions", []))


async def server_kill(ctx: Context, res: Result, k: int) -> None:
    env = {"HIRESTREAM_INTERRUPTED_FINALIZE_AFTER_S": str(FINALIZE_AFTER_S)}
    server = ctx.server("server-kill", env=env)
    await server.astart()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        api = Api(http, server.base, server.admin_key())
        cands = await start_candidates(api, ctx, k)
        ids = [c.iv.id for c in cands]
        await asyncio.sleep(TALK_S + 4)  # every candidate's first answer finalized
        redis_pid = redis_child(server.pid)
        server.kill9()
        await asyncio.sleep(2)
        redis_orphaned = redis_pid is not None and alive(redis_pid)
        for c in cands:
            await c.hang_up()
        t0 = time.monotonic()
        await server.astart()
        api2 = Api(http, server.base, server.admin_key())
        ready_s = await api2.wait_ready(30)
        restart_s = time.monotonic() - t0
        states = await wait_states(api2, ids, {"live"}, 20)
        # The sweeper (every 10 s) finishes them once the resume window has passed.
        finished = await wait_states(api2, ids, {"live", "interrupted"}, FINALIZE_AFTER_S + 30)
        reports = {i: await api2.has_report(i) for i in ids}
        spoken = {i: await transcribed_lines(api2, i) for i in ids}
    await server.astop()

    left_live = sum(1 for s in states.values() if s == "live")
    res.add("left live", left_live, f"{left_live}/{k}", "0", left_live == 0)
    res.add("states", states, ", ".join(f"{s}" for s in states.values()))
    n_reports = sum(reports.values())
    res.add(
        "finished with a report after the resume window",
        n_reports,
        f"{n_reports}/{k}",
        f"{k}/{k}",
        n_reports == k and all(s == "finished" for s in finished.values()),
    )
    rebuilt = sum(1 for n in spoken.values() if n > 0)
    res.add("reports with the answers heard before the kill", rebuilt, f"{rebuilt}/{k}")
    res.details = {
        "interviews": k,
        "states_after_restart": states,
        "states_after_resume_window": finished,
        "reports": reports,
        "transcript_lines_per_report": spoken,
        "restart_to_ready_s": round(restart_s, 2) if ready_s is not None else None,
        "embedded_redis_outlived_server": redis_orphaned,
        "http": api.tally.as_dict() | {"after_restart": api2.tally.as_dict()},
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }


# Webhooks


def verify(secret: str, msg_id: str, ts: str, body: bytes, header: str) -> bool:
    """Standard Webhooks signature check, written here independently of the server's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    want = base64.b64encode(digest).decode()
    return any(hmac.compare_digest(part.removeprefix("v1,"), want) for part in header.split())


@dataclass
class Receiver:
    """Fails half of the POSTs with 500 (seeded); counts what it accepted by webhook-id.
    When `kill_on_next_success` is set, the next POST it accepts kills the server before the
    response goes out: the receiver has the event, the server never hears so (ack lost)."""

    secret: str
    rng: random.Random
    server: Server | None = None
    kill_on_next_success: bool = False
    killed_at: float | None = None
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    posts: int = 0
    refused: int = 0
    bad_signatures: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    first_accepted_at: dict[str, float] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts += 1
        wid = request.headers.get("webhook-id", "")
        if not verify(
            self.secret,
            wid,
            request.headers.get("webhook-timestamp", ""),
            body,
            request.headers.get("webhook-signature", ""),
        ):
            self.bad_signatures += 1
        if self.rng.random() < 0.5:
            self.refused += 1
            return web.Response(status=500, text="flaky receiver")
        self.accepted[wid] += 1
        self.first_accepted_at.setdefault(wid, time.monotonic())
        if self.kill_on_next_success and self.server is not None:
            self.kill_on_next_success = False
            self.killed_at = time.monotonic()
            self.server.kill9()
            self.killed.set()
        return web.Response(status=204)


async def _decisions(api: Api, rid: str, n: int) -> int:
    """n HR events: decisions on interviews finished (by the admin) without media."""
    made = 0
    kinds = ["advance", "hold", "reject", "advance"]
    for i in range(n):
        iv: Interview = await api.schedule(rid, consent=False)
        await api.call("POST", f"/api/interviews/{iv.id}/finish")
        body = {
            "decision": kinds[i % len(kinds)],
            "reason": "reliability bench",
            "decided_by": "Bench Reviewer",
        }
        status, _ = await api.call("POST", f"/api/interviews/{iv.id}/decision", json=body)
        made += status == 201
    return made


async def webhooks(ctx: Context, res: Result, k: int, events: int) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    receiver = Receiver(secret, random.Random(ctx.seed))  # noqa: S311 (reproducible failures)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    drain_deadline_s = 120.0 if ctx.quick else 240.0
    env = {
        "HIRESTREAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "HIRESTREAM_WEBHOOK_SECRET": secret,
        "HIRESTREAM_WEBHOOK_BACKOFF_S": "1",
    }
    server = ctx.server("webhooks", env=env)
    receiver.server = server
    try:
        await server.astart()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            api = Api(http, server.base, server.admin_key())
            before = await _last_event(api)  # a shared --pg database has older events
            cands = await start_candidates(api, ctx, k)
            rid = await api.requisition("webhooks")
            made = await _decisions(api, rid, events // 2)
            await asyncio.sleep(max(0.0, TALK_S - 2))
            for c in cands:
                await c.finish()  # reports: one delivery each
            receiver.kill_on_next_success = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receiver.killed.wait(), 10)
            if receiver.killed_at is None:  # nothing was in flight: kill anyway
                receiver.kill_on_next_success = False
                receiver.killed_at = time.monotonic()
                server.kill9()
            await asyncio.sleep(1)
            await server.astart()
            api2 = Api(http, server.base, server.admin_key())
            await api2.wait_ready(30)
            made += await _decisions(api2, rid, events - events // 2)
            t_last_emit = time.monotonic()
            emitted = await _emitted(api2, before)
            while time.monotonic() - t_last_emit < drain_deadline_s:
                if emitted <= set(receiver.accepted):
                    break
                await asyncio.sleep(0.5)
                emitted = await _emitted(api2, before)
            reports = sum([await api2.has_report(c.iv.id) for c in cands])
        await server.astop()
    finally:
        await runner.cleanup()

    delivered = emitted & set(receiver.accepted)
    dupes = sum(n - 1 for n in receiver.accepted.values() if n > 1)
    last = max((receiver.first_accepted_at[w] for w in delivered), default=t_last_emit)
    drained = delivered == emitted
    res.add(
        "delivered",
        len(delivered) / len(emitted) if emitted else None,
        f"{len(delivered)}/{len(emitted)} emitted",
        "100%",
        drained and bool(emitted),
    )
    res.add("duplicates by webhook-id", dupes, str(dupes))
    drain_s = max(0.0, last - t_last_emit)
    res.add(
        "time to drain",
        round(drain_s, 1) if drained else None,
        f"{drain_s:.1f} s after the last event"
        if drained
        else f"not drained in {drain_deadline_s:.0f} s",
    )
    res.details = {
        "emitted": len(emitted),
        "decisions_made": made,
        "reports": reports,
        "interviews_with_media": k,
        "posts": receiver.posts,
        "refused_500": receiver.refused,
        "bad_signatures": receiver.bad_signatures,
        "undelivered": sorted(emitted - delivered),
        "unexpected_ids": sorted(set(receiver.accepted) - emitted),
        "killed_on_accepted_post": receiver.killed_at is not None,
        "http": api.tally.as_dict() | {"after_restart": api2.tally.as_dict()},
        "server_log": {"tracebacks": server.log_count(r"^Traceback")},
    }


async def _last_event(api: Api) -> int:
    after = 0
    while True:
        status, rows = await api.call("GET", f"/api/events?after={after}")
        if status != 200 or not rows:
            return after
        after = max(int(e["id"]) for e in rows)


async def _emitted(api: Api, after: int) -> set[str]:
    """Every webhook id the server owes the receiver: one per HR event since `after`
    ("evt_<id>"; a report keeps its interview id)."""
    out: set[str] = set()
    while True:
        status, rows = await api.call("GET", f"/api/events?after={after}")
        if status != 200 or not rows:
            return out
        for e in rows:
            if e["type"] == "interview.report.finalized":
                out.add(str(e["subject"]).removeprefix("interview:"))
            else:
                out.add(f"evt_{e['id']}")
            after = max(after, int(e["id"]))

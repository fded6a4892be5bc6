"""What bench.live watches besides captions, to explain a lost final.

- `FeedNotes`: per interview, every record on the interviewer's feed that is not a caption:
  counted by type, and the notices kept with their arrival time (`state` changes such as
  `interrupted`, `gap`, `feed`, `dropped`, `degraded`, `ended`, and any type this bench does
  not know). Speech starts and ends are counted: speech heard without a final points at the
  ASR, no speech at all at the audio path or the connection.
- `LoadPoller`: the server's `/readyz` `load` once a second during a step (live interviews,
  and per Whisper scheduler its queued finals and partials, partial-interval scale and the
  finals' recent queue-wait p95), with how long `/readyz` took to answer (the server's event
  loop lag, roughly).
- `UdpDrops`: datagrams the kernel dropped for the server's and this bench's sockets (a full
  receive buffer: lost audio and video packets, the cause of VP8 decode errors).
- `ConsentExpiries`: this process's ICE connections that closed because their consent checks
  (RFC 7675, aioice: 6 in a row unanswered within 0.5 s) failed; the server logs its own at
  INFO ("Consent to send expired").
- `log_summary`: the server's log lines that say something about a connection or a stage,
  counted by message with the interview ids taken out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# Records a live feed carries all the time: counted, not kept.
ROUTINE = {"caption", "face", "affect", "scores", "speech", "question"}
# Fields of a notice worth keeping (the rest, e.g. texts, are left out).
NOTICE_FIELDS = ("state", "reason", "count", "stage", "recovered", "t", "duration_s")
# Server log lines about the connection or the stages (INFO ones need --server-log-level INFO).
LOG_PATTERN = (
    r"WARNING|ERROR|CRITICAL|connection|no media|interrupted|failed|degraded|rejoin|"
    r"session ended|Consent"
)
_ID = re.compile(r"\b[0-9a-f]{8,}(-[0-9a-f]{4,})*\b|\b[0-9A-Za-z_-]{20,}\b")


@dataclass
class FeedNotes:
    """One interviewer feed's records other than captions."""

    types: Counter[str] = field(default_factory=Counter)
    notices: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (monotonic, rec)
    face_warnings: Counter[str] = field(default_factory=Counter)
    speech_starts: int = 0
    speech_ends: int = 0
    snapshot_state: str | None = None

    def take(self, rec: dict[str, Any]) -> None:
        kind = str(rec.get("type"))
        self.types[kind] += 1
        if kind == "snapshot":
            self.snapshot_state = rec.get("state")
        elif kind == "speech":
            if rec.get("state") == "start":
                self.speech_starts += 1
            else:
                self.speech_ends += 1
        elif kind == "face":
            self.face_warnings.update(str(w) for w in rec.get("warnings") or [])
        elif kind not in ROUTINE:
            kept = {k: rec[k] for k in NOTICE_FIELDS if k in rec}
            self.notices.append((time.monotonic(), {"type": kind, **kept}))

    def states(self) -> list[str]:
        return [str(r.get("state")) for _, r in self.notices if r["type"] == "state"]

    @property
    def interrupted(self) -> bool:
        return "interrupted" in self.states() or any(r["type"] == "gap" for _, r in self.notices)

    @property
    def dropped(self) -> int:
        """Records the server dropped for this socket (it fell behind)."""
        return sum(int(r.get("count") or 0) for _, r in self.notices if r["type"] == "dropped")

    def as_json(self, origin: float | None) -> dict[str, Any]:
        """`origin`: monotonic time notices are given relative to (the recording's start)."""
        base = origin if origin is not None else 0.0
        return {
            "snapshot_state": self.snapshot_state,
            "records": dict(self.types.most_common()),
            "speech_starts": self.speech_starts,
            "speech_ends": self.speech_ends,
            "face_warnings": dict(self.face_warnings),
            "notices": [{"at_s": round(t - base, 2), **r} for t, r in self.notices],
        }


@dataclass
class LoadSample:
    at: float  # monotonic
    answer_ms: float  # how long /readyz took
    live: int
    asr: dict[str, dict[str, Any]]  # model folder -> SchedulerLoad as JSON
    video: dict[str, int]  # the server's VideoCounts as JSON (empty from older servers)


class LoadPoller:
    """`/readyz` once a second; a request that fails or times out is counted."""

    def __init__(self, base: str, every_s: float = 1.0, timeout_s: float = 5.0) -> None:
        self.url = f"{base}/readyz"
        self.every_s, self.timeout_s = every_s, timeout_s
        self.samples: list[LoadSample] = []
        self.failures = 0

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                t0 = time.monotonic()
                try:
                    async with http.get(self.url) as r:
                        body = await r.json()
                    load = body.get("load") or {}
                    self.samples.append(
                        LoadSample(
                            t0,
                            (time.monotonic() - t0) * 1000,
                            int(load.get("live_interviews") or 0),
                            dict(load.get("asr") or {}),
                            dict(load.get("video") or {}),
                        )
                    )
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    self.failures += 1
                await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - t0)))

    def video_rates(self, t0: float, t1: float, interviews: int) -> dict[str, float] | None:
        """Per interview, between the first and last readings in [t0, t1] that saw all
        `interviews` live: decoded frames, analysed face frames and samples replaced before
        analysis, each per second. None without two such readings."""
        xs = [s for s in self.samples if t0 <= s.at <= t1 and s.live == interviews]
        if len(xs) < 2 or xs[-1].at - xs[0].at < 1.0 or not interviews:
            return None
        a, b = xs[0], xs[-1]
        per = (b.at - a.at) * interviews

        def rate(key: str) -> float:
            return round((b.video.get(key, 0) - a.video.get(key, 0)) / per, 2)

        return {
            "seconds": round(b.at - a.at, 1),
            "decoded_fps": rate("frames_in"),
            "analysed_fps": rate("analysed"),
            "replaced_per_s": rate("replaced"),
        }

    def summary(self, origin: float) -> dict[str, Any]:
        """Maxima over the step, and the series (seconds from `origin`) for the record."""

        def peak(key: str) -> float | None:
            xs = [a[key] for s in self.samples for a in s.asr.values() if a.get(key) is not None]
            return max(xs, default=None)

        answers = sorted(s.answer_ms for s in self.samples)
        return {
            "samples": len(self.samples),
            "failures": self.failures,
            "max_live_interviews": max((s.live for s in self.samples), default=0),
            "max_partial_scale": peak("partial_scale"),
            "max_finals_queued": peak("finals_queued"),
            "max_partials_queued": peak("partials_queued"),
            "max_final_wait_p95_ms": peak("final_wait_p95_ms"),
            "readyz_p50_ms": round(answers[len(answers) // 2], 1) if answers else None,
            "readyz_max_ms": round(answers[-1], 1) if answers else None,
            # [s, live, scale, finals queued, partials queued, final wait p95 ms, finals served]
            "series": [
                [
                    round(s.at - origin, 1),
                    s.live,
                    *(
                        a.get(k)
                        for a in list(s.asr.values())[:1]
                        for k in (
                            "partial_scale",
                            "finals_queued",
                            "partials_queued",
                            "final_wait_p95_ms",
                            "finals_served",
                        )
                    ),
                ]
                for s in self.samples
            ],
        }


@contextlib.asynccontextmanager
async def polling(base: str) -> AsyncIterator[LoadPoller]:
    """A LoadPoller running for the block."""
    poller = LoadPoller(base)
    task = asyncio.create_task(poller.run())
    try:
        yield poller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def log_summary(lines: list[str], most: int = 12) -> dict[str, int]:
    """Distinct messages (after the level; ids and numbers taken out), counted."""
    kinds: Counter[str] = Counter()
    for line in lines:
        if not re.search(LOG_PATTERN, line):
            continue
        msg = re.sub(r"^.*?\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b\s*", r"\1 ", line)
        msg = re.sub(r"\d+(\.\d+)?", "#", _ID.sub("<id>", msg))
        kinds[msg[:140]] += 1
    return dict(kinds.most_common(most))


def _socket_inodes(pid: int) -> set[int]:
    out = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = str(fd.readlink())
                if link.startswith("socket:["):
                    out.add(int(link[8:-1]))
    return out


class UdpDrops:
    """Datagrams the kernel dropped because a UDP socket's receive buffer was full (its
    process did not read in time): per process (the server, this bench), from the `drops`
    column of /proc/net/udp[6] for the sockets each holds. A socket closed between samples
    keeps the count it last had."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._seen: dict[str, dict[int, int]] = {name: {} for name in pids}

    def sample(self) -> None:
        drops: dict[int, int] = {}
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    cols = line.split()
                    if len(cols) >= 13:
                        drops[int(cols[9])] = int(cols[-1])
        for name, pid in self.pids.items():
            seen = self._seen[name]
            for inode in _socket_inodes(pid) & drops.keys():
                seen[inode] = drops[inode]

    def totals(self) -> dict[str, int]:
        return {name: sum(seen.values()) for name, seen in self._seen.items()}


def udp_rcvbuf_errors() -> int:
    """The machine's count of UDP datagrams (IPv4 and IPv6) dropped for a full receive buffer,
    all sockets."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()]
    head, vals = [ln for ln in lines if ln and ln[0] == "Udp:"][:2]
    v6 = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/snmp6").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "Udp6RcvbufErrors":
                v6 = int(value.strip())
    return int(vals[head.index("RcvbufErrors")]) + v6


class ConsentExpiries(logging.Handler):
    """Counts aioice's "Consent to send expired" in this process (the candidates' side)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0
        logger = logging.getLogger("aioice.ice")
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if "Consent to send expired" in record.getMessage():
            self.count += 1

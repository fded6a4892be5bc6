"""Live interviews over real WebRTC with video: caption latency, capacity and server cost.

    python -m bench.live [--steps 1,2,4,8] [--short 4] [--long 2] [--viewers 2] [--quick]
                         [--profile-steps 1,4] [--simulator packets|encode]

Starts `hirestream serve` as its own process (embedded Redis, SQLite in a temp folder); this
process plays the candidates over aiortc: synthesized answers of about 5 s and about 30 s
(bench/live_answers.py) and a moving real face at 640x480, 15 fps, with one interviewer
WebSocket per interview. The candidates' media is encoded once and sent as packets
(bench/live_media.py), so the simulators cost little of the 2 cores the server is measured on;
`--simulator encode` sends raw frames that aiortc encodes per candidate, as before.

For each step (that many interviews at once, starts staggered by --stagger-s) it reports:
end of speech -> the answer's LAST final caption delivered to the interviewer (p50, p95, for
short and long answers; a long answer may come as several utterances and segments), speech
start -> the first caption of the answer (p95), finals delivered/expected, the server's cores
busy and per interview while all candidates talk, its RSS (baseline with no interview, peak,
per interview) and this process's own CPU per candidate. Steps go on until one is saturated
(p95 over SATURATED_MS or a tenth of the answers without their final). Then, with one
interview, relayed-video viewers are added to measure what each costs the server.
`--profile-steps` records the server with py-spy during those steps (bench/live_profile.py).

Where a final went missing (bench/live_watch.py), per step: interviews interrupted (their
connection dropped: a `state` record on the feed), records the server dropped for a slow
socket, stages degraded, the shared ASR's peak load from `/readyz` (partial scale, finals
queued, final wait p95) and the face analysis rate it kept up per interview (frames decoded,
analysed and replaced before analysis, per second), UDP datagrams dropped for full socket
buffers (server, bench), and the server's log about connections and stages
(`--server-log-level INFO` adds the lost and rejoined connections); per interview
(`per_interview` in the JSON) its finals, speech starts and ends, last caption and every
notice on its feed.
Writes bench/results/live.json. Run it under `flock /tmp/cpu.lock`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import numpy as np
import numpy.typing as npt
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from bench import live_profile
from bench.common import write_json
from bench.live_answers import Answer, AnswerResult, Caption, answers, assign
from bench.live_media import FaceLoopTrack, OpusTrack, face_loop_vp8, opus_packets
from bench.live_watch import (
    ConsentExpiries,
    FeedNotes,
    UdpDrops,
    log_summary,
    polling,
    udp_rcvbuf_errors,
)
from bench.reliability import machine
from bench.rtc_client import FaceTrack, SpeechTrack
from server.cli.serve import freeze_startup_objects

TARGET_P50_MS = 400.0
TARGET_P95_MS = 800.0
CAPACITY_P95_MS = 850.0  # the capacity target: p95 within this with every final delivered
TARGET_FIRST_P95_MS = 1000.0
TARGET_CORES_PER_INTERVIEW = 0.2
SATURATED_MS = 3000.0
# The candidates' ICE connections closed by a failed consent check (aioice logs it at INFO).
CONSENT = ConsentExpiries()
CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(xs: list[float], q: float) -> float | None:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else None


def start_server(
    data: Path,
    max_live: int,
    tree: Path | None = None,
    extra_env: dict[str, str] | None = None,
    log_level: str = "WARNING",
) -> tuple[subprocess.Popen[str], str]:
    """`hirestream serve` from this checkout, or from the source tree `tree` (e.g. a
    `git archive` of another commit, to compare). `log_level` INFO adds the server's
    connection events (lost, rejoined, session ended) to its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env |= {
        "HIRESTREAM_DATA_DIR": str(data),
        "HIRESTREAM_PORT": "0",
        "HIRESTREAM_MAX_LIVE_INTERVIEWS": str(max_live),
        "HIRESTREAM_LOG_LEVEL": log_level,
    }
    env |= extra_env or {}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        cwd=tree,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if m := re.search(r"running at (http://\S+)/", line):
            # Keep reading its log: a full pipe would block the server's event loop.
            log = (data / "server.log").open("w")
            threading.Thread(target=_copy, args=(proc.stderr, log), daemon=True).start()
            return proc, m.group(1)
    raise RuntimeError("server did not start")


def _copy(src: IO[str], dst: IO[str]) -> None:
    for line in src:
        dst.write(line)
        dst.flush()


def log_lines(data: Path) -> list[str]:
    """The server's log so far (each line's first 200 characters)."""
    path = data / "server.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return [ln[:200] for ln in text.splitlines()]


@dataclass(frozen=True)
class Media:
    """What every candidate sends: pre-encoded packets, or raw audio to encode per candidate."""

    encode: bool
    pcm: npt.NDArray[np.float32]
    opus: list[bytes]
    silence: bytes
    face: list[bytes]

    def tracks(self, pcm: npt.NDArray[np.float32] | None = None) -> tuple[Any, Any]:
        """(audio, video) for one candidate; `pcm` replaces the answers (e.g. silence)."""
        if self.encode:
            return SpeechTrack(self.pcm if pcm is None else pcm), FaceTrack()
        audio = OpusTrack(self.opus if pcm is None else [], self.silence)
        return audio, FaceLoopTrack(self.face)


def prefer(pc: RTCPeerConnection, track: MediaStreamTrack, mime: str) -> None:
    """Send `track` with codec `mime` only: the packets are already in that codec."""
    transceiver = pc.addTransceiver(track, direction="sendonly")
    codecs = RTCRtpSender.getCapabilities(track.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType == mime])


async def join(
    http: aiohttp.ClientSession,
    base: str,
    admin: dict[str, str],
    tracks: tuple[Any, Any],
    interviewers: int,
) -> tuple[RTCPeerConnection, str, dict[str, str], list[str]]:
    """Schedule an interview, consent as the candidate and start media: (pc, id, auth, viewer
    tokens)."""
    req = {"title": "bench", "questions": [{"text": "Tell us about yourself."}]}
    async with http.post(f"{base}/api/requisitions", headers=admin, json=req) as r:
        rid = (await r.json())["id"]
    body = {"requisition_id": rid, "candidate_name": "bench", "interviewers": interviewers}
    async with http.post(f"{base}/api/interviews", headers=admin, json=body) as r:
        iv = await r.json()
    iid = iv["id"]
    auth = {"Authorization": f"Bearer {iv['candidate_url'].split('#token=')[1]}"}
    consent = {"accepted": True, "notice_version": "2026-11"}
    await http.post(f"{base}/api/interviews/{iid}/consent", headers=auth, json=consent)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    audio, video = tracks
    prefer(pc, audio, "audio/opus")
    prefer(pc, video, "video/VP8")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with http.post(f"{base}/api/interviews/{iid}/offer", headers=auth, json=offer) as r:
        answer = await r.json()
        if r.status != 200:
            raise RuntimeError(f"offer refused: {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    viewers = [u.split("#token=")[1] for u in iv["interviewer_urls"]]
    return pc, iid, auth, viewers


@dataclass
class Candidate:
    base: str
    admin_key: str
    media: Media
    spoken: list[Answer]
    delay_s: float
    captions: list[Caption] = field(default_factory=list)
    started_at: float | None = None  # monotonic time of the recording's first sample
    closed: str | None = None  # how the WebSocket ended early, if it did
    face_records: list[int] = field(default_factory=lambda: [0, 0])  # without, with a face
    feed: FeedNotes = field(default_factory=FeedNotes)  # the feed's records but captions
    packets_sent: int = 0  # RTP packets this candidate sent (audio and video)

    def _done(self) -> bool:
        """Every answer has a final that reaches its end of speech."""
        results = assign(self.captions, self.spoken)
        return all(r.last_final() is not None for r in results)

    async def run(self, http: aiohttp.ClientSession) -> None:
        await asyncio.sleep(self.delay_s)
        admin = {"Authorization": f"Bearer {self.admin_key}"}
        audio, video = self.media.tracks()
        pc, iid, auth, viewers = await join(http, self.base, admin, (audio, video), 1)
        ws = await http.ws_connect(f"{self.base}/api/interviews/{iid}/live")
        await ws.send_json({"token": viewers[0]})
        deadline = time.monotonic() + 30 + self.spoken[-1].end
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    msg = await ws.receive(timeout=1.0)
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        self.closed = f"{msg.type.name} {ws.close_code}"
                        break
                    rec = json.loads(msg.data)
                    if rec.get("type") != "caption":
                        self.feed.take(rec)
                    if rec.get("type") == "face":  # the video got through and was analysed
                        self.face_records[min(1, int(rec.get("faces") or 0))] += 1
                    if rec.get("type") == "caption":
                        self.captions.append(
                            Caption(
                                time.monotonic(),
                                bool(rec["final"]),
                                int(rec["utterance"]),
                                int(rec.get("segment") or 0),
                                float(rec["t_start"]),
                                float(rec["t_end"]),
                            )
                        )
                        if rec["final"] and self._done():
                            break
                self.started_at = audio.started_at
                if self.started_at is not None:
                    deadline = min(deadline, self.started_at + self.spoken[-1].end + 15)
        finally:
            self.started_at = audio.started_at
            with contextlib.suppress(Exception):  # a connection that already closed
                stats = await pc.getStats()
                self.packets_sent = sum(
                    int(getattr(x, "packetsSent", 0))
                    for x in stats.values()
                    if getattr(x, "type", "") == "outbound-rtp"
                )
            await http.post(f"{self.base}/api/interviews/{iid}/finish", headers=auth)
            await ws.close()
            await pc.close()

    def results(self) -> list[AnswerResult]:
        return assign(self.captions, self.spoken)

    def detail(self) -> dict[str, Any]:
        """This interview's feed, for finding where a lost final went: its finals per answer,
        its captions' last arrival, its notices (times in seconds from the recording's
        start)."""
        t0 = self.started_at
        finals = [c for c in self.captions if c.final]
        return {
            "finals_delivered": sum(r.last_final() is not None for r in self.results()),
            "answers": len(self.spoken),
            "captions": len(self.captions),
            "finals": len(finals),
            "last_caption_at_s": round(max(c.arrived for c in self.captions) - t0, 2)
            if self.captions and t0 is not None
            else None,
            "last_final_media_s": round(max(c.t_end for c in finals), 2) if finals else None,
            "speech_ends_s": round(self.spoken[-1].end, 2),
            "socket_closed": self.closed,
            "rtp_packets_sent": self.packets_sent,
            "interrupted": self.feed.interrupted,
            "dropped_records": self.feed.dropped,
            **self.feed.as_json(t0),
        }


class Sampler:
    """The server's CPU seconds and RSS, and this process's CPU seconds, every 0.25 s; and
    the UDP datagrams dropped for the server's and this process's sockets."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float, float, float]] = []  # t, server cpu, rss, own
        self.udp = UdpDrops({"server": pid, "bench": os.getpid()})

    def take(self) -> None:
        own = time.process_time()
        self.samples.append((time.monotonic(), proc_cpu_s(self.pid), proc_rss_mb(self.pid), own))
        self.udp.sample()

    async def run(self) -> None:
        while True:
            self.take()
            await asyncio.sleep(0.25)

    def window(self, t0: float, t1: float) -> tuple[float, float, float]:
        """(server cores, this process's cores, peak server RSS) between t0 and t1."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return 0.0, 0.0, max((s[2] for s in self.samples), default=0.0)
        a, b = inside[0], inside[-1]
        dt = b[0] - a[0]
        return (b[1] - a[1]) / dt, (b[3] - a[3]) / dt, max(s[2] for s in inside)


async def step(
    base: str,
    key: str,
    n: int,
    media: Media,
    spoken: list[Answer],
    pid: int,
    stagger_s: float,
    profile_to: Path | None,
    profile_python: bool,
    data: Path,
) -> dict[str, Any]:
    cands = [Candidate(base, key, media, spoken, i * stagger_s) for i in range(n)]
    logged = len(log_lines(data))
    rcvbuf0 = udp_rcvbuf_errors()
    consent0 = CONSENT.count
    sampler = Sampler(pid)
    sampling = asyncio.create_task(sampler.run())
    spy: live_profile.Recording | None = None
    spy_s = 0.0

    async def profile() -> None:
        # From when the last candidate has started until the first one's recording ends.
        nonlocal spy, spy_s
        while any(c.started_at is None for c in cands):  # noqa: ASYNC110 (set by aiortc)
            await asyncio.sleep(0.2)
        last = max(c.started_at or 0.0 for c in cands)
        spy_s = max(5.0, min(c.started_at or 0.0 for c in cands) + spoken[-1].end - last - 1)
        if profile_to is not None:
            spy = live_profile.record(pid, spy_s, profile_to, profile_python)

    profiling = asyncio.create_task(profile())
    t_begin = time.monotonic()
    async with polling(base) as poller, aiohttp.ClientSession() as http:
        await asyncio.gather(*(c.run(http) for c in cands))
    sampling.cancel()
    profiling.cancel()
    if spy is not None:
        await asyncio.to_thread(spy.wait)
        out_profile = await asyncio.to_thread(live_profile.summarize, spy)
    # Steady state: every candidate connected and talking, until the first recording ends.
    starts = [c.started_at for c in cands if c.started_at is not None]
    t0 = max(starts, default=t_begin) + 1.0
    t1 = min(starts, default=t_begin) + spoken[-1].end
    cores, own, _ = sampler.window(t0, t1)
    _, _, rss_peak = sampler.window(t_begin, time.monotonic())

    lat: dict[str, list[float]] = {"short": [], "long": []}
    first: list[float] = []
    finals_per_answer: dict[str, list[int]] = {"short": [], "long": []}
    delivered = 0
    for c in cands:
        if c.started_at is None:
            continue
        for r in c.results():
            kind = r.answer.kind
            finals_per_answer[kind].append(len({(f.utterance, f.segment) for f in r.finals}))
            if (x := r.final_latency_s(c.started_at)) is not None:
                lat[kind].append(x * 1000)
                delivered += 1
            if (y := r.first_caption_latency_s(c.started_at)) is not None:
                first.append(y * 1000)
    out: dict[str, Any] = {
        "interviews": n,
        "finals_delivered": delivered,
        "answers_expected": n * len(spoken),
        "first_caption_p95_ms": _r(pct(first, 0.95)),
        "server_cores_busy": round(cores, 3),
        "server_cores_per_interview": round(cores / n, 3),
        "server_rss_peak_mb": round(rss_peak, 1),
        "bench_cores_per_candidate": round(own / n, 3),
        "steady_window_s": round(max(0.0, t1 - t0), 1),
        "sockets_closed_early": [c.closed for c in cands if c.closed],
        # Face records on the live feeds, and how many saw the face: the video is analysed.
        "face_records": sum(sum(c.face_records) for c in cands),
        "face_records_with_face": sum(c.face_records[1] for c in cands),
    }
    # Distinct messages about connections and stages, and warnings, counted.
    out["server_log"] = log_summary(log_lines(data)[logged:])
    # Where finals may have gone: interviews interrupted (their connection dropped), records
    # the server dropped for a slow socket, stages degraded, and the shared ASR's load.
    details = [c.detail() for c in cands]
    out["interrupted"] = [i for i, d in enumerate(details) if d["interrupted"]]
    out["dropped_records"] = sum(d["dropped_records"] for d in details)
    out["degraded"] = sum(d["records"].get("degraded", 0) for d in details)
    out["load"] = poller.summary(t_begin)
    # The face analysis rate the server kept up, per interview (from /readyz): at 5 fps on a
    # still face and 10 on change when it keeps up (pipeline.video_rate).
    out["video_per_interview"] = poller.video_rates(t0, t1, n)
    # Lost audio and video packets: datagrams dropped for a full socket receive buffer.
    out["udp_drops"] = sampler.udp.totals()
    out["udp_rcvbuf_errors"] = udp_rcvbuf_errors() - rcvbuf0
    sent = sum(c.packets_sent for c in cands)
    out["rtp_packets_sent"] = sent
    # The share of the candidates' media the server's full sockets dropped (STUN and RTCP
    # datagrams count too: roughly).
    out["server_udp_drop_share"] = round(out["udp_drops"]["server"] / sent, 4) if sent else None
    out["candidate_consent_expired"] = CONSENT.count - consent0
    out["per_interview"] = details
    all_lat = lat["short"] + lat["long"]
    out["p50_ms"], out["p95_ms"] = _r(pct(all_lat, 0.5)), _r(pct(all_lat, 0.95))
    for kind in ("short", "long"):
        out[kind] = {
            "answers": len(finals_per_answer[kind]),
            "delivered": len(lat[kind]),
            "p50_ms": _r(pct(lat[kind], 0.5)),
            "p95_ms": _r(pct(lat[kind], 0.95)),
            "max_ms": _r(max(lat[kind], default=None)),
            "finals_per_answer": finals_per_answer[kind],
        }
    if spy is not None:
        out["profile"] = out_profile
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


async def viewer_cost(
    base: str, key: str, media: Media, pid: int, viewers: int
) -> list[dict[str, float]]:
    """Server CPU with one live interview and 0..viewers interviewers receiving its video."""
    out = []
    async with aiohttp.ClientSession() as http:
        admin = {"Authorization": f"Bearer {key}"}
        # Silence: a steady load (VAD + face analysis), so only the viewers change the CPU.
        tracks = media.tracks(np.zeros(16_000 * 60, np.float32))
        pc, iid, auth, viewer_tokens = await join(http, base, admin, tracks, max(1, viewers))
        await asyncio.sleep(3)
        watchers: list[RTCPeerConnection] = []
        drains: list[asyncio.Task[None]] = []
        received = [0]
        for k in range(viewers + 1):
            cpu0, t0 = proc_cpu_s(pid), time.monotonic()
            await asyncio.sleep(6)
            out.append(
                {
                    "frames_received": received[0],
                    "viewers": k,
                    "server_cores_busy": round(
                        (proc_cpu_s(pid) - cpu0) / (time.monotonic() - t0), 3
                    ),
                }
            )
            if k == viewers:
                break
            token = viewer_tokens[k]
            w = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            w.addTransceiver("video", direction="recvonly")

            @w.on("track")
            def on_track(track: Any) -> None:
                async def drain() -> None:  # a viewer decodes what it receives
                    with contextlib.suppress(MediaStreamError):
                        while True:
                            await track.recv()
                            received[0] += 1

                drains.append(asyncio.ensure_future(drain()))

            await w.setLocalDescription(await w.createOffer())
            async with http.post(
                f"{base}/api/interviews/{iid}/watch",
                headers={"Authorization": f"Bearer {token}"},
                json={"sdp": w.localDescription.sdp, "type": "offer"},
            ) as r:
                await w.setRemoteDescription(RTCSessionDescription(**(await r.json())))
            watchers.append(w)
            await asyncio.sleep(2)
        await http.post(f"{base}/api/interviews/{iid}/finish", headers=auth)
        for task in drains:
            task.cancel()
        for w in watchers:
            await w.close()
        await pc.close()
    return out


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def print_step(r: dict[str, Any]) -> None:
    s, lg = r["short"], r["long"]
    print(
        f"{r['interviews']:>3} {r['finals_delivered']:>3}/{r['answers_expected']:<3} "
        f"{_ms(s['p50_ms']):>6} {_ms(s['p95_ms']):>6} {_ms(lg['p50_ms']):>6} "
        f"{_ms(lg['p95_ms']):>6} {_ms(r['first_caption_p95_ms']):>7} "
        f"{r['server_cores_busy']:>6.2f} {r['server_cores_per_interview']:>6.3f} "
        f"{r['server_rss_peak_mb']:>7.0f} {r['rss_per_interview_mb']:>7.0f} "
        f"{r['bench_cores_per_candidate']:>6.3f}",
        flush=True,
    )


def print_diagnostics(r: dict[str, Any]) -> None:
    """Whether any interview was interrupted, records dropped, stages degraded; the shared
    ASR's peak load; the server's log about connections and stages."""
    ld = r["load"]
    broken = []
    for i, d in enumerate(r["per_interview"]):
        if d["interrupted"]:
            marks = [
                f"{n['type']} {n.get('state', '')}@{n['at_s']}s"
                for n in d["notices"]
                if n["type"] in ("state", "gap")
            ]
            broken.append(f"#{i} ({', '.join(marks)})")
    print(
        f"    interrupted: {', '.join(broken) if broken else 'none'}; "
        f"records dropped: {r['dropped_records']}; degraded: {r['degraded']}; "
        f"candidates' ICE consent expired: {r['candidate_consent_expired']}\n"
        f"    ASR peak: scale x{ld['max_partial_scale']}, finals queued {ld['max_finals_queued']}, "
        f"final wait p95 {_ms(ld['max_final_wait_p95_ms'])} ms; "
        f"/readyz max {_ms(ld['readyz_max_ms'])} ms, {ld['failures']} failed; "
        f"UDP dropped: {r['udp_drops']} (machine {r['udp_rcvbuf_errors']}; server "
        f"{100 * (r['server_udp_drop_share'] or 0):.1f}% of {r['rtp_packets_sent']} sent)"
    )
    if v := r.get("video_per_interview"):
        print(
            f"    video per interview: {v['decoded_fps']} fps decoded, {v['analysed_fps']} "
            f"analysed, {v['replaced_per_s']}/s replaced before analysis ({v['seconds']} s)"
        )
    for d_i, d in enumerate(r["per_interview"]):
        if d["finals_delivered"] < d["answers"]:
            print(
                f"    #{d_i}: {d['finals_delivered']}/{d['answers']} finals; speech "
                f"{d['speech_starts']} starts {d['speech_ends']} ends; last caption at "
                f"{d['last_caption_at_s']} s (speech ends {d['speech_ends_s']} s); "
                f"notices {[n['type'] for n in d['notices']]}"
            )
    for w, count in r["server_log"].items():
        print(f"    server log x{count}: {w}")


def within(r: dict[str, Any], p95_ms: float, kinds: tuple[str, ...] = ("short", "long")) -> bool:
    """Every final delivered and the p95 of each answer length (of all answers with
    kinds=()) within `p95_ms`."""
    p95s = [r[k]["p95_ms"] for k in kinds if r[k]["answers"]] if kinds else [r["p95_ms"]]
    delivered = r["finals_delivered"] == r["answers_expected"]
    return delivered and all(p is not None and p <= p95_ms for p in p95s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="1,2,4,8", help="interviews at once, e.g. 1,2,4,8,10,12")
    ap.add_argument("--max-interviews", type=int, help="steps 1..N (the old interface)")
    ap.add_argument("--short", type=int, default=4, help="~5 s answers per interview")
    ap.add_argument("--long", type=int, default=2, help="~30 s answers per interview")
    ap.add_argument("--viewers", type=int, default=2)
    ap.add_argument("--stagger-s", type=float, default=0.7, help="between candidates' starts")
    ap.add_argument("--simulator", choices=("packets", "encode"), default="packets")
    ap.add_argument("--profile-steps", default="", help="py-spy the server in these steps")
    ap.add_argument(
        "--profile-python", action="store_true", help="py-spy too (costs the server's cores)"
    )
    ap.add_argument("--profile-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--quick", action="store_true", help="steps 1,2; 2 short and 1 long answer")
    ap.add_argument("--server-tree", type=Path, help="run the server from this source tree")
    ap.add_argument(
        "--server-env", action="append", default=[], help="K=V for the server, e.g. to try a knob"
    )
    ap.add_argument(
        "--server-log-level", default="WARNING", help="INFO: connection events in the log too"
    )
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in logs
    steps = [int(x) for x in args.steps.split(",") if x]
    if args.max_interviews:
        steps = list(range(1, args.max_interviews + 1))
    if args.quick:
        steps, args.short, args.long, args.viewers = [1, 2], 2, 1, 1
    server_env = dict(kv.split("=", 1) for kv in args.server_env)
    profile_steps = {int(x) for x in args.profile_steps.split(",") if x}
    host = machine()  # the commit as the run starts (others may commit meanwhile)
    with tempfile.TemporaryDirectory() as tmp:
        pcm, spoken = answers(args.short, args.long, Path(tmp))
        opus, silence = opus_packets(pcm)
        media = Media(args.simulator == "encode", pcm, opus, silence, face_loop_vp8())
        # The simulators' and the interviewer sockets' own full garbage collections (over the
        # ~100k objects made by now) would pause them ~110 ms, timed as server latency.
        freeze_startup_objects()
        data = Path(tmp) / "data"
        proc, base = start_server(
            data, max(steps), args.server_tree, server_env, args.server_log_level
        )
        results: list[dict[str, Any]] = []
        viewers: list[dict[str, float]] = []
        try:
            key = (data / "admin.key").read_text().strip()
            time.sleep(3)  # settle: whatever the server loads at start is loaded
            idle0, t0 = proc_cpu_s(proc.pid), time.monotonic()
            time.sleep(3)
            idle_cores = (proc_cpu_s(proc.pid) - idle0) / (time.monotonic() - t0)
            rss_base = proc_rss_mb(proc.pid)
            kinds = [a.kind for a in spoken]
            print(
                f"answers per interview: {kinds.count('short')} short "
                f"(~{np.mean([a.end - a.start for a in spoken if a.kind == 'short']):.1f} s), "
                f"{kinds.count('long')} long "
                f"(~{np.mean([a.end - a.start for a in spoken if a.kind == 'long'] or [0]):.1f} s)"
                f"; simulator: {args.simulator}; server idle {idle_cores:.3f} cores, "
                f"RSS {rss_base:.0f} MB"
            )
            print(
                "  n  finals  short p50/p95   long p50/p95  1st p95  cores  /intvw"
                "  RSS MB  MB/intv  bench/c"
            )
            for n in steps:
                prof = args.profile_dir / f"live-profile-{n}.txt" if n in profile_steps else None
                r = asyncio.run(
                    step(
                        base,
                        key,
                        n,
                        media,
                        spoken,
                        proc.pid,
                        args.stagger_s,
                        prof,
                        args.profile_python,
                        data,
                    )
                )
                r["rss_per_interview_mb"] = round((r["server_rss_peak_mb"] - rss_base) / n, 1)
                if results:  # the slope from the step before: what one more interview costs
                    prev = results[-1]
                    extra = (r["server_rss_peak_mb"] - prev["server_rss_peak_mb"]) / (
                        n - prev["interviews"]
                    )
                    r["rss_per_extra_interview_mb"] = round(extra, 1)
                results.append(r)
                print_step(r)
                print_diagnostics(r)
                if r["sockets_closed_early"]:
                    print(f"    sockets closed early: {r['sockets_closed_early']}")
                if "profile" in r:
                    p = r.pop("profile")
                    print(f"server profile, {n} interview(s) ({p.seconds:.0f} s sampled):")
                    print(live_profile.table(p), flush=True)
                    r["profile"] = p.as_json()
                saturated = r["p95_ms"] is None or r["p95_ms"] > SATURATED_MS
                if saturated or r["finals_delivered"] < 0.9 * r["answers_expected"]:
                    print(f"saturated at {n} interviews: no larger step")
                    break
            capacity = max(
                (r["interviews"] for r in results if within(r, CAPACITY_P95_MS)), default=0
            )
            capacity_all = max(
                (r["interviews"] for r in results if within(r, CAPACITY_P95_MS, ())), default=0
            )
            print(
                f"capacity within p95 <= {CAPACITY_P95_MS:.0f} ms with every final delivered: "
                f"{capacity} for short and long answers each, {capacity_all} for all answers "
                f"together (targets: p50 <= {TARGET_P50_MS:.0f}, p95 <= {TARGET_P95_MS:.0f} ms "
                f"per answer length, first caption p95 <= {TARGET_FIRST_P95_MS:.0f} ms, "
                f"<= {TARGET_CORES_PER_INTERVIEW} cores per interview)"
            )
            if args.viewers:
                viewers = asyncio.run(viewer_cost(base, key, media, proc.pid, args.viewers))
            for v in viewers:
                print(
                    f"1 interview, {v['viewers']} video viewer(s): "
                    f"server {v['server_cores_busy']:.2f} cores busy "
                    f"({v['frames_received']:.0f} video frames received by viewers so far)"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    payload = {
        "machine": host,
        "server_tree": str(args.server_tree) if args.server_tree else None,
        "server_env": server_env,
        "simulator": args.simulator,
        "answers": [{"kind": a.kind, "seconds": round(a.end - a.start, 2)} for a in spoken],
        "stagger_s": args.stagger_s,
        "server_idle_cores": round(idle_cores, 3),
        "server_rss_baseline_mb": round(rss_base, 1),
        "targets": {
            "p50_ms": TARGET_P50_MS,
            "p95_ms": TARGET_P95_MS,
            "capacity_p95_ms": CAPACITY_P95_MS,
            "first_caption_p95_ms": TARGET_FIRST_P95_MS,
            "cores_per_interview": TARGET_CORES_PER_INTERVIEW,
        },
        "steps": results,
        "capacity": capacity,  # each answer length's p95 within CAPACITY_P95_MS
        "capacity_all_answers": capacity_all,  # the p95 of all answers together
        "viewers": viewers,
    }
    path = write_json("live", payload, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

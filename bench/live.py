"""Live interviews over real WebRTC: caption latency and capacity.

    python -m bench.live [--max-interviews N] [--viewers V] [--utterances U]

Starts `hirestream serve` as its own process (embedded Redis, SQLite in a temp folder); this
process plays the candidates (aiortc: synthesized speech + a moving real face, 640x480 at
15 fps) and an interviewer WebSocket per interview. For 1, 2, ... interviews at once it reports
speech end -> final caption delivered on the interviewer WebSocket (p50, p95), and the server
process's CPU (cores busy) and memory per step; it stops after the first step that misses the
target (p95 <= 850 ms: the ASR target plus 50 ms to reach the interviewer). Then, with one
interview, it adds relayed-video viewers to measure what each costs the server in CPU.
The candidates' encoders share the same 2 cores, so the numbers are pessimistic.
Writes bench/results/live.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from bench.asr_latency import TEXTS
from bench.common import write_json
from bench.rtc_client import FaceTrack, SpeechTrack
from bench.speech import Spoken, conversation

TARGET_P95_MS = 850.0
CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(data: Path, max_live: int) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env |= {
        "HIRESTREAM_DATA_DIR": str(data),
        "HIRESTREAM_PORT": "0",
        "HIRESTREAM_MAX_LIVE_INTERVIEWS": str(max_live),
        "HIRESTREAM_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if m := re.search(r"running at (http://\S+)/", line):
            return proc, m.group(1)
    raise RuntimeError("server did not start")


async def join(
    http: aiohttp.ClientSession,
    base: str,
    admin: dict[str, str],
    audio: Any,
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
    pc.addTrack(audio)
    pc.addTrack(await asyncio.to_thread(FaceTrack))
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with http.post(f"{base}/api/interviews/{iid}/offer", headers=auth, json=offer) as r:
        answer = await r.json()
        if r.status != 200:
            raise RuntimeError(f"offer refused: {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    viewers = [u.split("#token=")[1] for u in iv["interviewer_urls"]]
    return pc, iid, auth, viewers


class Candidate:
    def __init__(self, base: str, admin_key: str, pcm: Any, spoken: list[Spoken]) -> None:
        self.base, self.admin = base, {"Authorization": f"Bearer {admin_key}"}
        self.pcm, self.spoken = pcm, spoken
        self.latencies_ms: list[float] = []
        self.finals = 0

    async def run(self, http: aiohttp.ClientSession) -> None:
        speech = SpeechTrack(self.pcm)
        pc, iid, auth, viewers = await join(http, self.base, self.admin, speech, 1)
        viewer = viewers[0]
        ws = await http.ws_connect(f"{self.base}/api/interviews/{iid}/live")
        await ws.send_json({"token": viewer})
        deadline = time.monotonic() + self.spoken[-1].end + 15
        async for msg in ws:
            rec = json.loads(msg.data)
            if rec.get("type") == "caption" and rec.get("final") and speech.started_at:
                now = time.monotonic()
                # The utterance this final belongs to: the last one that ended before now.
                ended = [s for s in self.spoken if speech.started_at + s.end <= now]
                if ended and self.finals < len(self.spoken):
                    self.latencies_ms.append((now - speech.started_at - ended[-1].end) * 1000)
                    self.finals += 1
            if self.finals >= len(self.spoken) or time.monotonic() > deadline:
                break
        await http.post(f"{self.base}/api/interviews/{iid}/finish", headers=auth)
        await ws.close()
        await pc.close()


async def step(
    base: str, key: str, n: int, pcm: Any, spoken: list[Spoken], pid: int
) -> dict[str, Any]:
    cands = [Candidate(base, key, pcm, spoken) for _ in range(n)]
    cpu0, t0 = proc_cpu_s(pid), time.monotonic()
    rss_peak = 0.0

    async def sample() -> None:
        nonlocal rss_peak
        while True:
            rss_peak = max(rss_peak, proc_rss_mb(pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(c.run(http) for c in cands))
    sampler.cancel()
    cores = (proc_cpu_s(pid) - cpu0) / (time.monotonic() - t0)
    lat = sorted(x for c in cands for x in c.latencies_ms)
    return {
        "interviews": n,
        "finals": sum(c.finals for c in cands),
        "expected_finals": n * len(spoken),
        "p50_ms": statistics.median(lat) if lat else None,
        "p95_ms": lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] if lat else None,
        "server_cores_busy": round(cores, 3),
        "server_rss_peak_mb": round(rss_peak, 1),
    }


async def viewer_cost(
    base: str, key: str, pcm: Any, spoken: list[Spoken], pid: int, viewers: int
) -> list[dict[str, float]]:
    """Server CPU with one live interview and 0..viewers interviewers receiving its video."""
    out = []
    async with aiohttp.ClientSession() as http:
        admin = {"Authorization": f"Bearer {key}"}
        # Silence: a steady load (VAD + face analysis), so only the viewers change the CPU.
        silence = SpeechTrack(np.zeros(16_000 * 60, np.float32))
        pc, iid, auth, viewer_tokens = await join(http, base, admin, silence, max(1, viewers))
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-interviews", type=int, default=6)
    ap.add_argument("--viewers", type=int, default=2)
    ap.add_argument("--utterances", type=int, default=4)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pcm, spoken = conversation(TEXTS[: args.utterances], Path(tmp), [1.6])
        proc, base = start_server(Path(tmp) / "data", max(1, args.max_interviews))
        try:
            key = (Path(tmp) / "data" / "admin.key").read_text().strip()
            steps = []
            head = ("interviews", "finals", "p50 ms", "p95 ms", "cores", "RSS MB")
            print("{:>10} {:>7} {:>7} {:>7} {:>6} {:>7}".format(*head))
            capacity = 0
            for n in range(1, args.max_interviews + 1):
                r = asyncio.run(step(base, key, n, pcm, spoken, proc.pid))
                steps.append(r)
                print(
                    f"{n:>10} {r['finals']:>3}/{r['expected_finals']:<3} "
                    f"{r['p50_ms'] or 0:>7.0f} {r['p95_ms'] or 0:>7.0f} "
                    f"{r['server_cores_busy']:>6.2f} {r['server_rss_peak_mb']:>7.0f}"
                )
                if (
                    r["p95_ms"] is None
                    or r["p95_ms"] > TARGET_P95_MS
                    or r["finals"] < r["expected_finals"]
                ):
                    break
            ok = [
                s
                for s in steps
                if s["p95_ms"]
                and s["p95_ms"] <= TARGET_P95_MS
                and s["finals"] == s["expected_finals"]
            ]
            capacity = max((s["interviews"] for s in ok), default=0)
            print(
                f"capacity within target (p95 <= {TARGET_P95_MS:.0f} ms, every final delivered): "
                f"{capacity}"
            )
            viewers = asyncio.run(viewer_cost(base, key, pcm, spoken, proc.pid, args.viewers))
            for v in viewers:
                print(
                    f"1 interview, {v['viewers']} video viewer(s): "
                    f"server {v['server_cores_busy']:.2f} cores busy "
                    f"({v['frames_received']:.0f} video frames received by viewers so far)"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    path = write_json("live", {"steps": steps, "capacity": capacity, "viewers": viewers}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

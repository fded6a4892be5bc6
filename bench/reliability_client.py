"""HTTP, WebSocket and WebRTC clients of the reliability bench: the admin API (schedule,
consent, finish, state, report), every status code counted, and real aiortc candidates
(bench.rtc_client's synthesized speech and moving face) that can be started and dropped.

Only 127.0.0.1 is ever called. WebRTC media is the exception aioice imposes: it never offers
127.0.0.1 as a candidate, so media flows between this host's own interface addresses, which
the kernel delivers locally; `check_local_candidates` refuses any SDP naming an address this
host does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import ifaddr
import numpy as np
import numpy.typing as npt
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from bench.rtc_client import FaceTrack, SpeechTrack

NOTICE_VERSION = "2026-11"
REQUEST_TIMEOUT_S = 30.0


def local_addresses() -> set[str]:
    out = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            out.add(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
    return out


def check_local_candidates(sdp: str, local: set[str]) -> None:
    """Refuse an SDP whose ICE candidates point anywhere but this host."""
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            addr = line.split()[4]
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(addr).is_loopback:
                    continue
            if addr not in local:
                raise RuntimeError(f"ICE candidate {addr} is not on this host: refusing")


@dataclass
class Interview:
    id: str
    token: str  # the candidate's
    viewers: list[str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tally:
    """Every HTTP status this bench received from the server, by code."""

    codes: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # no response at all, by kind

    def add(self, status: int) -> None:
        self.codes[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status_codes": {str(k): v for k, v in sorted(self.codes.items())},
            "5xx": self.server_errors,
            "no_response": dict(self.errors),
        }


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str, admin_key: str) -> None:
        if urlsplit(base).hostname != "127.0.0.1":
            raise RuntimeError(f"{base}: this bench talks to 127.0.0.1 only")
        self.http, self.base = http, base
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.tally = Tally()
        self.local = local_addresses()

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        """(status, JSON or text); status 0 when no response came (connection refused...)."""
        try:
            async with self.http.request(
                method,
                self.base + path,
                headers=headers if headers is not None else self.admin,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                **kw,
            ) as r:
                body: Any = await r.text()
                if r.content_type == "application/json":
                    with contextlib.suppress(ValueError):
                        body = await r.json()
                self.tally.add(r.status)
                return r.status, body
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            self.tally.errors[type(err).__name__] += 1
            return 0, str(err)

    async def requisition(self, title: str = "reliability") -> str:
        req = {"title": title, "questions": [{"text": "Tell us about yourself."}]}
        status, body = await self.call("POST", "/api/requisitions", json=req)
        if status != 201:
            raise RuntimeError(f"requisition refused: {status} {body}")
        return str(body["id"])

    async def schedule(self, rid: str, consent: bool = True, viewers: int = 1) -> Interview:
        body = {"requisition_id": rid, "candidate_name": "Bench Candidate", "interviewers": viewers}
        status, iv = await self.call("POST", "/api/interviews", json=body)
        if status != 201:
            raise RuntimeError(f"interview refused: {status} {iv}")
        out = Interview(
            iv["id"],
            iv["candidate_url"].split("#token=")[1],
            [u.split("#token=")[1] for u in iv["interviewer_urls"]],
        )
        if consent:
            consent_body = {"accepted": True, "notice_version": NOTICE_VERSION}
            status, got = await self.call(
                "POST", f"/api/interviews/{out.id}/consent", out.auth, json=consent_body
            )
            if status != 200:
                raise RuntimeError(f"consent refused: {status} {got}")
        return out

    async def offer(self, iv: Interview, sdp: Any, path: str = "offer") -> tuple[int, Any]:
        token = iv.token if path == "offer" else iv.viewers[0]
        return await self.call(
            "POST",
            f"/api/interviews/{iv.id}/{path}",
            {"Authorization": f"Bearer {token}"},
            json={"sdp": sdp, "type": "offer"},
        )

    async def finish(self, iv: Interview) -> int:
        status, _ = await self.call("POST", f"/api/interviews/{iv.id}/finish", iv.auth)
        return status

    async def state(self, iid: str) -> str | None:
        status, body = await self.call("GET", f"/api/interviews/{iid}")
        return str(body["state"]) if status == 200 else None

    async def has_report(self, iid: str) -> bool:
        status, _ = await self.call("GET", f"/api/interviews/{iid}/report")
        return status == 200

    async def readyz(self) -> int:
        status, _ = await self.call("GET", "/readyz", {})
        return status

    async def wait_ready(self, deadline_s: float, interval_s: float = 0.25) -> float | None:
        """Seconds until /readyz answers 200, or None if it did not within the deadline."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while loop.time() - t0 < deadline_s:
            if await self.readyz() == 200:
                return loop.time() - t0
            await asyncio.sleep(interval_s)
        return None


async def real_offer_sdp() -> str:
    """A real aiortc offer (audio and video) to mutate; its peer is closed right away."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(SpeechTrack(np.zeros(16_000, np.float32)))
    pc.addTrack(await asyncio.to_thread(FaceTrack))
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


class Candidate:
    """A real WebRTC candidate: speech (then silence) and a moving face, until stopped."""

    def __init__(self, api: Api, iv: Interview, pcm: npt.NDArray[np.float32]) -> None:
        self.api, self.iv, self.pcm = api, iv, pcm
        self.pc: RTCPeerConnection | None = None
        self.status = 0  # of the offer
        self.speech: SpeechTrack | None = None

    async def start(self) -> bool:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.speech = SpeechTrack(self.pcm)
        pc.addTrack(self.speech)
        pc.addTrack(await asyncio.to_thread(FaceTrack))
        await pc.setLocalDescription(await pc.createOffer())
        check_local_candidates(pc.localDescription.sdp, self.api.local)
        self.status, answer = await self.api.offer(self.iv, pc.localDescription.sdp)
        if self.status != 200:
            await pc.close()
            return False
        check_local_candidates(answer["sdp"], self.api.local)
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        self.pc = pc
        return True

    @property
    def spoken_s(self) -> float:
        """Seconds of recording sent so far."""
        if self.speech is None or self.speech.started_at is None:
            return 0.0
        return time.monotonic() - self.speech.started_at

    async def finish(self) -> int:
        """Finish through the API (as the candidate page does), then hang up."""
        status = await self.api.finish(self.iv)
        await self.hang_up()
        return status

    async def hang_up(self) -> None:
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
            self.pc = None


async def wait_states(
    api: Api, ids: list[str], pending: set[str], deadline_s: float
) -> dict[str, str | None]:
    """Poll the interviews' states until none is in `pending` or the deadline passes."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    states: dict[str, str | None] = {}
    while True:
        states = {iid: await api.state(iid) for iid in ids}
        if not any(s in pending for s in states.values()) or loop.time() - t0 > deadline_s:
            return states
        await asyncio.sleep(0.5)

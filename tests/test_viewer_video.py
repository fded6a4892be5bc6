"""Interviewers' video: the candidate's frames are encoded once for every viewer, and only
while someone watches (real aiortc candidate and viewers, the real server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bench.rtc_client import FaceTrack, SpeechTrack
from server.app_keys import INTERVIEWS_KEY
from server.settings import Settings
from tests.test_live_webrtc import bearer, offer_sdp
from tests.test_signaling_limits import Client, clients, consented, eventually, make_client

__all__ = ["clients"]  # the fixture, used by name


class Viewer:
    """An interviewer's receive-only peer connection that decodes what it gets."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("video", direction="recvonly")
        self.frames = 0
        self.sizes: set[tuple[int, int]] = set()
        self.moving = False  # two frames that differ: real pictures, not a frozen one
        self._last: Any = None
        self._drain: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        async def drain() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    self.frames += 1
                    self.sizes.add((frame.width, frame.height))  # type: ignore[union-attr]
                    gray = frame.to_ndarray(format="gray")  # type: ignore[union-attr]
                    if self._last is not None and np.abs(gray - self._last).mean() > 0.5:
                        self.moving = True
                    self._last = gray.astype(np.int16)

        self._drain = asyncio.ensure_future(drain())

    async def watch(self, c: Client, iid: str, token: str) -> str:
        r = await c.post(
            f"/api/interviews/{iid}/watch",
            json={"sdp": await offer_sdp(self.pc), "type": "offer"},
            headers=bearer(token),
        )
        assert r.status == 200, await r.text()
        answer = await r.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))
        return str(answer["sdp"])

    async def close(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
        await self.pc.close()


async def test_viewers_share_one_encode_started_by_the_first_viewer(
    clients: list[Client], make_settings: Callable[..., Settings]
) -> None:
    c = await make_client(make_settings(media_timeout_s=60, max_viewers_per_interview=3))
    clients.append(c)
    iv = await consented(c)
    iid = iv["id"]
    candidate = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    candidate.addTrack(SpeechTrack(np.zeros(16_000 * 60, np.float32)))
    candidate.addTrack(await asyncio.to_thread(FaceTrack))
    r = await c.post(
        f"/api/interviews/{iid}/offer",
        json={"sdp": await offer_sdp(candidate), "type": "offer"},
        headers=bearer(iv["candidate_token"]),
    )
    assert r.status == 200, await r.text()
    await candidate.setRemoteDescription(RTCSessionDescription(**(await r.json())))
    live = c.app[INTERVIEWS_KEY].live.live[iid]

    async def analysing() -> bool:
        return bool(live.session.video.face.analyzed >= 10)

    await eventually(analysing, "the candidate's video reaches the analysis")
    encoder = live.viewer_video
    assert encoder is not None
    assert encoder.frames_encoded == 0  # nobody watches: no encode at all

    viewers = [Viewer(), Viewer()]
    for v in viewers:
        sdp = await v.watch(c, iid, iv["viewer_token"])
        video = sdp[sdp.index("m=video") :]
        assert "VP8/90000" in video and "H264" not in video  # the shared packets are VP8

    async def both_receive() -> bool:
        return all(v.frames >= 30 for v in viewers)

    await eventually(both_receive, "both viewers receive the candidate's video")
    encoded, received = encoder.frames_encoded, [v.frames for v in viewers]
    await asyncio.sleep(2)
    encoded = encoder.frames_encoded - encoded
    received = [v.frames - n for v, n in zip(viewers, received, strict=True)]
    # One encode per frame for both viewers: each viewer gets about every encoded frame,
    # where an encoder per viewer would have encoded both viewers' frames.
    assert encoded > 10 and encoded < sum(received), (encoded, received)
    assert all(n >= 0.8 * encoded for n in received), (encoded, received)
    assert encoder.keyframes >= 2  # each new viewer starts on a keyframe
    assert all(v.sizes == {(640, 480)} and v.moving for v in viewers)

    # One viewer leaves; the other keeps receiving from the same encoder.
    await viewers[0].close()

    async def one_left() -> bool:
        return bool(encoder.viewers == 1)

    await eventually(one_left, "the viewer who left is unsubscribed")
    before = viewers[1].frames
    await eventually(lambda: _more(viewers[1], before + 15), "the remaining viewer keeps receiving")
    r = await c.post(f"/api/interviews/{iid}/finish", headers=bearer(iv["candidate_token"]))
    assert r.status == 200
    await viewers[1].close()
    await candidate.close()


async def _more(viewer: Viewer, frames: int) -> bool:
    return viewer.frames >= frames

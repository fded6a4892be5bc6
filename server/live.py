"""Live interviews over WebRTC: one aiortc peer connection per candidate, its tracks feeding
an InterviewSession; interviewers receive the candidate's video relayed by the server.

Every accepted track is read until it ends (a track nobody reads grows memory without bound).
A live interview is released (peer connections, tasks, worker threads, models) on hang-up,
when its connection fails, when no media arrives for `media_timeout_s`, and on finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from pipeline.session import InterviewSession
from server.settings import Settings

log = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024


class BadOffer(Exception):
    """400: the SDP offer cannot be used (malformed, or no audio)."""


class Busy(Exception):
    """503: the cap on concurrent live interviews is reached."""


def rtc_configuration(settings: Settings) -> RTCConfiguration:
    # An explicit list: aiortc's default reaches out to a public STUN server.
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(
                urls=s.urls,
                username=s.username,
                credential=s.credential.get_secret_value() if s.credential else None,
            )
            for s in settings.ice_servers
        ]
    )


def parse_offer(sdp: str) -> RTCSessionDescription:
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadOffer(f"SDP offer larger than {MAX_SDP_BYTES} bytes")
    if not sdp.startswith("v=0") or "m=" not in sdp:
        raise BadOffer("not an SDP offer (it must start with v=0 and hold m= sections)")
    return RTCSessionDescription(sdp=sdp, type="offer")


@dataclass
class LiveInterview:
    interview_id: str
    pc: RTCPeerConnection
    session: InterviewSession
    relay: MediaRelay = field(default_factory=MediaRelay)
    video: MediaStreamTrack | None = None
    viewers: set[RTCPeerConnection] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    last_media: float = field(default_factory=time.monotonic)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class LiveRegistry:
    def __init__(
        self,
        settings: Settings,
        make_session: Callable[[str], Awaitable[InterviewSession]],
        on_ended: Callable[[str, str, InterviewSession], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self._make_session = make_session
        # (interview id, reason, session) once a live interview is released: the report
        self._on_ended = on_ended
        self.live: dict[str, LiveInterview] = {}

    def __len__(self) -> int:
        return len(self.live)

    async def start(self, interview_id: str, offer_sdp: str) -> str:
        """Answer the candidate's offer; media flows into a new session."""
        offer = parse_offer(offer_sdp)
        if interview_id in self.live:
            raise BadOffer("this interview is already live")
        if len(self.live) >= self.settings.max_live_interviews:
            raise Busy(f"{len(self.live)} interviews are live, the most this server takes")
        pc = RTCPeerConnection(rtc_configuration(self.settings))
        # Tracks are announced during setRemoteDescription: listen before it.
        early: list[MediaStreamTrack] = []
        pc.on("track", early.append)
        try:
            await pc.setRemoteDescription(offer)
        except Exception as err:  # aiortc raises ValueError and friends for bad SDP
            await pc.close()
            raise BadOffer(f"SDP offer rejected: {err}") from None
        if not any(t.kind == "audio" for t in early):
            await pc.close()
            raise BadOffer("the offer has no audio track")
        session = await self._make_session(interview_id)
        live = LiveInterview(interview_id, pc, session)
        self.live[interview_id] = live

        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                live.video = live.relay.subscribe(track, buffered=False)
                self._spawn(live, self._consume(live, live.relay.subscribe(track, buffered=False)))
            else:
                self._spawn(live, self._consume(live, track))

        pc.remove_listener("track", early.append)
        pc.on("track", on_track)
        for track in early:
            on_track(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.release(interview_id, f"connection {pc.connectionState}")

        session.start()
        self._spawn(live, self._watchdog(live))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _spawn(self, live: LiveInterview, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        live.tasks.add(task)
        task.add_done_callback(live.tasks.discard)

    async def _consume(self, live: LiveInterview, track: MediaStreamTrack) -> None:
        push = live.session.push_video if track.kind == "video" else live.session.push_audio
        try:
            while True:
                frame = await track.recv()
                live.last_media = time.monotonic()
                push(frame)  # type: ignore[arg-type]
        except MediaStreamError:  # the track ended: hang-up
            pass

    async def _watchdog(self, live: LiveInterview) -> None:
        timeout = self.settings.media_timeout_s
        while not live.closed.is_set():
            await asyncio.sleep(min(1.0, timeout / 4))
            if time.monotonic() - live.last_media > timeout:
                self._spawn_release(live.interview_id, f"no media for {timeout:.0f} s")
                return

    def _spawn_release(self, interview_id: str, reason: str) -> None:
        task = asyncio.ensure_future(self.release(interview_id, reason))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def watch(self, interview_id: str, offer_sdp: str) -> str:
        """An interviewer's receive-only offer: answer with the candidate's video relayed."""
        offer = parse_offer(offer_sdp)
        live = self.live.get(interview_id)
        if live is None:
            raise BadOffer("this interview is not live")
        pc = RTCPeerConnection(rtc_configuration(self.settings))
        live.viewers.add(pc)
        try:
            await pc.setRemoteDescription(offer)
        except Exception as err:
            live.viewers.discard(pc)
            await pc.close()
            raise BadOffer(f"SDP offer rejected: {err}") from None
        if live.video is not None:
            pc.addTrack(live.relay.subscribe(live.video, buffered=False))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                live.viewers.discard(pc)
                await pc.close()

        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def release(self, interview_id: str, reason: str, drain: bool = False) -> None:
        """Tear a live interview down; with `drain`, let the last answer's final through first."""
        live = self.live.pop(interview_id, None)
        if live is None:
            return
        live.closed.set()
        log.info("interview %s: live session ended (%s)", interview_id, reason)
        for pc in [live.pc, *live.viewers]:
            with contextlib.suppress(Exception):
                await pc.close()
        current = asyncio.current_task()
        for task in list(live.tasks):
            if task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if drain:
            await live.session.finish()
        await live.session.aclose()
        with contextlib.suppress(Exception):  # Redis down: the keys have no TTL to set anyway
            await live.session.store.expire(self.settings.live_state_ttl_s)
        await self._on_ended(interview_id, reason, live.session)

    async def aclose(self) -> None:
        for iid in list(self.live):
            await self.release(iid, "server stopping")

"""Live interviews over WebRTC: one aiortc peer connection per candidate, its tracks feeding
an InterviewSession; interviewers receive the candidate's video relayed by the server.

Every accepted track is read until it ends (a track nobody reads grows memory without bound).
When the candidate's connection is lost (closed, failed, or no media for `media_timeout_s`)
the connection and the tasks reading it are closed but the session is kept, paused (an open
utterance ends there), for `rejoin_grace_s`: the same invite may attach a new connection to
it (`rejoin`), whose media continues the timeline after a gap. A session is released
(tasks, worker threads, models) on finish and when the grace period passes without a rejoin,
each ending in a report; and when the server stops, without one (the interview stays
resumable from its live history).

An offer is checked and fully negotiated (remote description, answer, local description)
before anything is spent or started: an offer aiortc would accept and then fail on in the
background (no fingerprint, no ICE credentials or candidates, duplicate mids, no audio) is a
BadOffer up front. Interviews being negotiated count against `max_live_interviews`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    sdp,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import X509_DIGEST_ALGORITHMS

from pipeline.events import MediaGap
from pipeline.session import InterviewSession
from pipeline.video_pipeline import VideoCounts
from server.live_fanout import LiveFanout
from server.rtc_audio import prompt_audio
from server.settings import Settings
from server.viewer_video import SharedVideoEncoder, prefer_vp8

log = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
# Pausing a dropped session (flushing its audio, letting the open utterance end) normally takes
# the VAD's hangover; a stage that stopped taking input must not hold the interview's lock.
CLOSE_LIMIT_S = 15.0  # closing a session: its stages, threads and models
PAUSE_LIMIT_S = 10.0
# One SDP line: a type letter, "=", then a value without control characters (tab allowed).
_SDP_LINE = re.compile(r"[a-z]=[^\x00-\x08\x0a-\x1f\x7f]*")


class BadOffer(Exception):
    """400: the SDP offer cannot be used (malformed, unanswerable, or no audio)."""


class Busy(Exception):
    """503: the cap on concurrent live interviews is reached."""


class InUse(Exception):
    """409: another offer for this interview is being answered right now."""


class TooManyViewers(Exception):
    """429: the interview already has as many viewers as the server allows."""


def rtc_configuration(settings: Settings) -> RTCConfiguration:
    # An explicit list: aiortc's default reaches out to a public STUN server.
    return RTCConfiguration(iceServers=[RTCIceServer(**s.plain()) for s in settings.ice_servers])


def _usable(candidate: RTCIceCandidate) -> bool:
    """A candidate our ICE agent can pair with: UDP (aioice gathers only UDP), RTP component,
    a real port, and an IP address or an mDNS name (browsers hide host addresses so)."""
    if candidate.component != 1 or candidate.protocol.lower() != "udp":
        return False
    if not 0 < candidate.port < 65536:
        return False
    if candidate.ip.endswith(".local"):
        return True
    try:
        return not ipaddress.ip_address(candidate.ip).is_unspecified
    except ValueError:
        return False


def _sends(media: sdp.MediaDescription) -> bool:
    return (media.direction or "sendrecv") in ("sendrecv", "sendonly")


def _check_lines(sdp_text: str) -> None:
    """RFC 8866 lines, `<type>=<value>`: aiortc skips anything else, we refuse it."""
    lines = re.split(r"\r?\n", sdp_text)
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not _SDP_LINE.fullmatch(line):
            raise BadOffer(f"SDP line {number} is not <type>=<value> or holds control characters")


def _check_description(desc: sdp.SessionDescription, receive_only: bool) -> None:
    """What aiortc accepts but cannot answer or connect: refuse it before anything starts."""
    active = [m for m in desc.media if m.port != 0]
    if not active:
        raise BadOffer("the offer has no active m= sections")
    for kind in ("audio", "video", "application"):
        count = sum(1 for m in active if m.kind == kind)
        if count > 1:  # one microphone, one camera: a second track would be mixed into them
            raise BadOffer(f"the offer has {count} active m={kind} sections; one is allowed")
    mids: set[str] = set()
    for m in desc.media:
        mid = m.rtp.muxId
        if not mid:
            raise BadOffer(f"an m={m.kind} section has no a=mid")
        if mid in mids:
            raise BadOffer(f"a=mid:{mid} appears in more than one m= section")
        mids.add(mid)
    by_mid = {m.rtp.muxId: m for m in desc.media}
    bundle = next((g.items for g in desc.group if g.semantic == "BUNDLE" and g.items), [])
    for item in bundle:
        if str(item) not in by_mid:
            raise BadOffer(f"a=group:BUNDLE names mid {item}, which no m= section has")
    for m in active:
        where = f"m={m.kind} (mid {m.rtp.muxId})"
        secure = "DTLS/SCTP" in m.profile if m.kind == "application" else "SAVP" in m.profile
        if not secure:
            raise BadOffer(f"{where} uses {m.profile}; WebRTC needs DTLS-SRTP (UDP/TLS/RTP/SAVPF)")
        if m.ice is None or not m.ice.usernameFragment or not m.ice.password:
            raise BadOffer(f"{where} has no a=ice-ufrag/a=ice-pwd")
        if m.dtls is None:
            raise BadOffer(f"{where} has no a=setup")
        if not any(f.algorithm.lower() in X509_DIGEST_ALGORITHMS for f in m.dtls.fingerprints):
            raise BadOffer(f"{where} has no a=fingerprint with a supported hash")
        if m.host is None and desc.host is None:
            raise BadOffer(f"{where} has no connection data (c=)")
        # A bundled section travels on the first bundled section's transport.
        carrier = by_mid.get(str(bundle[0]), m) if m.rtp.muxId in bundle else m
        if not any(_usable(c) for c in carrier.ice_candidates):
            raise BadOffer(
                f"{where} has no usable ICE candidate (a UDP a=candidate line); "
                "send the offer once ICE gathering is complete"
            )
    if receive_only:
        if any(_sends(m) for m in active if m.kind in ("audio", "video")):
            raise BadOffer("a viewer's offer must be receive-only (a=recvonly)")
        if not any(m.kind == "video" for m in active):
            raise BadOffer("the offer has no video m= section to receive")
    elif not any(m.kind == "audio" and _sends(m) for m in active):
        raise BadOffer("the offer sends no audio (an m=audio section, sendrecv or sendonly)")


def parse_offer(sdp_text: str, receive_only: bool = False) -> RTCSessionDescription:
    """The offer, checked so that everything accepted here can be answered and connected.

    `receive_only`: an interviewer's offer (receives video, sends nothing); otherwise a
    candidate's, which must send audio."""
    if len(sdp_text.encode()) > MAX_SDP_BYTES:
        raise BadOffer(f"SDP offer larger than {MAX_SDP_BYTES} bytes")
    if not sdp_text.startswith("v=0") or "m=" not in sdp_text:
        raise BadOffer("not an SDP offer (it must start with v=0 and hold m= sections)")
    _check_lines(sdp_text)
    try:  # aiortc's parser raises ValueError, AssertionError, KeyError... on bad lines
        desc = sdp.SessionDescription.parse(sdp_text)
    except Exception as err:
        raise BadOffer(f"SDP offer does not parse: {type(err).__name__} {err}".strip()) from None
    _check_description(desc, receive_only)
    return RTCSessionDescription(sdp=sdp_text, type="offer")


async def close_quietly(pc: RTCPeerConnection) -> None:
    """Close a peer connection in any state; aiortc can raise from a half-set-up one."""
    try:
        await pc.close()
    except Exception as err:
        log.debug("closing a peer connection raised %s: %s", type(err).__name__, err)


async def answer_offer(
    settings: Settings,
    offer: RTCSessionDescription,
    before_answer: Callable[[RTCPeerConnection], None] = lambda pc: None,
    before_offer: Callable[[RTCPeerConnection], None] = lambda pc: None,
) -> tuple[RTCPeerConnection, list[MediaStreamTrack]]:
    """The whole negotiation (remote description, answer, local description) on a new peer
    connection, and the remote tracks it announced. Any failure closes it: BadOffer.
    `before_offer` runs before the offer is applied (codec preferences only count then)."""
    pc = RTCPeerConnection(rtc_configuration(settings))
    tracks: list[MediaStreamTrack] = []
    pc.on("track", tracks.append)  # tracks are announced during setRemoteDescription
    try:
        before_offer(pc)
        await pc.setRemoteDescription(offer)
        prompt_audio(pc)  # before any packet: audio is analysed, not played
        before_answer(pc)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as err:  # aiortc raises ValueError and friends for what it cannot answer
        await close_quietly(pc)
        raise BadOffer(f"SDP offer rejected: {err}") from None
    except BaseException:  # cancelled: nothing may stay open
        await close_quietly(pc)
        raise
    pc.remove_listener("track", tracks.append)
    return pc, tracks


@dataclass
class LiveInterview:
    interview_id: str
    pc: RTCPeerConnection
    session: InterviewSession
    relay: MediaRelay = field(default_factory=MediaRelay)
    # the candidate's video, encoded once for every viewer (read only while someone watches)
    viewer_video: SharedVideoEncoder | None = None
    # each viewer's peer connection, with the relayed track it sends (stopped with it)
    viewers: dict[RTCPeerConnection, MediaStreamTrack | None] = field(default_factory=dict)
    viewers_negotiating: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    last_media: float = field(default_factory=time.monotonic)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Detached:
    """A session whose candidate connection dropped: kept, with its pipelines, scorer and
    facts, for a rejoin until `expiry` finishes it."""

    session: InterviewSession
    reason: str
    at: datetime  # wall-clock time of the drop (UTC)
    expiry: asyncio.Task[None] | None = None


@dataclass
class Negotiated:
    """A candidate's offer answered, holding a live-interview slot, not yet live: the invite
    may be spent now. `LiveRegistry.go_live` starts it (or `rejoin` attaches it to the
    interview's session); `abandon` gives everything back."""

    interview_id: str
    pc: RTCPeerConnection
    tracks: list[MediaStreamTrack]
    answer: str
    done: bool = False


class NotResumable(Exception):
    """410: the session to rejoin is gone (finished, or the grace period passed)."""


class LiveRegistry:
    def __init__(
        self,
        settings: Settings,
        make_session: Callable[[str], Awaitable[InterviewSession]],
        on_ended: Callable[[str, str, InterviewSession], Awaitable[None]],
        on_detached: Callable[[str, str], Awaitable[None]] | None = None,
        on_resumed: Callable[[str], Awaitable[None]] | None = None,
        revive: Callable[[str], Awaitable[InterviewSession | None]] | None = None,
    ) -> None:
        self.settings = settings
        self._make_session = make_session
        # (interview id, reason, session) once a live interview is released: the report
        self._on_ended = on_ended
        # (interview id, reason) once its connection dropped and the session waits; and once
        # a rejoin attached (before media flows): the interview's state follows these.
        self._on_detached = on_detached
        self._on_resumed = on_resumed
        # A session for an interrupted interview this process holds none of (a server
        # restart lost it), seeded from its history; None when it cannot be resumed.
        self._revive = revive
        self.live: dict[str, LiveInterview] = {}
        self.detached: dict[str, Detached] = {}
        # sessions being released (draining, reporting): still held, so nothing else (a
        # sweep, a rejoin after a restart) takes the interview meanwhile
        self.releasing: dict[str, InterviewSession] = {}
        # Every transition moves a session between live, detached and releasing in one step,
        # never leaving it in none across an await: holds() never blinks, and the sessions
        # held are always those three's. What ended ones analysed is kept here (/readyz).
        self._ended_video = VideoCounts()
        self._released = asyncio.Event()  # set whenever a release finished
        # interviews whose offer is being answered: they count against the capacity
        self.negotiating: set[str] = set()
        self._fanout: LiveFanout | None = None
        # One transition at a time per interview (drop, rejoin, release); held only by
        # whoever uses it, so finished interviews leave nothing behind.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        return len(self.live)

    def video_load(self) -> VideoCounts:
        """The video analysis of every session this process ran, since it started (a load
        figure for /readyz: counters, so they never drop when an interview ends)."""
        held = [live.session for live in self.live.values()]
        held += [detached.session for detached in self.detached.values()]
        held += self.releasing.values()
        return VideoCounts.total((self._ended_video, *(s.video.counts() for s in held)))

    def lock(self, interview_id: str) -> asyncio.Lock:
        """The interview's transition lock (drop, rejoin, release; the service's finish from
        history takes it too, so a rejoin after a restart cannot race it)."""
        return self._lock(interview_id)

    def _lock(self, interview_id: str) -> asyncio.Lock:
        lock = self._locks.get(interview_id)
        if lock is None:
            lock = self._locks[interview_id] = asyncio.Lock()
        return lock

    def session_of(self, interview_id: str) -> InterviewSession | None:
        """The analysis session this process holds for the interview (live or detached)."""
        live = self.live.get(interview_id)
        if live is not None:
            return live.session
        detached = self.detached.get(interview_id)
        return detached.session if detached is not None else None

    def holds(self, interview_id: str) -> bool:
        """Whether this process has the interview's session: live, waiting for a rejoin, or
        being released (its report not stored yet)."""
        return any(interview_id in d for d in (self.live, self.detached, self.releasing))

    def detached_at(self, interview_id: str) -> datetime | None:
        """When the candidate's connection dropped, if their session waits for a rejoin."""
        detached = self.detached.get(interview_id)
        return detached.at if detached is not None else None

    def fanout(self, client: aioredis.Redis) -> LiveFanout:
        """The one live-record fan-out of this server (made on first use, closed by aclose)."""
        if self._fanout is None:
            self._fanout = LiveFanout(
                client,
                max_per_token=self.settings.max_live_sockets_per_token,
                max_per_interview=self.settings.max_live_sockets_per_interview,
            )
        return self._fanout

    async def negotiate(
        self, interview_id: str, offer_sdp: str, rejoin: bool = False
    ) -> Negotiated:
        """Check and answer the candidate's offer, reserving a slot; nothing starts yet.
        `rejoin`: the offer will attach to the interview's session (`rejoin`), which holds
        its slot already.

        Raises BadOffer (400), InUse (409) or Busy (503), having released what it took."""
        offer = parse_offer(offer_sdp)
        if interview_id in self.negotiating:
            raise InUse("an offer for this interview is being answered")
        held = interview_id in self.live or interview_id in self.detached
        if held and not rejoin:
            raise BadOffer("this interview is already live")
        taken = len(self.live) + len(self.detached) + len(self.negotiating)
        if not held and taken >= self.settings.max_live_interviews:
            raise Busy(f"{taken} interviews are live or starting, the most this server takes")
        self.negotiating.add(interview_id)  # before the first await: concurrent offers count
        try:
            pc, tracks = await answer_offer(self.settings, offer)
            if not any(t.kind == "audio" for t in tracks):  # parse_offer checked; aiortc agrees
                await close_quietly(pc)
                raise BadOffer("the offer has no audio track")
        except BaseException:
            self.negotiating.discard(interview_id)
            raise
        return Negotiated(interview_id, pc, tracks, pc.localDescription.sdp)

    async def abandon(self, negotiated: Negotiated) -> None:
        """Give back an answered offer that will not go live (idempotent; no-op once live)."""
        if negotiated.done:
            return
        negotiated.done = True
        self.negotiating.discard(negotiated.interview_id)
        await close_quietly(negotiated.pc)

    async def go_live(self, negotiated: Negotiated) -> None:
        """Start the session of an answered offer; media flows into it. On failure the
        negotiation is abandoned and the error raised."""
        if negotiated.done:
            raise RuntimeError("this negotiation was already used or abandoned")
        try:
            session = await self._make_session(negotiated.interview_id)
        except BaseException:
            await self.abandon(negotiated)
            raise
        self._attach(negotiated, session)
        session.start()

    async def rejoin(self, negotiated: Negotiated) -> MediaGap:
        """Attach an answered offer to the interview's session: the candidate came back on a
        new connection. A live one still held (dropped, not noticed yet) is detached first.
        The gap is marked in the session's timeline. Raises NotResumable when there is no
        session to rejoin (the negotiation is then abandoned)."""
        if negotiated.done:
            raise RuntimeError("this negotiation was already used or abandoned")
        iid = negotiated.interview_id
        try:
            async with self._lock(iid):
                live = self.live.get(iid)
                if live is not None:
                    await self._detach(live, "the candidate connected again")
                detached = self.detached.get(iid)  # held there until it is live again
                if detached is None:
                    gap = await self._rejoin_revived(negotiated)
                else:
                    if detached.expiry is not None:
                        detached.expiry.cancel()
                    resumed = False
                    try:
                        if self._on_resumed is not None:
                            await self._on_resumed(iid)
                        resumed = True
                        gap = await detached.session.resume(f"connection lost: {detached.reason}")
                        del self.detached[iid]
                        self._attach(negotiated, detached.session)
                    except BaseException:
                        self._keep(iid, detached)  # still waiting for a rejoin
                        if resumed:  # the interview is not live after all
                            await self._undo_resume(iid, "the rejoin failed")
                        raise
        except BaseException:
            await self.abandon(negotiated)
            raise
        log.info("interview %s: the candidate rejoined after %.1f s", iid, gap.duration_s)
        return gap

    async def _rejoin_revived(self, negotiated: Negotiated) -> MediaGap:
        """Under the lock: no session held (the server restarted since the drop): a new one,
        seeded from the interview's history, goes on where that stopped."""
        iid = negotiated.interview_id
        if iid in self.releasing:  # its session is ending with its report right now
            raise NotResumable("this interview has ended")
        session = await self._revive(iid) if self._revive is not None else None
        if session is None:
            raise NotResumable("this interview has ended")
        resumed = False
        try:
            if self._on_resumed is not None:
                await self._on_resumed(iid)
            resumed = True
            session.start()
            gap = await session.resume("the server restarted")
            self._attach(negotiated, session)
        except BaseException:
            await session.aclose()
            if resumed:  # back to interrupted: the history still covers it
                await self._undo_resume(iid, "the rejoin failed")
            raise
        return gap

    async def _undo_resume(self, iid: str, reason: str) -> None:
        """A rejoin moved the interview to live and then failed: it is interrupted again."""
        if self._on_detached is None:
            return
        try:
            await self._on_detached(iid, reason)
        except Exception:
            log.exception("interview %s: could not record the failed rejoin", iid)

    def _attach(self, negotiated: Negotiated, session: InterviewSession) -> None:
        """The answered offer's tracks feed `session`; its connection is watched."""
        negotiated.done = True
        interview_id, pc = negotiated.interview_id, negotiated.pc
        self.negotiating.discard(interview_id)
        live = LiveInterview(interview_id, pc, session)
        self.live[interview_id] = live

        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                if live.viewer_video is None:
                    video = live.relay.subscribe(track, buffered=False)
                    live.viewer_video = SharedVideoEncoder(video)
                self._spawn(live, self._consume(live, live.relay.subscribe(track, buffered=False)))
            else:
                self._spawn(live, self._consume(live, track))

        pc.on("track", on_track)
        for track in negotiated.tracks:
            on_track(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.drop(live, f"connection {pc.connectionState}")

        self._spawn(live, self._watchdog(live))
        if pc.connectionState in ("failed", "closed"):  # it gave up before we listened
            self._spawn_drop(live, f"connection {pc.connectionState}")

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
                self._spawn_drop(live, f"no media for {timeout:.0f} s")
                return

    def _spawn_drop(self, live: LiveInterview, reason: str) -> None:
        task = asyncio.ensure_future(self.drop(live, reason))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def drop(self, live: LiveInterview, reason: str) -> None:
        """The candidate's connection `live` was lost (failed, closed, no media): its session
        waits `rejoin_grace_s` for them to come back, then finishes. A no-op for a connection
        already replaced or released."""
        async with self._lock(live.interview_id):
            if self.live.get(live.interview_id) is live:
                await self._detach(live, reason)

    async def _detach(self, live: LiveInterview, reason: str) -> None:
        """Under the interview's lock: close the connection, keep the session."""
        iid = live.interview_id
        del self.live[iid]
        log.info("interview %s: connection lost (%s); kept for a rejoin", iid, reason)
        detached = Detached(live.session, reason, datetime.now(UTC))
        self.detached[iid] = detached  # the grace period starts once it is paused (_keep)
        try:
            await self._close_connection(live)
            async with asyncio.timeout(PAUSE_LIMIT_S):
                await live.session.pause()
        except Exception:  # a stage failed or stalled: the session is kept all the same
            log.exception("interview %s: pausing the session failed", iid)
        finally:  # even when cancelled: the session waits, then ends with its report
            self._keep(iid, detached)
        if self._on_detached is not None:
            try:
                await self._on_detached(iid, reason)
            except Exception:  # the database hiccuped: the session still waits, then ends
                log.exception("interview %s: could not record the interruption", iid)

    def _keep(self, iid: str, detached: Detached) -> None:
        self.detached[iid] = detached
        left = self.settings.rejoin_grace_s - (datetime.now(UTC) - detached.at).total_seconds()
        detached.expiry = asyncio.ensure_future(self._expire(iid, detached, max(0.0, left)))
        detached.expiry.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _expire(self, iid: str, detached: Detached, after_s: float) -> None:
        await asyncio.sleep(after_s)
        grace = self.settings.rejoin_grace_s
        reason = f"{detached.reason}; the candidate did not rejoin within {grace:.0f} s"
        try:
            await self.release(iid, reason, drain=True, only=detached)
        except Exception:  # nobody awaits this task: say so, or the failure goes unseen
            log.exception(
                "interview %s: ending it after the grace period failed; the sweep finishes "
                "it from its live history",
                iid,
            )

    async def _close_connection(self, live: LiveInterview) -> None:
        """The candidate's and the viewers' peer connections and the tasks reading them."""
        live.closed.set()
        await close_quietly(live.pc)
        for viewer in list(live.viewers):
            await self._drop_viewer(live, viewer)
        if live.viewer_video is not None:
            await live.viewer_video.aclose()
        current = asyncio.current_task()
        for task in list(live.tasks):
            if task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def watch(self, interview_id: str, offer_sdp: str) -> str:
        """An interviewer's receive-only offer: answer with the candidate's video relayed.

        Raises BadOffer (400) or TooManyViewers (429). A viewer whose connection is not up
        within `viewer_connect_timeout_s` is closed and dropped."""
        offer = parse_offer(offer_sdp, receive_only=True)
        live = self.live.get(interview_id)
        if live is None:
            raise BadOffer("this interview is not live")
        cap = self.settings.max_viewers_per_interview
        if len(live.viewers) + live.viewers_negotiating >= cap:
            raise TooManyViewers(f"this interview already has {cap} viewers, the most allowed")
        track = live.viewer_video.subscribe() if live.viewer_video else None

        def add_video(pc: RTCPeerConnection) -> None:
            if track is not None:
                pc.addTransceiver(track, direction="sendonly")
                prefer_vp8(pc)

        live.viewers_negotiating += 1
        try:
            pc, _ = await answer_offer(self.settings, offer, before_offer=add_video)
        except BaseException:
            if track is not None:
                track.stop()
            raise
        finally:
            live.viewers_negotiating -= 1
        if live.closed.is_set():  # released while we answered
            await self._drop_viewer(live, pc, track)
            raise BadOffer("this interview is not live")
        live.viewers[pc] = track

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop_viewer(live, pc)

        self._spawn(live, self._viewer_deadline(live, pc))
        return str(pc.localDescription.sdp)

    async def _viewer_deadline(self, live: LiveInterview, pc: RTCPeerConnection) -> None:
        await asyncio.sleep(self.settings.viewer_connect_timeout_s)
        if pc in live.viewers and pc.connectionState != "connected":
            log.info("interview %s: a viewer did not connect in time", live.interview_id)
            await self._drop_viewer(live, pc)

    async def _drop_viewer(
        self, live: LiveInterview, pc: RTCPeerConnection, track: MediaStreamTrack | None = None
    ) -> None:
        track = live.viewers.pop(pc, track)
        if track is not None:
            track.stop()  # unsubscribes it from the shared encoder
        await close_quietly(pc)

    async def release(
        self,
        interview_id: str,
        reason: str,
        drain: bool = False,
        report: bool = True,
        only: Detached | None = None,
    ) -> None:
        """End the interview's session, live or waiting for a rejoin; with `drain`, let the
        last answer's final through first. Without `report`, the session ends unreported (it
        never properly went live). `only`: release only while that detached session waits."""
        session: InterviewSession | None = None
        try:
            async with self._lock(interview_id):
                if only is not None and self.detached.get(interview_id) is not only:
                    return
                live = self.live.pop(interview_id, None)
                detached = self.detached.pop(interview_id, None)
                if live is not None:
                    session = live.session
                elif detached is not None:
                    expiry = detached.expiry
                    if expiry is not None and expiry is not asyncio.current_task():
                        expiry.cancel()
                    session = detached.session
                else:
                    return
                self.releasing[interview_id] = session
                if live is not None:
                    await self._close_connection(live)
                log.info("interview %s: live session ended (%s)", interview_id, reason)
                try:
                    if drain:
                        await session.finish()
                finally:  # a failed drain still closes the session: its threads, its models
                    await self._close_session(interview_id, session)
                    with contextlib.suppress(Exception):  # Redis down: no TTL to set
                        await session.store.expire(self.settings.live_state_ttl_s)
            if report:
                await self._on_ended(interview_id, reason, session)
        finally:
            # Even when a step failed: a session left in `releasing` would be held for good,
            # and sweeps would never finish its interview from the history.
            if session is not None:  # put in `releasing` in the same step it was found
                del self.releasing[interview_id]
                self._ended_video = VideoCounts.total((self._ended_video, session.video.counts()))
                self._released.set()

    async def _close_session(self, interview_id: str, session: InterviewSession) -> None:
        """Close a session, bounded: a close that hangs must not hold the interview's lock
        (nor a server's shutdown) for good. What is still pending is logged by task name so
        a hang can be traced (seen once in a test run: after a drop at shutdown)."""
        try:
            async with asyncio.timeout(CLOSE_LIMIT_S):
                await session.aclose()
        except TimeoutError:
            pending = sorted(
                t.get_name() for t in asyncio.all_tasks() if not t.done() and t.get_name()
            )
            log.error(
                "interview %s: closing its session took over %.0f s; left behind "
                "(tasks pending: %s)",
                interview_id,
                CLOSE_LIMIT_S,
                ", ".join(pending[:30]),
            )

    async def aclose(self) -> None:
        """The server is stopping: sessions end without a report, like a crash but with the
        answer in progress reaching the live history. Their interviews stay live (or
        interrupted); the next start makes them interrupted, the same link resumes them from
        that history within the grace period, or they are finished from it. So a restart (a
        deploy) does not end anyone's interview."""
        for live in list(self.live.values()):
            await self._close_connection(live)
            try:
                async with asyncio.timeout(PAUSE_LIMIT_S):
                    await live.session.pause()
            except Exception:
                log.exception("interview %s: pausing the session failed", live.interview_id)
        for iid in [*self.live, *self.detached]:
            await self.release(iid, "server stopping", report=False)
        # Sessions another task is releasing (a grace period that just ran out) finish their
        # last final and report before the shared models close under them.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_LIMIT_S):
                while self.releasing:
                    self._released.clear()
                    await self._released.wait()
        if self._fanout is not None:
            await self._fanout.aclose()

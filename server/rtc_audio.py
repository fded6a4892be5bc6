"""Candidate audio reaches the pipeline one packet after it arrives, and a lost packet does
not delay it for the rest of the call.

aiortc's receiver holds audio in a jitter buffer that releases a frame only once 4 later
frames are in (`JitterBuffer(capacity=16, prefetch=4)` in aiortc 1.16's rtcrtpreceiver.py):
about 80 ms of smoothing meant for playback. The server plays nothing; it analyses, and every
one of those milliseconds is added to the end of speech -> final caption delay. With a
prefetch of 1 a frame goes out when the next packet shows it is whole (20 ms, not 80).

Loss is worse: the buffer waits for a missing packet until 16 later ones fill it, drops the
frames before the gap with it, then makes room for one arrival at a time, so from the first
lost packet on every frame is 14 packets (280 ms) late for the rest of the call (aiortc issue
#543; tests/test_rtc_audio.py plays it). `AnalysisJitterBuffer` gives up on a missing
packet once `prefetch + 1` later ones are in (40 ms: reordering by one packet still lands),
which leaves the buffer holding what it holds without loss. The audio ingress fills the gap
from the timestamps and flags it, as for any lost packet.

aiortc has no option for it, so the receiver's private buffer is replaced before any packet
arrives (after the offer is applied, before the connection is up). aiortc is pinned in
requirements.lock and tests/test_live_webrtc.py checks the buffer in place, so an upgrade that
renames it fails there instead of silently bringing the delay back.
"""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer, JitterFrame

log = logging.getLogger(__name__)

AUDIO_PREFETCH = 1  # frames after the one released (aiortc's own audio default: 4)
_SLOT = "_RTCRtpReceiver__jitter_buffer"  # RTCRtpReceiver.__jitter_buffer, name-mangled


class AnalysisJitterBuffer(JitterBuffer):
    """aiortc's buffer for audio, where a packet is a whole frame (Opus): the oldest frame goes
    out once a later packet is in (prefetch 1), and a missing packet is given up on once
    `skip_after` later ones are in. One frame per arrival, as the receiver takes them."""

    def __init__(self, capacity: int, skip_after: int = AUDIO_PREFETCH + 1) -> None:
        super().__init__(capacity, prefetch=AUDIO_PREFETCH)
        self.skip_after = skip_after
        self.skipped = 0  # packets given up on

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if self._origin is None:
            return None
        held = [
            i
            for i in range(self._capacity)
            if self._packets[(self._origin + i) % self._capacity] is not None
        ]
        if held and held[0] > 0:  # the oldest packet is missing
            if len(held) < self.skip_after:
                return None  # it may still come (reordered)
            self.skipped += held[0]
            self.remove(held[0])
            held = [i - held[0] for i in held]
        if len(held) < 1 + AUDIO_PREFETCH:
            return None
        packet = self._packets[self._origin % self._capacity]
        assert packet is not None
        self.remove(1)
        return JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def prompt_audio(pc: RTCPeerConnection) -> int:
    """Give the audio receivers of `pc` the analysis jitter buffer; how many were changed."""
    changed = 0
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "audio":
            continue
        current = getattr(receiver, _SLOT, None)
        if not isinstance(current, JitterBuffer):
            log.warning("aiortc's audio jitter buffer moved: audio keeps its 80 ms prefetch")
            continue
        setattr(receiver, _SLOT, AnalysisJitterBuffer(current.capacity))
        changed += 1
    return changed


def audio_prefetch(pc: RTCPeerConnection) -> list[int]:
    """The prefetch of each audio receiver's jitter buffer (for tests and diagnostics)."""
    return [
        getattr(t.receiver, _SLOT)._prefetch
        for t in pc.getTransceivers()
        if t.kind == "audio" and isinstance(getattr(t.receiver, _SLOT, None), JitterBuffer)
    ]

"""Candidate audio reaches the pipeline one packet after it arrives, not four.

aiortc's receiver holds audio in a jitter buffer that releases a frame only once 4 later
frames are in (`JitterBuffer(capacity=16, prefetch=4)` in aiortc 1.16's rtcrtpreceiver.py):
about 80 ms of smoothing meant for playback. The server plays nothing; it analyses, and every
one of those milliseconds is added to the end of speech -> final caption delay. Reordering and
loss are handled by the buffer's slots whatever the prefetch (a frame still waits for a gap
before it), so a prefetch of 1 (the next packet shows the frame is whole) only removes delay.

aiortc has no option for it, so the receiver's private buffer is replaced before any packet
arrives (after the offer is applied, before the connection is up). aiortc is pinned in
requirements.lock and tests/test_live_webrtc.py checks the buffer in place, so an upgrade that
renames it fails there instead of silently bringing the delay back.
"""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer

log = logging.getLogger(__name__)

AUDIO_PREFETCH = 1  # frames after the one released (aiortc's own audio default: 4)
_SLOT = "_RTCRtpReceiver__jitter_buffer"  # RTCRtpReceiver.__jitter_buffer, name-mangled


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
        setattr(receiver, _SLOT, JitterBuffer(capacity=current.capacity, prefetch=AUDIO_PREFETCH))
        changed += 1
    return changed


def audio_prefetch(pc: RTCPeerConnection) -> list[int]:
    """The prefetch of each audio receiver's jitter buffer (for tests and diagnostics)."""
    return [
        getattr(t.receiver, _SLOT)._prefetch
        for t in pc.getTransceivers()
        if t.kind == "audio" and isinstance(getattr(t.receiver, _SLOT, None), JitterBuffer)
    ]

"""One VP8 encode of the candidate's video for all the interviewers watching it.

aiortc's sender encodes whatever frames its track yields, so every viewer of a relayed track
meant one more VP8 encode of every frame (about 0.045 cores each at 640x480, 15 fps on the
development machine). Here one encoder per interview turns each frame into a VP8 packet once,
on its own worker thread, and every viewer's track yields that same packet: aiortc's
RTCRtpSender sends a pre-encoded `av.Packet` as it is, only cutting it into RTP payloads
(`Vp8Encoder.pack`). Viewers therefore get VP8 only (`prefer_vp8`).

What sharing gives up, on purpose:
- per-viewer bitrate adaptation (REMB): one target bitrate for everyone (interviewers
  watch on office or home connections, where 600 kbit/s is modest);
- keyframe requests (PLI/FIR) from one viewer, which aiortc applies only to frames it
  encodes itself: instead a viewer whose connection comes up restarts the encoder (its first
  frame is a keyframe; at most one restart a second) and libvpx makes one every
  KEYFRAME_FRAMES, so a viewer that lost packets or fell behind recovers within about 3 s.

The frame objects are shared with the face analysis on another thread, so the encoder never
changes them: it forces no picture type on a frame, and converts with its own reformatter
(a frame's own one is not safe on two threads: that crashed a bench).

The encoder reads the candidate's video only while someone watches: with no viewer there is
no per-frame work at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

import av
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.reformatter import VideoReformatter

log = logging.getLogger(__name__)

# The stubs make Packet generic over its stream; at run time it is not subscriptable.
if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet

BITRATE = 600_000
KEYFRAME_FRAMES = 45  # 3 s at the 15 fps the candidate page asks for
VIDEO_TIME_BASE = Fraction(1, 90_000)  # RTP's video clock
QUEUE_FRAMES = 30  # a viewer this far behind starts again from the next keyframe
RESTART_MIN_S = 1.0


class EncodedVideoTrack(MediaStreamTrack):
    """One viewer's video: the shared encoder's packets, in order."""

    kind = "video"

    def __init__(self, encoder: SharedVideoEncoder) -> None:
        super().__init__()
        self._encoder: SharedVideoEncoder | None = encoder
        self._packets: deque[Packet | None] = deque()
        self._ready = asyncio.Event()
        self._reading = False  # aiortc reads only once the viewer's connection is up
        self._waiting_for_key = True  # a decoder can only start on a keyframe

    def put(self, packet: Packet | None) -> None:
        if not self._reading and packet is not None:
            return  # nothing queues for a viewer not connected yet
        if packet is not None and self._waiting_for_key:
            if not packet.is_keyframe:
                return
            self._waiting_for_key = False
        if len(self._packets) >= QUEUE_FRAMES:
            # Stalled: start again at the encoder's next keyframe (at most KEYFRAME_FRAMES
            # away), without restarting it for the viewers who keep up.
            self._packets.clear()
            self._waiting_for_key = True
            return
        self._packets.append(packet)
        self._ready.set()

    async def recv(self) -> Packet:
        if not self._reading:  # the viewer is connected: it starts on a fresh keyframe
            self._reading = True
            if self._encoder is not None:
                self._encoder.request_keyframe()
        while not self._packets:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        packet = self._packets.popleft()
        if packet is None:  # the candidate's video ended
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self._ready.set()
        if self._encoder is not None:
            self._encoder.unsubscribe(self)
            self._encoder = None


class SharedVideoEncoder:
    """Encodes `source` (a relay subscription to the candidate's video) once for every
    subscribed viewer. Counters: `frames_encoded`, `keyframes`."""

    def __init__(self, source: MediaStreamTrack, bitrate: int = BITRATE) -> None:
        self._source = source
        self._bitrate = bitrate
        self._viewers: set[EncodedVideoTrack] = set()
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viewer-encode")
        self._codec: av.VideoCodecContext | None = None
        self._reformatter = VideoReformatter()
        self._restart = True  # the next frame opens a new encoder: a keyframe
        self._restarted_at = float("-inf")
        self.frames_encoded = 0
        self.keyframes = 0

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def subscribe(self) -> EncodedVideoTrack:
        track = EncodedVideoTrack(self)
        self._viewers.add(track)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="viewer-encode")
        return track

    def unsubscribe(self, track: EncodedVideoTrack) -> None:
        self._viewers.discard(track)

    def request_keyframe(self) -> None:
        """A keyframe soon: the encoder restarts at the next frame, unless it did less than
        RESTART_MIN_S ago (viewers joining together share one; the periodic one is near)."""
        if time.monotonic() - self._restarted_at >= RESTART_MIN_S:
            self._restart = True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._viewers:
                frame = cast(av.VideoFrame, await self._source.recv())
                packets = await loop.run_in_executor(self._executor, self._encode, frame)
                for packet in packets:
                    for viewer in list(self._viewers):
                        viewer.put(packet)
        except MediaStreamError:  # the candidate's video ended: so does every viewer's
            for viewer in list(self._viewers):
                viewer.put(None)
        except Exception:
            log.exception("encoding the video for viewers failed")
            for viewer in list(self._viewers):
                viewer.put(None)

    def _encode(self, frame: av.VideoFrame) -> list[Packet]:
        """On the encoder's thread: one frame -> its VP8 packets (usually one)."""
        if frame.format.name != "yuv420p":
            frame = self._reformatter.reformat(frame, format="yuv420p")
        codec = self._codec
        if (
            self._restart
            or codec is None
            or (codec.width, codec.height)
            != (
                frame.width,
                frame.height,
            )
        ):
            codec = self._codec = self._open(frame.width, frame.height)
            self._restart = False
            self._restarted_at = time.monotonic()
        base = frame.time_base or VIDEO_TIME_BASE
        pts = int(frame.pts * base / VIDEO_TIME_BASE) if frame.pts is not None else 0
        out = []
        for packet in codec.encode(frame):
            packet.pts = pts
            packet.time_base = VIDEO_TIME_BASE
            if packet.is_keyframe:
                self.keyframes += 1
            out.append(packet)
        self.frames_encoded += 1
        return out

    def _open(self, width: int, height: int) -> av.VideoCodecContext:
        # aiortc's own real-time VP8 settings (aiortc/codecs/vpx.py), at one fixed bitrate.
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height = width, height
        codec.bit_rate = self._bitrate
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.gop_size = KEYFRAME_FRAMES
        codec.qmin, codec.qmax = 2, 56
        codec.options = {
            "bufsize": str(self._bitrate),
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(self._bitrate),
            "maxrate": str(self._bitrate),
            "noise-sensitivity": "4",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        codec.thread_count = 1  # one core's share: the rest serve the analysis
        return codec

    async def aclose(self) -> None:
        for viewer in list(self._viewers):
            viewer.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._source.stop()
        self._codec = None
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)


def prefer_vp8(pc: RTCPeerConnection) -> None:
    """Offer only VP8 on `pc`'s video senders: the shared packets are VP8."""
    vp8 = [
        c
        for c in RTCRtpSender.getCapabilities("video").codecs
        if c.mimeType.lower() in ("video/vp8", "video/rtx")
    ]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(vp8)

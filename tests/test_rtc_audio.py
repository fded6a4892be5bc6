"""The candidate's audio jitter buffer: one packet behind without loss, and after a lost
packet too (aiortc's own stalls until 16 later packets are in, then stays ~300 ms late)."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from server.rtc_audio import AUDIO_PREFETCH, AnalysisJitterBuffer

SAMPLES = 960  # 20 ms of Opus at 48 kHz: the RTP timestamp step


def packet(seq: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=seq % 65536, timestamp=seq * SAMPLES)
    p._data = seq.to_bytes(4, "big")  # type: ignore[attr-defined]  # what the receiver sets
    return p


def play(buffer: JitterBuffer, order: list[int]) -> list[tuple[int, int | None]]:
    """(packet that arrived, the frame released then or None), as the receiver sees it."""
    out = []
    for seq in order:
        _, frame = buffer.add(packet(seq))
        out.append((seq, None if frame is None else int.from_bytes(frame.data, "big")))
    return out


def test_in_order_each_frame_goes_out_when_the_next_packet_arrives() -> None:
    released = play(AnalysisJitterBuffer(16), list(range(10)))
    assert released == [(0, None)] + [(s, s - 1) for s in range(1, 10)]


def test_a_lost_packet_delays_nothing_after_it() -> None:
    order = [s for s in range(40) if s != 5]
    buf = AnalysisJitterBuffer(16)
    released = dict(play(buf, order))
    assert released[6] == 4  # 4 goes out once a later packet is in, the gap or not
    assert released[7] == 6  # 5 given up on once two later packets are in
    assert all(released[s] == s - 1 for s in range(8, 40))  # one packet behind, as before
    assert buf.skipped == 1
    # aiortc's playback buffer waits for 5 until it is full, drops 1-4 with it, and is 14
    # packets (280 ms) behind from then on.
    stock = dict(play(JitterBuffer(capacity=16, prefetch=4), order))
    assert all(stock[s] is None for s in range(6, 20))
    assert [stock[s] for s in (4, 20, 39)] == [0, 6, 25]


def test_a_packet_one_late_is_not_lost() -> None:
    buf = AnalysisJitterBuffer(16)
    released = [f for _, f in play(buf, [0, 1, 2, 4, 3, 5, 6, 7])]
    assert [f for f in released if f is not None] == [0, 1, 2, 3, 4, 5, 6]
    assert buf.skipped == 0


def test_sequence_numbers_wrap() -> None:
    start = 65530
    released = [f for _, f in play(AnalysisJitterBuffer(16), list(range(start, start + 12)))]
    assert [f for f in released if f is not None] == list(range(start, start + 11))
    assert AnalysisJitterBuffer(16)._prefetch == AUDIO_PREFETCH

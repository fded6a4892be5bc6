"""Small pieces of the pipeline, no models."""

from __future__ import annotations

import asyncio

import pytest

from models_onnx.whisper import loop_start
from pipeline.channel import Channel, ChannelClosed, Overflow
from pipeline.clock import FakeClock
from pipeline.events import FaceObservation, MediaGap, SpeechEnd
from pipeline.raw_signals import RawSignals
from pipeline.stable import StablePrefix
from pipeline.text import wer, words_of
from pipeline.video_rate import AdaptiveRate


def test_stable_prefix_grows_by_agreement_and_never_shrinks() -> None:
    sp = StablePrefix()
    hyps = [
        "in my life in my life",
        "in my last row life",
        "in my last role like marriage",
        "In my last role I managed to team of",
        "In my last role I managed a team of four engineers",
    ]
    stables = [" ".join(sp.update(h.split())[0]) for h in hyps]
    assert stables == [
        "",
        "in my",
        "in my last",
        "in my last role",
        "in my last role I managed",
    ]
    # A later hypothesis that disagrees inside the committed part does not take it back.
    stable, full = sp.update(
        ["In", "my", "fast", "role", "I", "managed", "a", "team", "of", "four", "engineers"]
    )
    assert " ".join(stable).startswith("in my last role I managed")
    assert full[: len(stable)] == stable


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("I designed a simple plan with my team. I designed a simple plan with my team", 8),
        ("in my life in my life in my life", 3),
        ("a b c d a b c d a b", 4),
        ("we tested everything and shipped it on time", None),
        ("I think I think that is right", None),
    ],
)
def test_loop_detection(text: str, kept: int | None) -> None:
    assert loop_start(text.split()) == kept


def test_loop_detection_in_chinese_characters() -> None:
    assert loop_start(list("我四番的哭哭哭哭哭哭哭哭")) == 5


def test_wer_and_normalisation() -> None:
    assert words_of("Team of 4, isn't it?") == ["team", "of", "four", "isnt", "it"]
    assert wer("a team of four", "A team of 4.") == 0.0
    assert wer("one two three four", "one three four five") == 0.5
    # Contractions count as what they stand for, as in Whisper's published WERs...
    assert wer("I am sure we will not", "I’m sure we won't.") == 0.0
    assert wer("they have gone", "They've gone") == 0.0
    # ...but a word written without its apostrophe is still a different word.
    assert wer("i am here", "im here") == 2 / 3


async def test_channel_drop_oldest_and_lossless_put() -> None:
    ch: Channel[int] = Channel(3, Overflow.DROP_OLDEST)
    for i in range(5):
        assert ch.put_nowait(i)
    assert ch.dropped == 2 and [await ch.get() for _ in range(3)] == [2, 3, 4]
    # put() waits for room instead of dropping.
    for i in range(3):
        ch.put_nowait(i)
    waiter = asyncio.create_task(ch.put(99))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    assert await ch.get() == 0
    await waiter
    assert ch.dropped == 2 and len(ch) == 3


async def test_channel_block_and_latest_only_and_close() -> None:
    block: Channel[int] = Channel(1, Overflow.BLOCK)
    assert block.put_nowait(1) and not block.put_nowait(2)
    latest: Channel[int] = Channel(10, Overflow.LATEST_ONLY)
    for i in range(4):
        latest.put_nowait(i)
    assert len(latest) == 1 and await latest.get() == 3
    latest.close()
    with pytest.raises(ChannelClosed):
        await latest.get()
    block.close()  # closing still lets a reader drain what is queued
    assert [x async for x in block] == [1]


async def test_fake_clock_wakes_sleepers_only_when_advanced() -> None:
    clock = FakeClock()
    woke: list[float] = []

    async def sleeper(d: float) -> None:
        await clock.sleep(d)
        woke.append(clock.now())

    tasks = [asyncio.create_task(sleeper(d)) for d in (0.3, 1.0)]
    await asyncio.sleep(0.01)
    assert woke == []
    clock.advance(0.5)
    await asyncio.sleep(0.01)
    assert woke == [0.5]
    clock.advance(0.5)
    await asyncio.gather(*tasks)
    assert woke == [0.5, 1.0]


def test_a_dropped_connection_is_not_a_pause() -> None:
    """Two utterances 1 s apart around a 30 s gap: the silence share counts the 1 s only."""
    signals = RawSignals()
    signals.fold(SpeechEnd(utterance=1, t_start=0.0, t_end=4.0))
    signals.fold(MediaGap(t=4.5, duration_s=30.0, reason="connection lost"))
    changed = signals.fold(SpeechEnd(utterance=2, t_start=35.0, t_end=39.0))
    assert changed == {"pauses"}
    pauses = signals.signals["pauses"].value
    assert pauses is not None and 10.0 < pauses < 15.0  # 1 s of 9 s, not 31 s of 39 s


def _face(t: float, yaw: float = 0.0, roll: float = -3.0, smile: float = 0.2) -> FaceObservation:
    return FaceObservation(
        t, 1, (0.3, 0.2, 0.7, 0.8), yaw=yaw, pitch=11.0, roll=roll, eye_contact=True, smile=smile
    )


def test_one_outlying_pose_or_expression_estimate_is_not_change() -> None:
    """As seen on a VP8 face sliding sideways: one frame read as a 32 degree turn, the roll
    flipping sign from frame to frame, one frame's smile far off. Medians of three ignore the
    outliers; roll feeds no signal and is not a turn."""
    rate = AdaptiveRate()
    steady = [_face(0.2 * i) for i in range(5)]
    assert rate.observe(steady[0], 0.0)  # a new face is change
    assert not any(rate.observe(o, 0.0) for o in steady[1:])
    glitches = [
        _face(1.0, yaw=-32.3, roll=14.2),
        _face(1.2),
        _face(1.4, roll=4.9),
        _face(1.6, roll=-4.1),
        _face(1.8, smile=0.9, roll=4.6),
        _face(2.0),
    ]
    assert [rate.observe(o, 0.0) for o in glitches] == [False] * len(glitches)
    assert rate.changes == 1 and not rate.fast_at(2.1)


def test_a_turn_that_holds_is_change_one_sample_later() -> None:
    rate = AdaptiveRate()
    for i in range(4):
        rate.observe(_face(0.2 * i), 0.0)
    assert not rate.fast_at(1.9)
    assert not rate.observe(_face(0.8, yaw=20.0), 0.0)  # one sample: maybe a glitch
    assert rate.observe(_face(1.0, yaw=20.0), 0.0)  # two: the head turned
    assert rate.fast_at(1.9)  # and the rate stays up for hold_s
    # a smile that holds, too
    assert not rate.observe(_face(2.0, yaw=20.0, smile=0.8), 0.0)
    assert rate.observe(_face(2.2, yaw=20.0, smile=0.8), 0.0)

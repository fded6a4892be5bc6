"""The shared ASR scheduler's policy, pinned through its counters and service log (real
tiny.en decodes of synthesized speech as the CPU-bound jobs; no wall-clock thresholds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np
import numpy.typing as npt
import pytest

from bench.speech import SR, audio_frames, conversation
from models_onnx.assets import locate
from models_onnx.whisper import Hypothesis, WhisperAsr
from pipeline.asr_scheduler import AsrScheduler, AsrStream, Kind, SchedulerClosed
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import MonotonicClock
from pipeline.events import StageLag, Transcript
from pipeline.text import wer
from tests.pipeline_run import tiny_en, vad_model

Pcm = npt.NDArray[np.float32]
TEXTS = [
    "In my last role I managed a team of four engineers.",
    "We reduced the response time of our support desk by half in one year.",
]
WER_BOUND = 0.3  # tiny.en int8 on this synthesized speech (see `offline`)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pcm, list[str]]:
    try:
        pcm, _ = conversation(TEXTS, tmp_path_factory.mktemp("sched"), [1.0], lead_s=0.3)
    except Exception as err:  # espeak-ng/sox missing
        pytest.fail(f"cannot synthesize speech: {err}")
    return pcm, TEXTS


@pytest.fixture(scope="module")
def offline(speech: tuple[Pcm, list[str]]) -> str:
    """The model's own decode of the speech, outside any scheduler: what the scheduler must
    hand back, word for word. Its distance from the script is the model's, and moves with
    the host's BLAS kernels (WER 0.16 or 0.24 on one AMD EPYC, by OpenBLAS's thread count),
    so the words are also checked against the script, at a bound every host meets."""
    pcm, texts = speech
    text = tiny_en().decode(pcm, "en", None, word_timestamps=False).text
    assert wer(" ".join(texts), text) <= WER_BOUND, text
    return text


def job(pcm: Pcm) -> Callable[[WhisperAsr], Hypothesis]:
    return lambda model: model.decode(pcm, "en", None, word_timestamps=False)


async def until(cond: Callable[[], bool], steps: int = 2000) -> None:
    for _ in range(steps):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def busy(sched: AsrScheduler, stream: AsrStream, pcm: Pcm) -> asyncio.Task[Hypothesis]:
    """Occupy the worker with a final, so what is queued next waits behind it."""
    served = len(sched.stats.served)
    task = asyncio.create_task(stream.final(job(pcm)))
    await until(lambda: len(sched.stats.served) > served)
    return task


async def test_finals_go_first_partials_coalesce_and_a_final_drops_its_partial(speech) -> None:
    pcm, _ = speech
    short = pcm[: 2 * SR]
    sched = AsrScheduler(tiny_en)
    streams = [sched.stream(f"s{i}") for i in range(4)]
    await streams[0].ready()
    blocker = await busy(sched, streams[0], pcm)
    partials: dict[str, list[asyncio.Task[Hypothesis | None]]] = {s.name: [] for s in streams}
    for _ in range(3):  # each stream asks three times while nothing is served
        for s in streams:
            partials[s.name].append(asyncio.create_task(s.partial(job(short), False, 0.5)))
        await asyncio.sleep(0)
    finals = [asyncio.create_task(s.final(job(short))) for s in streams[1:]]
    await asyncio.sleep(0)
    await blocker
    assert all(not f.is_silence for f in await asyncio.gather(*finals))
    results = {k: await asyncio.gather(*v) for k, v in partials.items()}

    # s0's first two partials were replaced by newer ones; s1-s3's last by their final.
    assert results["s0"][:2] == [None, None] and results["s0"][2] is not None
    for name in ("s1", "s2", "s3"):
        assert results[name] == [None, None, None]
    st = sched.stats
    assert st.partials_coalesced == 8 and st.partials_skipped == 3
    assert st.finals_served == 4 and st.partials_served == 1
    # After the decode that was running: the three finals, oldest first, then the partial.
    order = [(s.stream, s.kind) for s in st.served]
    assert order == [
        ("s0", Kind.FINAL),
        ("s1", Kind.FINAL),
        ("s2", Kind.FINAL),
        ("s3", Kind.FINAL),
        ("s0", Kind.PARTIAL),
    ]
    assert all(s.finals_queued == 0 for s in st.served if s.kind is not Kind.FINAL)
    await sched.aclose()
    assert not sched.loaded


async def test_a_first_partial_goes_before_other_partials(speech) -> None:
    pcm, _ = speech
    short = pcm[: 2 * SR]
    sched = AsrScheduler(tiny_en)
    streams = [sched.stream(f"s{i}") for i in range(4)]
    blocker = await busy(sched, streams[0], pcm)
    tasks = [asyncio.create_task(s.partial(job(short), False, 0.5)) for s in streams[:3]]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(streams[3].partial(job(short), True, 0.5)))
    await blocker
    await asyncio.gather(*tasks)
    served = [(s.stream, s.kind) for s in sched.stats.served][1:]
    assert served[0] == ("s3", Kind.FIRST_PARTIAL)
    assert [name for name, _ in served[1:]] == ["s0", "s1", "s2"]  # then oldest first
    assert sched.stats.first_partials_served == 1
    await sched.aclose()


async def test_streams_take_turns_however_fast_one_asks(speech) -> None:
    pcm, _ = speech
    short = pcm[: 2 * SR]
    sched = AsrScheduler(tiny_en)
    streams = [sched.stream(f"s{i}") for i in range(4)]
    await streams[0].ready()

    async def ask(stream: AsrStream, times: int) -> None:
        for _ in range(times):  # asks again the moment it is answered
            assert await stream.partial(job(short), False, 0.5) is not None

    await asyncio.gather(*(ask(s, 5) for s in streams))
    names = [s.stream for s in sched.stats.served]
    # Round robin: every run of four services holds each stream once.
    for i in range(len(names) - 3):
        assert len(set(names[i : i + 4])) == 4, names
    assert {k: v.partials for k, v in sched.stats.per_stream.items()} == {
        s.name: 5 for s in streams
    }
    await sched.aclose()


async def test_partial_interval_stretches_under_load_and_comes_back(speech) -> None:
    pcm, _ = speech
    short = pcm[: 2 * SR]
    base = 0.05  # far more partials than one worker decodes: overload
    sched = AsrScheduler(tiny_en, scale_period_s=base)
    streams = [sched.stream(f"s{i}") for i in range(6)]
    await streams[0].ready()
    intervals: list[float] = []

    async def talk(stream: AsrStream) -> None:
        for i in range(8):
            interval = stream.partial_interval(base)
            intervals.append(interval)
            await asyncio.sleep(interval)
            await stream.partial(job(short), i == 0, interval)
        await stream.final(job(short))

    await asyncio.gather(*(talk(s) for s in streams))
    st = sched.stats
    assert st.max_partial_scale >= 4 and max(intervals) >= 4 * base
    assert st.finals_served == len(streams)
    assert all(s.finals_queued == 0 for s in st.served if s.kind is not Kind.FINAL)
    await until(lambda: sched.scale == 1.0)  # idle: back to the base interval
    assert streams[0].partial_interval(base) == base
    await sched.aclose()


async def test_a_failing_decode_fails_only_its_stream_and_close_frees_the_rest(
    speech, offline
) -> None:
    pcm, _ = speech
    sched = AsrScheduler(tiny_en)
    bad, good, gone = sched.stream("bad"), sched.stream("good"), sched.stream("gone")
    too_long = np.zeros(31 * SR, np.float32)  # decode() refuses more than 29 s
    blocker = await busy(sched, good, pcm)
    failing = asyncio.create_task(bad.final(job(too_long)))
    queued_final = asyncio.create_task(gone.final(job(pcm)))
    queued_partial = asyncio.create_task(gone.partial(job(pcm), True, 0.5))
    await asyncio.sleep(0)
    gone.close()  # a session ends: its queued work goes, the scheduler does not
    assert await queued_partial is None
    with pytest.raises(SchedulerClosed):
        await queued_final
    with pytest.raises(ValueError):
        await failing
    await blocker
    hyp = await good.final(job(pcm))
    assert hyp.text == offline
    assert sched.stats.errors == 1 and sched.stats.per_stream["bad"].errors == 1
    assert sched.streams == 2
    await sched.aclose()
    with pytest.raises(SchedulerClosed):
        sched.stream("late")


async def test_sessions_sharing_one_scheduler_under_overload(speech) -> None:
    """Eight sessions talking at once through one worker: every final arrives and is right,
    finals never wait behind partials, partials are coalesced and spaced out, and the ASR
    StageLag events show the stretched interval."""
    pcm, texts = speech
    sched = AsrScheduler(tiny_en)
    clock = MonotonicClock()
    config = replace(AsrConfig(), partial_interval_s=0.25)
    pipes = [AudioPipeline(clock, vad_model, sched, asr_config=config) for _ in range(8)]
    assert sched.streams == 8
    events: list[list[object]] = [[] for _ in pipes]

    async def session(i: int, pipe: AudioPipeline) -> None:
        pipe.start()
        await asyncio.sleep(0.5 + 0.1 * i)  # staggered starts

        async def consume() -> None:
            async for ev in pipe.events():
                events[i].append(ev)

        consumer = asyncio.create_task(consume())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for k, frame in enumerate(audio_frames(pcm)):
            if (d := t0 + k * 0.02 - loop.time()) > 0:
                await asyncio.sleep(d)
            pipe.push_frame(frame)
        await pipe.end()
        await consumer

    await asyncio.gather(*(session(i, p) for i, p in enumerate(pipes)))
    for evs in events:
        finals = [e for e in evs if isinstance(e, Transcript) and e.final]
        assert wer(" ".join(texts), " ".join(f.text for f in finals)) <= 0.25
    st = sched.stats
    assert all(s.finals_queued == 0 for s in st.served if s.kind is not Kind.FINAL)
    assert st.partials_coalesced + st.partials_skipped > 0
    assert st.max_partial_scale >= 2
    intervals = [
        e.partial_interval_s
        for evs in events
        for e in evs
        if isinstance(e, StageLag) and e.stage == "asr" and e.partial_interval_s is not None
    ]
    assert intervals and max(intervals) >= 2 * 0.25
    per = [v.finals for v in st.per_stream.values()]
    assert min(per) >= len(texts)
    assert all(p.asr.max_partial_audio_s <= config.live_max_segment_s for p in pipes)
    for pipe in pipes:
        await pipe.aclose()
    assert sched.streams == 0 and sched.loaded  # sessions closed, the model stays
    await sched.aclose()


async def test_two_workers_share_one_model_and_serve_in_parallel(speech, offline) -> None:
    pcm, _ = speech
    sched = AsrScheduler(partial(WhisperAsr, locate("whisper_tiny_en"), workers=2), workers=2)
    a, b = sched.stream("a"), sched.stream("b")
    hyps = await asyncio.gather(a.final(job(pcm)), b.final(job(pcm)), a.partial(job(pcm), True, 0))
    assert [h.text if h is not None else None for h in hyps] == [offline] * 3
    assert sched.stats.finals_served == 2 and sched.stats.partials_served == 1
    # The two finals went to the two workers; the partial came after.
    assert [s.kind for s in sched.stats.served] == [Kind.FINAL, Kind.FINAL, Kind.FIRST_PARTIAL]
    await sched.aclose()


async def test_a_final_running_when_the_scheduler_closes_says_so(speech) -> None:
    """Closing under a running decode answers its caller SchedulerClosed, not a cancel it
    never asked for (which would end its stage silently, the final lost unlogged)."""
    pcm, _ = speech
    sched = AsrScheduler(tiny_en)
    stream = sched.stream("s")
    await stream.ready()
    running = await busy(sched, stream, pcm)
    await sched.aclose()
    with pytest.raises(SchedulerClosed):
        await running
    assert not running.cancelled()

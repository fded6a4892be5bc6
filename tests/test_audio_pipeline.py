"""Audio stages end to end on synthesized speech with known text (real models)."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from bench.speech import SR, conversation
from models_onnx.vad import SileroVad
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import FakeClock
from pipeline.events import SpeechEnd, SpeechStart, StageDegraded, Transcript
from pipeline.media import WINDOW, WINDOW_S, AudioChunk
from pipeline.text import wer
from pipeline.vad_stage import VadConfig, VadStage
from tests.media import audio_frames, read_wav_16k, synth_speech
from tests.pipeline_run import run_pipeline, tiny_en, vad_model

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "Yes, I have worked with databases and cloud services for five years.",
    "Thank you, that is all from my side.",
]


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory):
    try:
        return conversation(TEXTS, tmp_path_factory.mktemp("talk"), [1.5])
    except Exception as err:  # espeak-ng/sox missing
        pytest.fail(f"cannot synthesize speech: {err}")


async def test_live_stream_gives_partials_then_one_final_per_utterance(talk) -> None:
    pcm, spoken = talk
    run = await run_pipeline(audio_frames(pcm), realtime=True)  # 48 kHz stereo, 20 ms frames

    starts, ends, finals = run.of(SpeechStart), run.of(SpeechEnd), run.finals()
    assert len(starts) == len(ends) == len(finals) == len(TEXTS), [f.text for f in finals]
    for final, text, sp in zip(finals, TEXTS, spoken, strict=True):
        assert wer(text, final.text) <= 0.25, final.text
        assert final.words and final.confidence > 0.3
        assert sp.start - 0.3 <= final.t_start and final.t_end <= sp.end + 0.4
    # Partials come before their utterance's final, and their stable prefix only grows.
    for utt in {f.utterance for f in finals}:
        idx = [
            i
            for i, (_, e) in enumerate(run.events)
            if isinstance(e, Transcript) and e.utterance == utt
        ]
        kinds = [run.events[i][1].final for i in idx]  # type: ignore[union-attr]
        assert kinds[-1] is True and kinds.count(True) == 1 and kinds.count(False) >= 1
        stables = [run.events[i][1].stable for i in idx[:-1]]  # type: ignore[union-attr]
        assert all(b.startswith(a) for a, b in pairwise(stables))
    # Timestamps never go backwards.
    bounds = [
        x for _, e in run.events if isinstance(e, SpeechStart | SpeechEnd)
        for x in ((e.t,) if isinstance(e, SpeechStart) else (e.t_start, e.t_end))
    ]  # fmt: skip
    assert bounds == sorted(bounds) and len(bounds) == 3 * len(TEXTS)
    for a, b in pairwise(finals):
        assert a.t_end <= b.t_start
    for f in finals:
        assert all(x.start <= y.start for x, y in pairwise(f.words))
    # Latency as a sanity bound only (bench/asr_latency.py measures it properly).
    wall_of = {id(e): t for t, e in run.events}
    for final, sp in zip(finals, spoken, strict=True):
        assert wall_of[id(final)] - sp.end < 2.0
    assert run.max_loop_lag_s < 0.1, f"event loop held for {run.max_loop_lag_s:.3f} s"


async def test_silence_and_noise_give_no_transcript() -> None:
    rng = np.random.default_rng(1)
    quiet = np.zeros(SR * 2, np.float32)
    noise = (rng.standard_normal(SR * 3) * 0.05).astype(np.float32)  # steady hiss, -26 dBFS
    hum = (0.2 * np.sin(2 * np.pi * 50 * np.arange(SR * 2) / SR)).astype(np.float32)
    run = await run_pipeline(audio_frames(np.concatenate([quiet, noise, hum])), realtime=False)
    assert run.finals() == [] and run.partials() == []


async def test_frames_stopping_mid_utterance_still_end_it_on_the_clock(tmp_path: Path) -> None:
    pcm = read_wav_16k(
        synth_speech("I enjoy working with customers every day.", tmp_path / "a.wav")
    )
    frames = audio_frames(pcm[: int(len(pcm) * 0.6)])  # the track dies mid-sentence
    clock = FakeClock()
    pipe = AudioPipeline(clock, vad_model, tiny_en, asr_config=AsrConfig(partial_interval_s=None))
    events: list[object] = []

    async def consume() -> None:
        async for ev in pipe.events():
            events.append(ev)

    consumer = asyncio.create_task(consume())
    for frame in frames:
        await pipe.push_frame_wait(frame)
    for _ in range(500):  # let the stages catch up with what they were given
        await asyncio.sleep(0.01)
        caught_up = pipe.vad.media_t >= len(frames) * 0.02 - 0.04
        if caught_up and any(isinstance(e, SpeechStart) for e in events):
            break
    await asyncio.sleep(0.2)
    assert any(isinstance(e, SpeechStart) for e in events)
    assert not any(isinstance(e, SpeechEnd) for e in events)  # no frames, no media time passes
    clock.advance(0.31)  # ... but the clock does: the hangover ends the utterance
    for _ in range(300):
        await asyncio.sleep(0.01)
        if any(isinstance(e, Transcript) and e.final for e in events):
            break
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    assert len(ends) == 1 and len(finals) == 1
    assert "working" in finals[0].text.lower()
    consumer.cancel()
    await pipe.aclose()


async def test_long_answer_is_cut_at_quiet_points_without_losing_words(tmp_path: Path) -> None:
    texts = [
        "First I gathered the requirements from the users.",
        "Then I designed a simple plan with my team.",
        "Finally we tested everything and shipped it on time.",
    ]
    pcm, _ = conversation(texts, tmp_path, [0.45], lead_s=0.5)
    run = await run_pipeline(
        audio_frames(pcm),
        realtime=False,
        vad_config=VadConfig(hangover_ms=1500),  # the pauses stay inside one utterance
        asr_config=AsrConfig(partial_interval_s=None, max_segment_s=5.0, cut_search_s=3.0),
    )
    finals = run.finals()
    assert len(run.of(SpeechStart)) == 1
    assert len(finals) >= 2 and [f.segment for f in finals] == list(range(len(finals)))
    assert wer(" ".join(texts), " ".join(f.text for f in finals)) <= 0.25
    for a, b in pairwise(finals):
        assert a.t_end <= b.t_start + 0.05


async def test_a_failing_asr_model_degrades_but_vad_goes_on(talk) -> None:
    pcm, _ = talk

    def broken():
        raise RuntimeError("model file unreadable")

    run = await run_pipeline(audio_frames(pcm[: SR * 7]), realtime=False, asr=broken)
    degraded = run.of(StageDegraded)
    assert degraded and "ASR" in degraded[0].reason
    assert run.of(SpeechStart) and run.finals() == []


async def test_chinese_with_the_multilingual_model(tmp_path: Path) -> None:
    from models_onnx.whisper import WhisperAsr
    from models_onnx.whisper_base import assemble

    base = await asyncio.to_thread(assemble, tmp_path / "models")
    pcm_path = synth_speech(
        "wo3 men5 de5 tuan2 dui4 yi2 gong4 you3 si4 ge4 ren2",
        tmp_path / "zh.wav",
        voice="cmn-latn-pinyin",
        rate_wpm=110,
    )
    from tests.media import read_wav_16k

    pcm = np.concatenate([np.zeros(SR // 2, np.float32), read_wav_16k(pcm_path)])
    run = await run_pipeline(
        audio_frames(pcm),
        realtime=False,
        asr=lambda: WhisperAsr(base),
        asr_config=AsrConfig(language="zh", partial_interval_s=None),
        context="请介绍一下你的团队。",
    )
    (final,) = run.finals()
    assert final.language == "zh"
    assert "我们" in final.text and "团队" in final.text, final.text
    assert all(" " not in w.text for w in final.words)


def test_vad_config_validates_hysteresis() -> None:
    with pytest.raises(ValueError, match="end_threshold"):
        VadConfig(start_threshold=0.3, end_threshold=0.5)
    assert isinstance(vad_model(), SileroVad)


async def test_no_utterance_spans_a_jump_in_media_time(tmp_path: Path) -> None:
    """A rejoin continues media time after a gap: speech that had barely begun before it (too
    short to be declared) must not become the start of the utterance after it."""
    wav = synth_speech("I enjoy working with customers every day.", tmp_path / "a.wav")
    pcm = read_wav_16k(wav)
    windows = [pcm[i : i + WINDOW] for i in range(0, len(pcm) - WINDOW, WINDOW)]
    probe = vad_model()
    first = next(i for i, w in enumerate(windows) if probe.infer(w) >= VadConfig().start_threshold)
    vad = VadStage(FakeClock(), vad_model)
    vad.start()
    before, after = windows[: first + 2], windows[first + 2 :]  # 2 loud windows: under 96 ms
    jump_t = 30.0
    for i, w in enumerate(before):
        await vad.push_wait(AudioChunk(i * WINDOW_S, w))
    for i, w in enumerate(after):
        await vad.push_wait(AudioChunk(jump_t + i * WINDOW_S, w))
    vad.end()
    starts = [e async for e in vad if isinstance(e, SpeechStart)]
    await vad.aclose()
    assert starts, "the speech after the jump is an utterance"
    assert starts[0].t >= jump_t  # not the loud windows from before the gap

"""The process's ModelHub: sessions share one VAD network and one expression classifier (and
each has its own face tracker), with the results separate instances give; closing a session
leaves the shared models alone; the adaptive video rate; the hub's close."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from models_onnx.assets import locate
from models_onnx.vad import WINDOW, SileroVad
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import FakeClock, MonotonicClock
from pipeline.events import (
    AffectObservation,
    Event,
    FaceObservation,
    SpeechEnd,
    SpeechStart,
    Transcript,
)
from pipeline.media import SAMPLE_RATE, AudioChunk
from pipeline.vad_stage import SpeechAudio, VadStage
from pipeline.video_pipeline import VideoPipeline
from pipeline.video_rate import AdaptiveRate
from server.model_hub import HubClosed, ModelHub
from server.settings import load_settings
from tests.media import audio_frames, face_canvas, read_wav_16k, synth_speech, video_frame
from tests.test_video_pipeline import expression_model, face_model

FPS_IN = 30


@pytest.fixture
def hub(tmp_path: Path) -> ModelHub:
    hub = ModelHub(load_settings(data_dir=tmp_path))
    hub.load()
    return hub


def _speech(tmp_path: Path) -> np.ndarray:
    pcm = read_wav_16k(
        synth_speech("I led the migration of our billing system.", tmp_path / "s.wav")
    )
    quiet = np.zeros(SAMPLE_RATE // 2, np.float32)
    return np.concatenate([quiet, pcm, quiet, pcm * 0.5, quiet])


def _chunks(pcm: np.ndarray) -> list[AudioChunk]:
    n = len(pcm) // WINDOW
    return [
        AudioChunk(i * WINDOW / SAMPLE_RATE, pcm[i * WINDOW : (i + 1) * WINDOW]) for i in range(n)
    ]


async def _vad_events(stage: VadStage, chunks: list[AudioChunk]) -> list[tuple[str, float, float]]:
    async def feed() -> None:
        for c in chunks:
            await stage.push_wait(c)
        stage.end()

    feeder = asyncio.create_task(feed())
    out = []
    async for ev in stage:
        if isinstance(ev, SpeechAudio):
            out.append(("audio", ev.chunk.t, ev.prob))
        elif isinstance(ev, SpeechStart):
            out.append(("start", ev.t, 0.0))
        elif isinstance(ev, SpeechEnd):
            out.append(("end", ev.t_end, 0.0))
    await feeder
    await stage.aclose()
    return out


async def test_two_sessions_share_one_vad_network_with_the_results_of_their_own(
    hub: ModelHub, tmp_path: Path
) -> None:
    chunks = _chunks(await asyncio.to_thread(_speech, tmp_path))
    other = _chunks(np.zeros(len(chunks) * WINDOW, np.float32) + 0.001)  # a quiet candidate
    path = locate("vad")
    alone = await _vad_events(VadStage(MonotonicClock(), lambda: SileroVad(path)), chunks)
    # Both sessions at once, each on its own VAD thread, on the hub's single network.
    a, b, c = await asyncio.gather(
        _vad_events(VadStage(MonotonicClock(), hub.vad_stream), chunks),
        _vad_events(VadStage(MonotonicClock(), hub.vad_stream), other),
        _vad_events(VadStage(MonotonicClock(), hub.vad_stream), chunks),
    )
    assert [e[0] for e in alone].count("start") == 2
    assert a == alone and c == alone  # probabilities equal, not close: state is per stream
    assert b == []
    assert hub.loads["vad"] == 1
    assert hub.vad_stream().model is hub.vad_stream().model is hub.vad_model()


def test_vad_network_runs_from_many_threads_at_once(hub: ModelHub, tmp_path: Path) -> None:
    pcm = _speech(tmp_path)
    windows = [pcm[i : i + WINDOW] for i in range(0, len(pcm) - WINDOW, WINDOW)]
    own = SileroVad(locate("vad"))
    want = [own.infer(w) for w in windows]
    got: dict[int, list[float]] = {}

    def run(k: int) -> None:
        stream = hub.vad_stream()
        got[k] = [stream.infer(w) for w in windows]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(got[k] == want for k in range(4))


def _clip(moving: bool, seconds: float = 4.0) -> list[av.VideoFrame]:
    frames = []
    for i in range(int(seconds * FPS_IN)):
        shift = int(60 * np.sin(i / 6)) if moving else 0
        frames.append(video_frame(face_canvas(x_shift=shift), i / FPS_IN))
    return frames


async def _run_video(vp: VideoPipeline, frames: list[av.VideoFrame]) -> list[Event]:
    events: list[Event] = []

    async def feed() -> None:
        for f in frames:
            await vp.push_frame_wait(f)
            await asyncio.sleep(0)  # let the observation reach the rate, as live frames do
        await vp.end()

    feeder = asyncio.create_task(feed())
    async for ev in vp.events():
        events.append(ev)
    await feeder
    return events


def _faces(events: list[Event]) -> list[FaceObservation]:
    return [e for e in events if isinstance(e, FaceObservation)]


def _affect(events: list[Event]) -> list[AffectObservation]:
    return [e for e in events if isinstance(e, AffectObservation)]


async def test_two_video_sessions_share_the_expression_model_and_keep_their_face_trackers(
    hub: ModelHub,
) -> None:
    frames = await asyncio.to_thread(_clip, True, 2.0)
    alone = VideoPipeline(MonotonicClock(), face_model, expression_model)
    want = await _run_video(alone, frames)
    await alone.aclose()
    one = VideoPipeline(MonotonicClock(), hub.face, hub.expression)
    two = VideoPipeline(MonotonicClock(), hub.face, hub.expression)
    got_one, got_two = await asyncio.gather(_run_video(one, frames), _run_video(two, frames))
    assert len(_faces(want)) >= 15
    # Same media, same observations: nothing of one session's tracking leaks into the other.
    assert _faces(got_one) == _faces(want) and _faces(got_two) == _faces(want)
    # Affect sees the newest crop only, so which frames it classifies depends on timing:
    # compare the ones both classified.
    base = {a.t: a for a in _affect(want)}
    for got in (got_one, got_two):
        both = [(a, base[a.t]) for a in _affect(got) if a.t in base]
        assert both
        for a, b in both:
            assert a.top == b.top
            assert np.allclose([p for _, p in a.probabilities], [p for _, p in b.probabilities])
    assert hub.loads["expression"] == 1 and hub.loads["face"] == 2
    # A session closing frees its tracker, never the shared models: the next one still runs.
    await one.aclose()
    three = VideoPipeline(MonotonicClock(), hub.face, hub.expression)
    assert _faces(await _run_video(three, frames[:15])) == _faces(want)[:5]
    await asyncio.gather(two.aclose(), three.aclose())
    assert hub.loads["expression"] == 1 and hub.loads["face"] == 3
    assert hub.expression() is hub.expression()


async def test_the_rate_drops_on_a_still_face_and_rises_on_movement() -> None:
    still_frames = await asyncio.to_thread(_clip, False)
    moving_frames = await asyncio.to_thread(_clip, True)
    still = VideoPipeline(MonotonicClock(), face_model, fps=10, steady_fps=5)
    moving = VideoPipeline(MonotonicClock(), face_model, fps=10, steady_fps=5)
    still_obs = _faces(await _run_video(still, still_frames))
    moving_obs = _faces(await _run_video(moving, moving_frames))
    await asyncio.gather(still.aclose(), moving.aclose())
    assert all(o.present for o in still_obs + moving_obs)
    # 4 s: the first second is fast (a new face is change), then 5 a second on the still one.
    assert isinstance(still.rate, AdaptiveRate) and isinstance(moving.rate, AdaptiveRate)
    assert still.rate.changes <= 2
    assert 22 <= still.ingress.sampled <= 27
    assert still.ingress.sampled_fast <= 11
    # The moving face keeps the fast rate throughout.
    assert moving.ingress.sampled >= 38
    assert moving.ingress.sampled_fast >= 0.85 * moving.ingress.sampled
    assert moving.rate.changes >= 20


async def test_a_still_face_that_starts_moving_goes_back_to_ten_a_second() -> None:
    def clip() -> list[av.VideoFrame]:
        frames = []
        for i in range(int(5 * FPS_IN)):
            t = i / FPS_IN
            shift = 0 if t < 3.0 else int(80 * np.sin((t - 3.0) * 6))
            frames.append(video_frame(face_canvas(x_shift=shift), t))
        return frames

    vp = VideoPipeline(MonotonicClock(), face_model, fps=10, steady_fps=5)
    obs = _faces(await _run_video(vp, await asyncio.to_thread(clip)))
    await vp.aclose()
    before = [o.t for o in obs if 1.5 <= o.t < 3.0]
    after = [o.t for o in obs if 3.3 <= o.t < 5.0]
    assert len(before) <= 9  # 5 a second (1.5 s)
    assert len(after) >= 15  # 10 a second (1.7 s)


async def _finals(pipe: AudioPipeline, frames: list[av.AudioFrame]) -> list[str]:
    async def feed() -> None:
        for f in frames:
            await pipe.push_frame_wait(f)
        await pipe.end()

    feeder = asyncio.create_task(feed())
    finals = [e.text async for e in pipe.events() if isinstance(e, Transcript) and e.final]
    await feeder
    return finals


async def test_sessions_share_one_whisper_through_its_scheduler(
    hub: ModelHub, tmp_path: Path
) -> None:
    frames = audio_frames(await asyncio.to_thread(_speech, tmp_path))
    scheduler = await hub.asr("en")
    assert await hub.asr("en") is scheduler and scheduler.loaded
    finals_only = AsrConfig(partial_interval_s=None)
    pipes = [AudioPipeline(FakeClock(), hub.vad_stream, scheduler, None, finals_only) for _ in "ab"]
    assert scheduler.streams == 2
    a, b = await asyncio.gather(*(_finals(p, frames) for p in pipes))
    assert len(a) == 2 and a == b  # each session its own answers, the same for the same audio
    await pipes[0].aclose()
    assert scheduler.streams == 1  # a session closing leaves the shared model serving
    third = AudioPipeline(FakeClock(), hub.vad_stream, scheduler, None, finals_only)
    assert await _finals(third, frames) == a
    await asyncio.gather(pipes[1].aclose(), third.aclose())
    assert scheduler.streams == 0
    assert [v for k, v in hub.loads.items() if k.startswith("whisper:")] == [1]


async def test_the_hub_closes_and_refuses_new_streams(hub: ModelHub) -> None:
    stream = hub.vad_stream()
    window = np.zeros(WINDOW, np.float32)
    p = stream.infer(window)
    scheduler = await hub.asr("en")
    await hub.aclose()
    assert hub.closed and hub.schedulers == []
    for get in (hub.vad_stream, hub.expression, hub.face):
        with pytest.raises(HubClosed):
            get()
    with pytest.raises(HubClosed):
        await hub.asr("en")
    with pytest.raises(RuntimeError, match="closed"):  # its model freed, no new streams
        scheduler.stream()
    # A stream that was running keeps its reference until its stage closes.
    assert stream.infer(window) == pytest.approx(p, abs=0.05)

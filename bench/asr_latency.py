"""Live ASR latency: a multi-utterance recording played through the audio stages in real time.

    python -m bench.asr_latency [--utterances N] [--no-fillers] [--fillers-in-partials]
                                [--out FILE]

Frames go in as a WebRTC Opus decoder hands them over (20 ms, 48 kHz stereo s16), paced by
the wall clock. For each utterance: speech end (true, from the synthesized audio) to final
transcript, and speech start to first partial. Also the ASR real-time factor (worker busy
time / speech time) and the WER of the streamed finals against the reference text next to
the WER of an offline run of the same model (faster-whisper, 30 s windows) on the same audio
(what the pipeline received from the frames; the recording's own offline WER beside it).
The answers are fluent: fillers in the finals are ones the disfluent prompt made up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.common import write_json
from bench.speech import EN_FILLERS, SR, Spoken, as_received, audio_frames, conversation
from models_onnx.whisper import WhisperAsr
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import MonotonicClock
from pipeline.events import SpeechEnd, SpeechStart, StageLag, Transcript
from pipeline.text import wer, words_of
from server.models import asr_config, asr_factory, vad_config, vad_factory, whisper_dir
from server.settings import load_settings

TEXTS = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "In my last role I managed a team of four engineers.",
    "I would start by listening to the customer.",
    "We reduced the response time of our support desk by half in one year.",
    "The hardest part was agreeing on priorities with the sales team.",
    "I usually plan my week on Monday morning and review it on Friday.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
    "I am looking for a role where I can grow into a technical leader.",
    "Yes, I have worked with databases and cloud services for five years.",
    "Thank you, that is all from my side.",
]
GAPS_S = [1.4, 1.8, 1.2, 2.0]
FRAME = 960  # 20 ms at 48 kHz


@dataclass
class UtteranceTiming:
    text: str
    start: float
    end: float
    first_partial_s: float | None = None
    final_s: float | None = None
    final_text: str = ""
    partials: int = 0


def spoken_at(spoken: list[Spoken], t: float) -> int | None:
    """The spoken utterance a media time belongs to (with slack for VAD edges)."""
    for i, s in enumerate(spoken):
        if s.start - 0.5 <= t <= s.end + 0.5:
            return i
    return None


async def run_live(
    pcm: npt.NDArray[np.float32],
    spoken: list[Spoken],
    partial_s: float,
    keep_fillers: bool = True,
    fillers_in_partials: bool = False,
) -> dict[str, object]:
    settings = load_settings()
    clock = MonotonicClock()
    pipe = AudioPipeline(
        clock,
        vad_factory(settings),
        asr_factory(settings, "en"),
        vad_config=vad_config(settings),
        asr_config=replace(
            asr_config(settings, "en"),
            partial_interval_s=partial_s,
            keep_fillers=keep_fillers,
            fillers_in_partials=fillers_in_partials,
        ),
    )
    frames = audio_frames(pcm)
    timings = [UtteranceTiming(s.text, s.start, s.end) for s in spoken]
    vad_to_spoken: dict[int, int] = {}
    lags: dict[str, list[float]] = {"vad": [], "asr": []}
    pipe.start()
    await asyncio.sleep(1.0)  # model loading happens before the interview starts
    t0 = time.monotonic()

    async def play() -> None:
        for i, frame in enumerate(frames):
            due = t0 + i * FRAME / 48_000
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            pipe.push_frame(frame)
        await pipe.end()

    player = asyncio.create_task(play())
    async for ev in pipe.events():
        now = time.monotonic() - t0  # seconds on the recording's time line
        if isinstance(ev, SpeechStart):
            if (k := spoken_at(spoken, ev.t)) is not None:
                vad_to_spoken[ev.utterance] = k
        elif isinstance(ev, Transcript) and (k := vad_to_spoken.get(ev.utterance)) is not None:
            u = timings[k]
            if ev.final:
                u.final_text = (u.final_text + " " + ev.text).strip()
                u.final_s = now - u.end
            else:
                u.partials += 1
                if u.first_partial_s is None:
                    u.first_partial_s = now - u.start
        elif isinstance(ev, StageLag):
            lags.setdefault(ev.stage, []).append(ev.lag_s)
        elif isinstance(ev, SpeechEnd):
            pass
    await player
    busy = pipe.asr.busy_s
    await pipe.aclose()
    speech_s = sum(s.end - s.start for s in spoken)
    return {
        "timings": timings,
        "asr_busy_s": busy,
        "speech_s": speech_s,
        "decodes": pipe.asr.decodes,
        "speculative": (pipe.asr.speculative, pipe.asr.speculative_used),
        "vad_dropped": pipe.vad.dropped,
        "lag_p50": {k: statistics.median(v) if v else None for k, v in lags.items()},
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def live_latency(
    utterances: int, partial_s: float, keep_fillers: bool, fillers_in_partials: bool
) -> dict[str, Any]:
    """One real-time run over the fluent answers: what the filler comparison needs."""
    texts = (TEXTS * 3)[:utterances]
    with tempfile.TemporaryDirectory() as tmp:
        pcm, spoken = conversation(texts, Path(tmp), GAPS_S)
    live = asyncio.run(run_live(pcm, spoken, partial_s, keep_fillers, fillers_in_partials))
    timings: list[UtteranceTiming] = live["timings"]  # type: ignore[assignment]
    finals = [u.final_s * 1000 for u in timings if u.final_s is not None]
    partials = [u.first_partial_s * 1000 for u in timings if u.first_partial_s is not None]
    streamed = " ".join(u.final_text for u in timings)
    return {
        "keep_fillers": keep_fillers,
        "fillers_in_partials": fillers_in_partials,
        "finals": f"{len(finals)}/{len(timings)}",
        "end_to_final_ms": {
            "p50": round(statistics.median(finals)),
            "p95": round(pct(finals, 0.95)),
        },
        "start_to_first_partial_ms_p50": round(statistics.median(partials)) if partials else None,
        "asr_real_time_factor": round(float(live["asr_busy_s"]) / float(live["speech_s"]), 3),  # type: ignore[arg-type]
        "wer_streamed": round(wer(" ".join(texts), streamed), 3),
        "made_up_fillers": sum(w in EN_FILLERS for w in words_of(streamed)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", type=int, default=len(TEXTS))
    ap.add_argument("--partial-interval", type=float, default=0.5, help="seconds")
    ap.add_argument("--no-fillers", action="store_true", help="no disfluent prompt")
    ap.add_argument("--fillers-in-partials", action="store_true", help="prompt partials too")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    texts = (TEXTS * 3)[: args.utterances]
    with tempfile.TemporaryDirectory() as tmp:
        pcm, spoken = conversation(texts, Path(tmp), GAPS_S)
    print(f"recording: {len(pcm) / SR:.1f} s, {len(spoken)} utterances; playing in real time...")
    live = asyncio.run(
        run_live(pcm, spoken, args.partial_interval, not args.no_fillers, args.fillers_in_partials)
    )
    timings: list[UtteranceTiming] = live["timings"]  # type: ignore[assignment]

    settings = load_settings()
    quiet = settings.asr_early_final_quiet_s  # 0: finals wait for the hangover
    offline_model = WhisperAsr(whisper_dir(settings, "en"))
    received = as_received(pcm)
    t = time.perf_counter()
    offline_text = " ".join(s.text for s in offline_model.transcribe(received))
    offline_s = time.perf_counter() - t
    recording_text = " ".join(s.text for s in offline_model.transcribe(pcm))
    reference = " ".join(texts)
    streamed = " ".join(u.final_text for u in timings)

    print(f"\n{'#':>2}  {'start→partial':>13}  {'end→final':>9}  {'WER':>5}  final")
    for i, u in enumerate(timings, 1):
        fp = f"{u.first_partial_s * 1000:.0f} ms" if u.first_partial_s is not None else "-"
        fl = f"{u.final_s * 1000:.0f} ms" if u.final_s is not None else "missed"
        print(f"{i:>2}  {fp:>13}  {fl:>9}  {wer(u.text, u.final_text):>5.2f}  {u.final_text}")
    finals = [u.final_s * 1000 for u in timings if u.final_s is not None]
    partials = [u.first_partial_s * 1000 for u in timings if u.first_partial_s is not None]
    speech_s = float(live["speech_s"])  # type: ignore[arg-type]
    summary = {
        "utterances": len(timings),
        "finals": len(finals),
        "end_to_final_ms": {"p50": statistics.median(finals), "p95": pct(finals, 0.95)},
        "start_to_first_partial_ms": {
            "p50": statistics.median(partials) if partials else None,
            "p95": pct(partials, 0.95) if partials else None,
        },
        "asr_real_time_factor": float(live["asr_busy_s"]) / speech_s,  # type: ignore[arg-type]
        "asr_decodes": live["decodes"],
        "speculative_finals_started_used": live["speculative"],
        "wer_streamed": wer(reference, streamed),
        "fillers_in_finals": sum(w in EN_FILLERS for w in words_of(streamed)),
        "wer_offline": wer(reference, offline_text),
        "wer_offline_recording": wer(reference, recording_text),
        "offline_transcribe_s": offline_s,
        "speech_s": speech_s,
        "lag_p50_s": live["lag_p50"],
        "vad_dropped_windows": live["vad_dropped"],
        "config": {
            "model": "tiny.en int8",
            "threads": 1,
            "hangover_ms": 300,
            "early_final_quiet_s": quiet,
            "partial_s": args.partial_interval,
            "keep_fillers": not args.no_fillers,
            "fillers_in_partials": args.fillers_in_partials,
        },
    }
    e2f, s2p = summary["end_to_final_ms"], summary["start_to_first_partial_ms"]
    when = f"early finals after {quiet} s of quiet" if quiet else "300 ms hangover included"
    print(
        f"\nspeech end → final: p50 {e2f['p50']:.0f} ms, p95 {e2f['p95']:.0f} ms "  # type: ignore[index]
        f"({when})\n"
        f"speech start → first partial: p50 {s2p['p50']:.0f} ms, p95 {s2p['p95']:.0f} ms\n"  # type: ignore[index]
        f"ASR real-time factor: {summary['asr_real_time_factor']:.3f} "
        f"({live['decodes']} decodes over {speech_s:.1f} s of speech)\n"
        f"WER streamed {summary['wer_streamed']:.3f} vs offline {summary['wer_offline']:.3f} "
        f"(on the recording itself {summary['wer_offline_recording']:.3f}); "
        f"made-up fillers in finals: {summary['fillers_in_finals']}"
    )
    per = [
        {
            "text": u.text,
            "start_s": round(u.start, 3),
            "end_s": round(u.end, 3),
            "first_partial_ms": _ms(u.first_partial_s),
            "end_to_final_ms": _ms(u.final_s),
            "partials": u.partials,
            "final_text": u.final_text,
        }
        for u in timings
    ]
    path = write_json("asr_latency", {"summary": summary, "utterances": per}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Incremental live ASR and the shared scheduler: short vs 30 s answers, and many sessions.

    python -m bench.asr_incremental [--long N] [--streams N] [--skip-overload] [--out FILE]
                                    [--asr NAME=VALUE ...]

Part 1, one session (live configuration, its own one-worker scheduler), fed in real time as
a WebRTC Opus decoder hands audio over: ~5 s answers, then ~30 s answers (sentences with
0.25 s pauses, one utterance each). Per answer: what the last final decoded (audio seconds,
ms), speech end -> final, speech start -> first partial; partial decodes (and audio seconds
they decoded) per second of speech; the streamed WER against an offline decode
(`WhisperAsr.transcribe`, 30 s windows) of the same audio (what the pipeline received from
the frames, `bench.speech.as_received`; the recording itself is decoded too, for the
transport's share), also with the fillers the disfluent prompt makes up left out of both.
`--asr` overrides a field of the stage's `AsrConfig` (e.g. `--asr keep_fillers=false`), to
weigh a change before it becomes a setting.

Part 2, overload: `--streams` sessions talking at once (staggered) through one scheduler
with one worker: the finals' queue wait (p50/p95/max), speech end -> final p95 over all
sessions, the partial interval the scheduler stretched to, partials coalesced/skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args, get_type_hints

import numpy as np
import numpy.typing as npt

from bench.asr_latency import spoken_at
from bench.common import write_json
from bench.speech import (
    EN_FILLERS,
    SR,
    Spoken,
    as_received,
    audio_frames,
    read_wav,
    synth,
    trimmed,
)
from models_onnx.whisper import WhisperAsr
from pipeline.asr_scheduler import AsrScheduler
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import MonotonicClock
from pipeline.events import SpeechStart, StageLag, Transcript
from pipeline.text import wer, wer_words, words_of
from server.models import asr_config, asr_factory, vad_config, vad_factory, whisper_dir
from server.settings import load_settings

SHORT = [
    "My greatest strength is that I learn quickly and I enjoy working with customers.",
    "In my last role I managed a team of four engineers.",
    "We reduced the response time of our support desk by half in one year.",
    "The hardest part was agreeing on priorities with the sales team.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
    "I am looking for a role where I can grow into a technical leader.",
]
SENTENCES = [
    "In my last role I managed a team of four engineers.",
    "We reduced the response time of our support desk by half in one year.",
    "The hardest part was agreeing on priorities with the sales team.",
    "I usually plan my week on Monday morning and review it on Friday.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
    "I am looking for a role where I can grow into a technical leader.",
    "Yes, I have worked with databases and cloud services for five years.",
    "I would start by listening to the customer.",
]
SENTENCE_GAP_S = 0.25  # inside an answer: shorter than the 300 ms hangover
ANSWER_GAP_S = 2.0
FRAME_S = 0.02


@dataclass
class Answer:
    text: str
    start: float
    end: float
    first_partial_s: float | None = None
    final_s: float | None = None
    finals: list[str] = field(default_factory=list)
    last_final_audio_s: float | None = None
    last_final_ms: float | None = None


def recording(
    answers: list[list[str]], folder: Path, gap_s: float
) -> tuple[npt.NDArray[np.float32], list[Spoken]]:
    """Answers (each a list of sentences with short pauses) separated by `gap_s`."""
    parts = [np.zeros(SR, np.float32)]
    spoken, t, k = [], 1.0, 0
    for sentences in answers:
        start = t
        for j, text in enumerate(sentences):
            if j:
                parts.append(np.zeros(int(SENTENCE_GAP_S * SR), np.float32))
                t += SENTENCE_GAP_S
            pcm = trimmed(read_wav(synth(text, folder / f"s{k}.wav")))
            k += 1
            parts.append(pcm)
            t += len(pcm) / SR
        spoken.append(Spoken(" ".join(sentences), start, t))
        parts.append(np.zeros(int(gap_s * SR), np.float32))
        t += gap_s
    return np.concatenate(parts), spoken


async def play(
    pipe: AudioPipeline, pcm: npt.NDArray[np.float32], spoken: list[Spoken], delay_s: float = 0
) -> tuple[list[Answer], list[float]]:
    """Feed `pcm` in real time; time every answer's first partial and last final."""
    answers = [Answer(s.text, s.start, s.end) for s in spoken]
    asr = pipe.asr
    vad_to_spoken: dict[int, int] = {}
    intervals: list[float] = []
    pipe.start()
    await asyncio.sleep(1.0 + delay_s)  # the model loads before the interview starts
    t0 = time.monotonic()

    async def feed() -> None:
        for i, frame in enumerate(audio_frames(pcm)):
            if (d := t0 + i * FRAME_S - time.monotonic()) > 0:
                await asyncio.sleep(d)
            pipe.push_frame(frame)
        await pipe.end()

    feeder = asyncio.create_task(feed())
    async for ev in pipe.events():
        now = time.monotonic() - t0
        if isinstance(ev, SpeechStart):
            if (k := spoken_at(spoken, ev.t)) is not None:
                vad_to_spoken[ev.utterance] = k
        elif isinstance(ev, Transcript) and (k := vad_to_spoken.get(ev.utterance)) is not None:
            a = answers[k]
            if ev.final:
                a.finals.append(ev.text)
                a.final_s = now - a.end
                if asr.final_decodes:  # the decode that produced this final
                    audio_s, spent = asr.final_decodes[-1]
                    a.last_final_audio_s, a.last_final_ms = round(audio_s, 2), spent * 1000
            elif a.first_partial_s is None:
                a.first_partial_s = now - a.start
        elif isinstance(ev, StageLag) and ev.partial_interval_s is not None:
            intervals.append(ev.partial_interval_s)
    await feeder
    return answers, intervals


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, round(q * (len(s) - 1)))], 1)


def _p(values: list[float]) -> dict[str, float | None]:
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "max": pct(values, 1.0)}


@dataclass(frozen=True)
class Aligned:
    """One reference word and what a hypothesis made of it (word-level edit alignment)."""

    ref: str
    hyp: str | None  # None: deleted
    inserted: tuple[str, ...]  # hypothesis words inserted right after it
    hyp_index: int | None  # position of `hyp` in the hypothesis

    @property
    def errors(self) -> int:
        return int(self.hyp != self.ref) + len(self.inserted)


def align(ref: list[str], hyp: list[str]) -> list[Aligned]:
    """Minimum-edit alignment of `hyp` to `ref` (the WER's), one entry per reference word;
    words inserted before the first reference word count against it."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(
                d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1])
            )
    out: list[Aligned] = []
    pending: list[str] = []
    i, j = n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append(Aligned(ref[i - 1], hyp[j - 1], tuple(reversed(pending)), j - 1))
            pending, i, j = [], i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            out.append(Aligned(ref[i - 1], None, tuple(reversed(pending)), None))
            pending, i = [], i - 1
        else:
            pending.append(hyp[j - 1])
            j -= 1
    out.reverse()
    if pending and out:  # inserted before the first reference word
        first = out[0]
        out[0] = Aligned(
            first.ref, first.hyp, (*reversed(pending), *first.inserted), first.hyp_index
        )
    return out


def _said(a: list[Aligned]) -> str:
    return " ".join(" ".join(([x.hyp] if x.hyp else []) + list(x.inserted)) for x in a)


def error_sources(
    sentences: list[list[str]], finals: list[list[str]], offline: str
) -> dict[str, int]:
    """Where the streamed long answers' word errors are, against the offline decode of the
    same audio: per reference sentence, errors of each; streamed errors on a word next to a
    segment cut (a word lost, split or doubled there) are counted apart. Prints the
    sentences the two decode differently (a bench may show text; product code never does)."""
    ref = [wer_words(t) for answer in sentences for t in answer]
    flat_ref = [w for r in ref for w in r]
    hyp: list[str] = []
    cuts: set[int] = set()
    for answer in finals:
        for k, text in enumerate(answer):
            if k:
                cuts.add(len(hyp))
            hyp += wer_words(text)
    streamed = align(flat_ref, hyp)
    offline_a = align(flat_ref, wer_words(offline))
    counts = {"streamed": 0, "offline": 0, "both": 0, "streamed_only": 0, "offline_only": 0}
    counts["at_cuts"] = 0
    at = 0
    for r in ref:
        st, of = streamed[at : at + len(r)], offline_a[at : at + len(r)]
        at += len(r)
        for x in st:
            near_cut = x.hyp_index is not None and (x.hyp_index in cuts or x.hyp_index + 1 in cuts)
            if x.errors and near_cut:
                counts["at_cuts"] += x.errors
        es, eo = sum(x.errors for x in st), sum(x.errors for x in of)
        counts["streamed"] += es
        counts["offline"] += eo
        counts["both"] += min(es, eo)
        counts["streamed_only"] += max(0, es - eo)
        counts["offline_only"] += max(0, eo - es)
        if es != eo:
            print(f"    streamed {es} / offline {eo} errors: {' '.join(r)!r}")
            print(f"      streamed: {_said(st)!r}\n      offline:  {_said(of)!r}")
    return counts


def no_fillers(text: str) -> str:
    return " ".join(w for w in wer_words(text) if w not in EN_FILLERS)


def config_override(config: AsrConfig, assignments: list[str]) -> AsrConfig:
    """`config` with NAME=VALUE assignments applied, each value read as its field's declared
    type ("none" or nothing: None)."""
    hints = get_type_hints(AsrConfig)
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, _, raw = assignment.partition("=")
        if name not in hints:
            raise SystemExit(f"--asr: AsrConfig has no field {name!r}")
        kinds = set(get_args(hints[name])) or {hints[name]}
        if raw.lower() in {"none", ""}:
            changes[name] = None
        elif bool in kinds:
            changes[name] = raw.lower() in {"1", "true", "yes", "on"}
        else:
            kind = next(k for k in (int, float, str) if k in kinds)
            changes[name] = kind(raw)
    return replace(config, **changes)


def long_answers(n: int) -> list[list[str]]:
    """`n` answers of all SENTENCES, each starting one sentence later."""
    return [SENTENCES[i:] + SENTENCES[:i] for i in range(n)]


async def one_session(
    pcm: npt.NDArray[np.float32],
    spoken: list[Spoken],
    offline: str,
    recording_offline: str,
    overrides: list[str],
) -> dict[str, Any]:
    """`offline`: an offline decode of the audio the pipeline receives; `recording_offline`:
    of the recording before the trip through frames."""
    settings = load_settings()
    pipe = AudioPipeline(
        MonotonicClock(),
        vad_factory(settings),
        asr_factory(settings, "en"),
        vad_config=vad_config(settings),
        asr_config=config_override(asr_config(settings, "en"), overrides),
    )
    answers, _ = await play(pipe, pcm, spoken)
    asr = pipe.asr
    await pipe.aclose()
    speech_s = sum(s.end - s.start for s in spoken)
    reference = " ".join(s.text for s in spoken)
    streamed = " ".join(" ".join(a.finals) for a in answers)
    ms = 1000.0
    return {
        "answers": len(answers),
        "answer_s_mean": round(speech_s / len(answers), 1),
        "finals_missing": sum(1 for a in answers if a.final_s is None),
        "last_final_audio_s": _p([a.last_final_audio_s or 0.0 for a in answers]),
        "last_final_decode_ms": _p([a.last_final_ms or 0.0 for a in answers]),
        "final_decode_audio_s_max": round(max((x for x, _ in asr.final_decodes), default=0), 2),
        "end_to_final_ms": _p([a.final_s * ms for a in answers if a.final_s is not None]),
        "start_to_first_partial_ms": _p(
            [a.first_partial_s * ms for a in answers if a.first_partial_s is not None]
        ),
        "partial_decodes_per_speech_s": round(asr.partial_decodes / speech_s, 2),
        "partial_audio_s_per_speech_s": round(asr.partial_audio_s / speech_s, 2),
        "partial_audio_s_max": round(asr.max_partial_audio_s, 2),
        "asr_real_time_factor": round(asr.busy_s / speech_s, 3),
        "segments_cut_at_pause": asr.pause_cuts,
        "segments_cut_hard": asr.hard_cuts,
        "early_finals": asr.early_finals,
        "segments_cut_after_early_final": asr.early_cuts,
        "lead_in_fallbacks": asr.lead_fallbacks,  # finals decoded again without the lead-in
        "lead_in_skipped": asr.lead_skipped,  # ...decoded without it: the scheduler was loaded
        "wer_streamed": round(wer(reference, streamed), 4),
        "wer_offline": round(wer(reference, offline), 4),
        "wer_offline_recording": round(wer(reference, recording_offline), 4),
        "wer_streamed_no_fillers": round(wer(reference, no_fillers(streamed)), 4),
        "wer_offline_no_fillers": round(wer(reference, no_fillers(offline)), 4),
        "made_up_fillers": sum(w in EN_FILLERS for w in words_of(streamed)),
        "finals": [a.finals for a in answers],  # for error_sources; not written out
    }


async def overload(
    pcm: npt.NDArray[np.float32], spoken: list[Spoken], streams: int
) -> dict[str, Any]:
    settings = load_settings()
    scheduler = AsrScheduler(asr_factory(settings, "en"))
    pipes = [
        AudioPipeline(
            MonotonicClock(),
            vad_factory(settings),
            scheduler,
            vad_config=vad_config(settings),
            asr_config=asr_config(settings, "en"),
        )
        for _ in range(streams)
    ]
    await scheduler.load()
    runs = await asyncio.gather(
        *(play(p, pcm, spoken, delay_s=0.37 * i) for i, p in enumerate(pipes))
    )
    for p in pipes:
        await p.aclose()
    await scheduler.aclose()
    st = scheduler.stats
    answers = [a for run, _ in runs for a in run]
    intervals = [x for _, run_intervals in runs for x in run_intervals]
    reference = " ".join(s.text for s in spoken)
    wers = [wer(reference, " ".join(" ".join(a.finals) for a in run)) for run, _ in runs]
    ms = 1000.0
    return {
        "streams": streams,
        "workers": scheduler.workers,
        "finals_served": st.finals_served,
        "finals_missing": sum(1 for a in answers if a.final_s is None),
        "final_queue_wait_ms": _p([w * ms for w in st.final_waits]),
        "partial_queue_wait_ms": _p([w * ms for w in st.partial_waits]),
        "end_to_final_ms": _p([a.final_s * ms for a in answers if a.final_s is not None]),
        "start_to_first_partial_ms": _p(
            [a.first_partial_s * ms for a in answers if a.first_partial_s is not None]
        ),
        "partials_served": st.partials_served,
        "first_partials_served": st.first_partials_served,
        "partials_coalesced": st.partials_coalesced,
        "partials_skipped": st.partials_skipped,
        "partials_dispatched_with_finals_queued": sum(
            1 for s in st.served if s.kind != "final" and s.finals_queued
        ),
        "partial_interval_s_max": max(intervals, default=None),
        "partial_scale_max": st.max_partial_scale,
        "per_stream_served": {k: v.finals + v.partials for k, v in st.per_stream.items()},
        "wer_streamed_mean": round(statistics.mean(wers), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", type=int, default=3, help="30 s answers")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--skip-overload", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--asr", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    answers = long_answers(args.long)
    with tempfile.TemporaryDirectory() as tmp:
        short_pcm, short_spoken = recording([[t] for t in SHORT], Path(tmp), ANSWER_GAP_S)
        long_pcm, long_spoken = recording(answers, Path(tmp), ANSWER_GAP_S)
    offline_model = WhisperAsr(whisper_dir(load_settings(), "en"))
    results: dict[str, Any] = {"asr_overrides": args.asr}
    for name, pcm, spoken in (
        ("short", short_pcm, short_spoken),
        ("long", long_pcm, long_spoken),
    ):
        offline = " ".join(s.text for s in offline_model.transcribe(as_received(pcm)))
        recording_offline = " ".join(s.text for s in offline_model.transcribe(pcm))
        print(f"{name}: {len(spoken)} answers, {len(pcm) / SR:.0f} s, playing in real time...")
        results[name] = asyncio.run(one_session(pcm, spoken, offline, recording_offline, args.asr))
        finals = results[name].pop("finals")
        print_session(name, results[name])
        if name == "long":
            src = error_sources(answers, finals, offline)
            results[name]["word_errors"] = src
            print(f"  word errors: {src}")
    del offline_model
    if not args.skip_overload:
        print(f"overload: {args.streams} sessions through one scheduler, one worker...")
        results["overload"] = asyncio.run(overload(short_pcm, short_spoken, args.streams))
        print_overload(results["overload"])
    path = write_json("asr_incremental", results, args.out)
    print(f"wrote {path}")


def print_session(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name} ({r['answer_s_mean']} s answers): last final decoded "
        f"p50 {r['last_final_audio_s']['p50']} s / max {r['last_final_audio_s']['max']} s of "
        f"audio in p50 {r['last_final_decode_ms']['p50']} ms / max "
        f"{r['last_final_decode_ms']['max']} ms\n"
        f"  speech end -> final p50 {r['end_to_final_ms']['p50']} ms, "
        f"p95 {r['end_to_final_ms']['p95']} ms; start -> first partial p50 "
        f"{r['start_to_first_partial_ms']['p50']} ms, p95 {r['start_to_first_partial_ms']['p95']}"
        f" ms\n  partials: {r['partial_decodes_per_speech_s']} decodes and "
        f"{r['partial_audio_s_per_speech_s']} s of audio decoded per s of speech (longest "
        f"{r['partial_audio_s_max']} s); RTF {r['asr_real_time_factor']}; cuts at pauses "
        f"{r['segments_cut_at_pause']}, hard {r['segments_cut_hard']}, after an early final "
        f"{r['segments_cut_after_early_final']} (early finals {r['early_finals']}; lead-in "
        f"fallbacks {r['lead_in_fallbacks']}, skipped under load {r['lead_in_skipped']})\n"
        f"  WER streamed {r['wer_streamed']:.3f} vs offline {r['wer_offline']:.3f} (no fillers: "
        f"{r['wer_streamed_no_fillers']:.3f} vs {r['wer_offline_no_fillers']:.3f}); offline "
        f"on the recording itself {r['wer_offline_recording']:.3f}"
    )


def print_overload(r: dict[str, Any]) -> None:
    print(
        f"  finals' queue wait p50 {r['final_queue_wait_ms']['p50']} ms, p95 "
        f"{r['final_queue_wait_ms']['p95']} ms, max {r['final_queue_wait_ms']['max']} ms; "
        f"speech end -> final p95 {r['end_to_final_ms']['p95']} ms; first partial p95 "
        f"{r['start_to_first_partial_ms']['p95']} ms\n"
        f"  partial interval reached {r['partial_interval_s_max']} s (scale "
        f"{r['partial_scale_max']}); partials served {r['partials_served']}, coalesced "
        f"{r['partials_coalesced']}, skipped {r['partials_skipped']}; dispatched while a final "
        f"waited: {r['partials_dispatched_with_finals_queued']}; mean WER "
        f"{r['wer_streamed_mean']:.3f}; finals missing {r['finals_missing']}"
    )


if __name__ == "__main__":
    main()

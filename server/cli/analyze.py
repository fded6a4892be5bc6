"""`hirestream analyze PATH`: the live audio stages over a recorded file, with progress."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TextIO

from pipeline.analyze import Analysis, MediaError, analyze_file
from server import native_stderr
from server.errors import HirestreamError
from server.models import (
    asr_config,
    asr_factory,
    expression_factory,
    face_factory,
    vad_config,
    vad_factory,
)
from server.settings import Settings


class AnalyzeError(HirestreamError):
    """The file cannot be analysed (missing, unreadable, no audio)."""


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done_s: float, total_s: float) -> None:
        if not self.enabled:
            return
        frac = min(1.0, done_s / total_s) if total_s > 0 else 0.0
        bar = "#" * int(frac * self.width)
        speed = done_s / max(1e-6, time.monotonic() - self.started)
        self.stream.write(
            f"\ranalyzing [{bar:<{self.width}}] {frac:4.0%} "
            f"{_clock(done_s)}/{_clock(total_s)} ({speed:.1f}x real time)"
        )
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}:{s:05.2f}"


def format_table(result: Analysis) -> str:
    lines = [f"{result.path}: {_clock(result.duration_s)}"]
    if result.has_audio:
        lines[0] += (
            f", {result.speech_s:.1f} s of speech, {len(result.utterances)} utterance(s), "
            f"language {result.language}"
        )
    lines += [f"warning: {w}" for w in result.warnings]
    for u in result.utterances:
        lines.append(f"[{_clock(u.start)} - {_clock(u.end)}] ({u.confidence:.2f}) {u.text}")
    if result.video is not None:
        v = result.video.as_dict()
        lines.append(
            f"video: {v['frames_analyzed']} frames analysed, face present "
            f"{v['face_present_ratio']:.0%}, eye contact {v['eye_contact_ratio']:.0%} of those"
        )
        for seg in result.video.segments:
            lines.append(
                f"  [{_clock(seg.start)} - {_clock(seg.end)}] {seg.state.replace('_', ' ')}"
            )
        if v["quality_warnings"]:
            lines.append(f"  quality warnings (frames): {v['quality_warnings']}")
        if v["affect"]:
            a = v["affect"]
            lines.append(
                f"  affect: top classes {a['top_classes']}, mean valence {a['mean_valence']}"
            )
    return "\n".join(lines)


def _run(settings: Settings, args: argparse.Namespace, progress: Progress) -> Analysis:
    try:
        return asyncio.run(
            analyze_file(
                args.path,
                vad_factory(settings),
                asr_factory(settings, args.language),
                language=args.language,
                context=args.context,
                vad_config=vad_config(settings),
                asr_config=asr_config(settings, args.language, live=False),
                face_model=None if args.no_video else face_factory(settings),
                expression_model=expression_factory(settings) if args.affect else None,
                video_fps=settings.video_analysis_fps,
                progress=progress,
            )
        )
    except MediaError as err:
        raise AnalyzeError(str(err)) from None
    finally:
        progress.done()


def run_analyze(settings: Settings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    with native_stderr.captured() as real_stderr:
        result = _run(settings, args, Progress(real_stderr))
    payload = result.as_dict()
    payload["wall_s"] = round(time.monotonic() - started, 3)
    if args.out:
        args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return 0

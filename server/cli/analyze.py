"""`hirestream analyze PATH`: the live stages over a recorded file, with progress; with
`--requisition` (and `--answers`) the report a live interview would get, for re-scoring
recorded interviews with a changed rubric."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

from pipeline.analyze import Analysis, MediaError, analyze_file
from pipeline.events import Event
from pipeline.rescore import AnswerStart, parse_answers, score_events
from pipeline.scoring.report_model import Report
from pipeline.scoring.rubric import Rubric, read_mapping, rubric_from_dict
from server import native_stderr
from server.errors import HirestreamError
from server.models import (
    asr_config,
    asr_factory,
    expression_factory,
    face_factory,
    model_versions,
    sentence_encoder,
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


def _run(
    settings: Settings,
    args: argparse.Namespace,
    progress: Progress,
    language: str,
    on_event: Callable[[Event], None] | None = None,
) -> Analysis:
    try:
        return asyncio.run(
            analyze_file(
                args.path,
                vad_factory(settings),
                asr_factory(settings, language),
                language=language,
                context=args.context,
                vad_config=vad_config(settings),
                asr_config=asr_config(settings, language, live=False),
                face_model=None if args.no_video else face_factory(settings),
                expression_model=expression_factory(settings) if args.affect else None,
                video_fps=settings.video_analysis_fps,
                progress=progress,
                on_event=on_event,
            )
        )
    except MediaError as err:
        raise AnalyzeError(str(err)) from None
    finally:
        progress.done()


def _rubric_and_answers(args: argparse.Namespace) -> tuple[Rubric, list[AnswerStart]]:
    try:
        rubric = rubric_from_dict(read_mapping(args.requisition))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AnalyzeError(f"{args.requisition}: {err}") from None
    answers: list[AnswerStart] = []
    if args.answers is not None:
        try:
            answers = parse_answers(json.loads(args.answers.read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            raise AnalyzeError(f"{args.answers}: {err}") from None
        if bad := [a.index for a in answers if a.index >= len(rubric.questions)]:
            raise AnalyzeError(
                f"{args.answers}: question index {bad[0]} but the requisition has "
                f"{len(rubric.questions)} question(s)"
            )
    return rubric, answers


def _score_file(settings: Settings, args: argparse.Namespace, progress: Progress) -> Report:
    rubric, answers = _rubric_and_answers(args)
    events: list[Event] = []
    _run(settings, args, progress, rubric.language, events.append)
    title = args.requisition.stem
    return score_events(
        events,
        rubric,
        answers,
        {"id": args.path.stem, "candidate_name": None, "requisition": {"title": title}},
        model_versions(settings),
        affect_allowed=args.affect,
        encoder=sentence_encoder(settings),
    )


def format_report(report: Report) -> str:
    """The scores as a table: per question and competency, the value or why there is none."""
    overall = (
        f"overall {report.overall:.1f}"
        if report.overall is not None
        else f"overall incomplete (missing: {', '.join(report.missing) or 'everything'})"
    )
    lines = [f"{report.interview_id}: {overall}"]
    for name, s in report.competencies.items():
        shown = f"{s.value:5.1f}" if s.value is not None else s.status.replace("_", " ")
        lines.append(f"  {name:<24} {shown}" + (f"  (needs {s.needs})" if s.needs else ""))
    for q in report.questions:
        lines.append(f"question {q.index + 1}: {q.question or ''}")
        for name, s in q.scores.items():
            shown = f"{s.value:5.1f}" if s.value is not None else "  -  "
            lines.append(f"  {name:<24} {shown}")
    lines += [f"flag: {f.flag} {f.detail or ''}".rstrip() for f in report.flags]
    return "\n".join(lines)


def run_analyze(settings: Settings, args: argparse.Namespace) -> int:
    if args.answers is not None and args.requisition is None:
        raise AnalyzeError("--answers needs --requisition")
    started = time.monotonic()
    if args.requisition is not None:
        with native_stderr.captured() as real_stderr:
            report = _score_file(settings, args, Progress(real_stderr))
        body = report.model_dump(mode="json")
        if args.out:
            args.out.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        text = json.dumps(body, ensure_ascii=False, indent=2) if args.json else None
        print(text or format_report(report))
        return 0
    with native_stderr.captured() as real_stderr:
        result = _run(settings, args, Progress(real_stderr), args.language)
    payload = result.as_dict()
    payload["wall_s"] = round(time.monotonic() - started, 3)
    if args.out:
        args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return 0

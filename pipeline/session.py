"""InterviewSession: one candidate's live analysis, from media frames to the score store.

Audio and video pipelines run side by side; their events fold into raw signals (scores) and
become records for the live view (captions, speech, face indicators, warnings). Face and
affect records are thinned to a few a second: the view needs indicators, not every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import av

from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from pipeline.asr_scheduler import AsrScheduler
from pipeline.asr_stage import AsrConfig
from pipeline.audio_pipeline import AudioPipeline
from pipeline.clock import Clock
from pipeline.events import (
    AffectObservation,
    Event,
    FaceObservation,
    MediaGap,
    SpeechEnd,
    SpeechStart,
    StageDegraded,
    Transcript,
)
from pipeline.media import WINDOW_S
from pipeline.raw_signals import RawSignals, Signal
from pipeline.replay import replay
from pipeline.score_store import ScoreStore
from pipeline.scoring.catalogue import CATALOGUE
from pipeline.scoring.report import SessionFacts, build_report
from pipeline.scoring.report_model import Report
from pipeline.scoring.scorer import Scorer
from pipeline.vad_stage import VadConfig
from pipeline.video_pipeline import VideoPipeline
from pipeline.video_rate import STEADY_FPS

log = logging.getLogger(__name__)

FACE_RECORD_EVERY_S = 0.5
AFFECT_RECORD_EVERY_S = 1.0
PAUSE_SETTLE_S = 3.0  # beyond the VAD's hangover: a loaded VAD working through its queue


@dataclass(frozen=True)
class SessionModels:
    """What a session's stages call on their worker threads for their model. In the server
    they come from the process's ModelHub (server.model_hub): `vad` a stream's state on the
    shared network, `asr` the shared Whisper's scheduler (the session's ASR registers a
    stream on it), `expression` the shared classifier, `face` a tracker of the session's
    own. Stages free what they get when they close; shared models are not theirs to close."""

    vad: Callable[[], SileroVad]
    asr: Callable[[], WhisperAsr] | AsrScheduler  # a factory, or the process's scheduler
    face: Callable[[], FaceLandmarkerModel]
    expression: Callable[[], ExpressionModel] | None  # None: affect not allowed
    vad_config: VadConfig
    asr_config: AsrConfig
    video_fps: float = 10.0  # faces analysed per second on change
    video_steady_fps: float | None = STEADY_FPS  # ... and on a still face (None: always fps)
    video_nice: int = 0  # lower CPU priority of the face and affect threads (VideoPipeline)


def competency_signals(scorer: Scorer) -> dict[str, Signal]:
    """The interview's competency scores so far, as live-view dimensions (`competency:*`).
    A competency without enough evidence has no value (the view shows "collecting…") and
    says what it needs; each carries its formula, the current answer's formula inputs and
    the evidence that moved it."""
    per, total, coverage, missing = scorer.overall()
    current = scorer.answer_scores(scorer.current.index) if scorer.current else {}
    rubric = {c.key: c for c in scorer.rubric.competencies}
    out = {}
    for key, s in per.items():
        c = rubric.get(key)
        measure = c.measure if c else key
        m = CATALOGUE.get(measure or "")
        answer = current.get(measure or "")
        out[f"competency:{key}"] = Signal(
            s.value,
            s.value,
            "score",
            max((e.t_end for e in s.evidence), default=0.0),
            {
                "status": s.status,
                "label": c.label if c else (m.name(scorer.language) if m else key),
                "needs": s.needs,
                "formula": m.formula if m else None,
                "confidence": s.confidence,
                "answer_inputs": dict(answer.components) if answer else {},
                "evidence": [
                    [e.kind, e.text, round(e.t_start, 2), round(e.t_end, 2)] for e in s.evidence[:5]
                ],
            },
        )
    out["competency:overall"] = Signal(
        total,
        total,
        "score",
        0.0,
        {
            "status": "scored" if total is not None else "incomplete",
            "coverage": coverage,
            "missing": missing,
            "weights": scorer.rubric.weights,
        },
    )
    return out


def _probability(p: float) -> float | None:
    return round(p, 3) if math.isfinite(p) and 0.0 <= p <= 1.0 else None


def _record_end(record: dict[str, Any]) -> float:
    ends = [record.get("t_end"), record.get("t")]
    if record.get("type") == "gap":
        ends.append(float(record.get("t") or 0.0) + float(record.get("duration_s") or 0.0))
    return max((float(t) for t in ends if isinstance(t, int | float)), default=0.0)


def to_record(event: Event | MediaGap) -> dict[str, Any] | None:
    """The live view's form of an event (None: not shown)."""
    if isinstance(event, Transcript):
        return {
            "type": "caption",
            "final": event.final,
            "utterance": event.utterance,
            "segment": event.segment,
            "text": event.text,
            "stable": event.stable,
            "t_start": round(event.t_start, 3),
            "t_end": round(event.t_end, 3),
            "confidence": event.confidence,
            # [start, end, text, probability]: the live view marks low-confidence words
            "words": [
                [round(w.start, 3), round(w.end, 3), w.text, _probability(w.probability)]
                for w in event.words
            ],
            # The answer's detected language (finals): a rebuilt report flags it too.
            "language": event.language,
            "language_prob": event.language_prob,
        }
    if isinstance(event, SpeechStart):
        return {"type": "speech", "state": "start", "utterance": event.utterance, "t": event.t}
    if isinstance(event, MediaGap):
        return {
            "type": "gap",
            "t": event.t,
            "duration_s": event.duration_s,
            "reason": event.reason,
        }
    if isinstance(event, SpeechEnd):
        return {"type": "speech", "state": "end", "utterance": event.utterance, "t": event.t_end}
    if isinstance(event, FaceObservation):
        return {
            "type": "face",
            "t": round(event.t, 3),
            "faces": event.faces,
            "eye_contact": event.eye_contact,
            "warnings": list(event.warnings),
            "yaw": event.yaw,
            "pitch": event.pitch,
        }
    if isinstance(event, AffectObservation):
        return {
            "type": "affect",
            "t": round(event.t, 3),
            "top": event.top,
            "valence": event.valence,
        }
    if isinstance(event, StageDegraded):
        return {
            "type": "degraded",
            "stage": event.stage,
            "reason": event.reason,
            "recovered": event.recovered,
            "t": round(event.t, 3),
        }
    return None


class InterviewSession:
    def __init__(
        self,
        interview_id: str,
        clock: Clock,
        models: SessionModels,
        store: ScoreStore,
        scorer: Scorer | None = None,
    ) -> None:
        self.interview_id = interview_id
        self.clock = clock
        self.store = store
        self.audio = AudioPipeline(
            clock, models.vad, models.asr, models.vad_config, models.asr_config
        )
        self.video = VideoPipeline(
            clock,
            models.face,
            models.expression,
            fps=models.video_fps,
            steady_fps=models.video_steady_fps,
            nice=models.video_nice,
        )
        self.signals = RawSignals()
        self.scorer = scorer  # competency scores beside the raw signals, when a rubric is known
        # The scorer's fold and reads run here, one at a time: matching a final by meaning
        # costs a sentence-embedding pass, which must not block the event loop.
        self._scoring = ThreadPoolExecutor(1, thread_name_prefix=f"scoring-{interview_id[:8]}")
        self._tasks: list[asyncio.Task[None]] = []
        self._last_face = float("-inf")
        self._last_affect = float("-inf")
        self.question: str | None = None
        self.question_index: int | None = None
        self.finals = 0
        self.facts = SessionFacts()
        self._last_push: float | None = None  # clock time of the last frame pushed
        self._paused_at: float | None = None  # clock time the media stopped (paused)
        self._paused_end: float | None = None  # media time it stopped at
        # Utterances numbered on from a seeded history's (a session rebuilt after a restart)
        self._utterance_base = 0

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._route(self.audio.events()), name="session-audio"),
                asyncio.create_task(self._route(self.video.events()), name="session-video"),
            ]

    def push_audio(self, frame: av.AudioFrame) -> None:
        self._last_push = self.clock.now()
        self.audio.push_frame(frame)

    def push_video(self, frame: av.VideoFrame) -> None:
        self._last_push = self.clock.now()
        self.video.push_frame(frame)

    @property
    def media_end(self) -> float:
        """Media time where the candidate's media so far ends (audio or video)."""
        return max(self.audio.ingress.end_t, self.video.ingress.end_t)

    async def pause(self) -> None:
        """The candidate's connection dropped: the audio held is analysed and an open
        utterance ends there (its final is emitted), so speech after a rejoin starts a new
        one. The stages, scorer and facts stay, waiting for `resume`."""
        if self._paused_end is not None:
            return
        self._paused_at = self._last_push if self._last_push is not None else self.clock.now()
        for chunk in self.audio.ingress.flush():
            await self.audio.vad.push_wait(chunk)
        self._paused_end = self.media_end
        # The VAD ends an utterance by the clock once windows stop (its hangover); wait for
        # it to have taken the flushed audio and closed the utterance.
        vad, heard = self.audio.vad, self.audio.ingress.end_t
        deadline = self.clock.now() + vad.config.hangover_ms / 1000 + PAUSE_SETTLE_S
        while (vad.media_t < heard - WINDOW_S or vad.in_speech) and self.clock.now() < deadline:
            await self.clock.sleep(0.02)

    def seed(self, history: list[dict[str, Any]], elapsed_s: float) -> None:
        """Blocking (encodes the finals; before start()): continue an interview whose session
        was lost with a server restart. Its live history is replayed into the scorer and
        facts (speech and transcripts: face signals are not in the history), the question
        is the last one asked, utterances are numbered on, and the next `resume` puts the
        gap after the history's last media time: media time runs with the wall clock from
        the start (`elapsed_s` ago), so the gap is the part of that it does not cover."""
        if self.scorer is not None:
            replay(history, self.scorer, self.facts)
        asked = [r for r in history if r.get("type") == "question"]
        if asked:
            self.question_index, self.question = int(asked[-1]["index"]), str(asked[-1]["text"])
            self.audio.set_context(self.question)
        self._utterance_base = max(
            (int(r["utterance"]) for r in history if isinstance(r.get("utterance"), int)),
            default=0,
        )
        # Where the media stopped: the latest time in the history (a gap's end included).
        self._paused_end = max(
            [0.0, *(_record_end(r) for r in history)],
        )
        self._paused_at = self.clock.now() - max(0.0, elapsed_s - self._paused_end)

    async def resume(self, reason: str) -> MediaGap:
        """A new connection carries the candidate's media on: its tracks continue the timeline
        after the gap (media time = where the media stopped + the wall-clock time since), the
        gap is noted for the report and published."""
        end = self._paused_end if self._paused_end is not None else self.media_end
        since = self._paused_at if self._paused_at is not None else self.clock.now()
        gap = MediaGap(round(end, 3), round(max(0.0, self.clock.now() - since), 3), reason)
        self.audio.ingress.rebase(gap.t + gap.duration_s)
        self.video.ingress.rebase(gap.t + gap.duration_s)
        self._paused_end = self._paused_at = None
        self.facts.note(gap)
        if changed := self.signals.fold(gap):
            self.store.update({k: self.signals.signals[k] for k in changed})
        record = to_record(gap)
        assert record is not None
        await self.store.publish(record)
        return gap

    async def set_question(self, index: int, text: str) -> None:
        """The question now asked: primes recognition and shows on the live view. The
        current question again (a rejoining page re-posts it) changes nothing."""
        if index == self.question_index:
            return
        self.question, self.question_index = text, index
        self.audio.set_context(text)
        self.facts.questions_asked.append((index, self.audio.vad.media_t))
        if self.scorer is not None:
            self.scorer.start_question(index, self.audio.vad.media_t)
        t = round(self.audio.vad.media_t, 3)  # lets a lost session be rebuilt (replay.py)
        await self.store.publish({"type": "question", "index": index, "text": text, "t": t})

    async def _route(self, events: Any) -> None:
        async for event in events:
            try:
                await self._handle(event)
            except Exception:  # Redis hiccup: the analysis goes on, the view catches up
                log.exception("interview %s: could not store an event", self.interview_id)

    async def _handle(self, event: Event) -> None:
        if self._utterance_base and isinstance(event, SpeechStart | SpeechEnd | Transcript):
            event = replace(event, utterance=event.utterance + self._utterance_base)
        self.facts.note(event)
        changed = self.signals.fold(event)
        if changed:
            self.store.update({k: self.signals.signals[k] for k in changed})
        if self.scorer is not None:
            loop = asyncio.get_running_loop()
            scores = await loop.run_in_executor(self._scoring, self._score, event)
            if scores:
                self.store.update(scores)
        if isinstance(event, FaceObservation):
            if event.t - self._last_face < FACE_RECORD_EVERY_S and not event.warnings:
                return
            self._last_face = event.t
        elif isinstance(event, AffectObservation):
            if event.t - self._last_affect < AFFECT_RECORD_EVERY_S:
                return
            self._last_affect = event.t
        elif isinstance(event, Transcript) and event.final:
            self.finals += 1
        if (record := to_record(event)) is not None:
            await self.store.publish(record)

    def _score(self, event: Event) -> dict[str, Signal] | None:
        """On the scoring thread: fold, and the live scores when they may have changed."""
        assert self.scorer is not None
        return competency_signals(self.scorer) if self.scorer.fold(event) else None

    def report(self, interview: dict[str, Any], models: dict[str, str]) -> Report | None:
        """The finalized report (None without a rubric to score against)."""
        if self.scorer is None:
            return None
        self.facts.close(self.video.features.last_t)  # a face still away at the end
        return build_report(interview, self.scorer, self.facts, models)

    async def finish(self) -> None:
        """No more media: let the stages drain (the last answer's final), then stop."""
        await self.audio.end()
        await self.video.end()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks)
        self._scoring.shutdown(wait=False)
        await self.store.aclose()
        await self.store.publish({"type": "ended"})

    async def aclose(self) -> None:
        """Release everything now (hang-up, network loss): tasks, threads, models."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.audio.aclose()
        await self.video.aclose()
        self._scoring.shutdown(wait=False)
        await self.store.aclose()

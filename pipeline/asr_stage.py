"""AsrStage: speech audio from the VAD -> partial and final transcripts with word timings.

While an utterance goes on, a partial every partial interval (`partial_interval_s` on the
injected clock, stretched by the scheduler under load, and spaced in proportion to the open
segment's audio past `partial_span_s`) from a decode of the open segment, with a stable
prefix that only grows. When the VAD reports a pause, the final decode starts
after a short tail, speculatively. Live, once it is decoded and the quiet has held
`early_final_quiet_s`, it is emitted at once, before the VAD's hangover ends the utterance:
should speech resume after all, the rest is the next segment, decoded alone and primed with
the text before it. If speech resumes sooner, the speculative final is dropped, unless the
segment is already `soft_segment_s` long: then it is kept as that segment's final the same
way. File analysis waits for the hangover. Without such a pause, segments are cut at the
quietest window near the end once they reach `live_max_segment_s` (live) or
`max_segment_s`. So no decode covers more than one segment (a final: and up to `lead_in_s`
of the one before, heard as context and dropped, pipeline.asr_lead), and the final of a
long answer costs what a short one does.
Decodes run on an AsrScheduler's workers (shared by sessions, or this stage's own); the loop
only moves buffers.

Finals are primed with the question and a disfluent text, so that "um", "uh", "嗯", "呃"
are written where spoken (Whisper drops them otherwise); partials only with the question,
which keeps them cheap. Each final is tagged with the language the answer was spoken in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from models_onnx.whisper import (
    MAX_AUDIO_S,
    SAMPLE_RATE,
    Hypothesis,
    WhisperAsr,
    Word,
    answer_language,
    stutters,
)
from pipeline.asr_lead import after_lead, choose_lead
from pipeline.asr_scheduler import AsrScheduler, AsrStream, SchedulerClosed
from pipeline.channel import Overflow
from pipeline.clock import Clock
from pipeline.events import (
    Event,
    SpeechEnd,
    SpeechStart,
    StageLag,
    TimedWord,
    Transcript,
)
from pipeline.media import WINDOW_S, AudioChunk
from pipeline.stable import StablePrefix
from pipeline.stage import Stage
from pipeline.vad_stage import SpeechAudio, SpeechPause, SpeechResume, VadOutput

# Languages written without spaces between words: captions stabilise per character.
R = TypeVar("R")

# Primes decoding when no question is set: without it Whisper writes Chinese in traditional
# characters about as often as in simplified.
DEFAULT_CONTEXT = {"zh": "以下是普通话的句子。"}

UNSPACED = {"zh", "ja", "th", "lo", "my", "yue"}

# Whisper leaves hesitations out unless the text before the answer has them: a prompt that
# is itself disfluent makes it write "um", "uh", "嗯", "呃" where they are spoken.
FILLER_PROMPT = {
    "en": "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking.",
    "zh": "嗯，那个，我想想。呃，就是说，我觉得这个很重要。",
}
# Languages whose question goes after the disfluent text, next to the answer. Chinese (base):
# with the question first, the model wrote junk tokens ("Ｇ", "１") for commas and looped
# (character error rate 0.69 against 0.38 for the disfluent text alone); after it, 0.40 and
# 0.56 against 0.40 and 0.64 on two voices, and the question's words are primed. The question
# alone as prompt was written back as the answer in 4 of 84 decodes (bench/fillers.py); the
# echo check below catches that. English (tiny.en): question first lowers the word error
# rate (0.29 -> 0.19).
QUESTION_LAST = {"zh"}
# A hypothesis that is mostly a run copied from its prompt is the prompt, not the answer.
ECHO_MIN_UNITS = 3
ECHO_MIN_SHARE = 0.6
# A final decoded to this few units a second of audio is suspect: on speech it cannot make
# out, a disfluent prompt lets the model answer with a lone "Umm..." or "I'm,".
SPARSE_UNITS_PER_S = 0.5
SPARSE_MIN_AUDIO_S = 2.0
# ...or made of a few units over and over ("I'm, I'm, I'm, ..." on Chinese speech).
REPEAT_MIN_UNITS = 6
REPEAT_MAX_DISTINCT = 0.3
# An answer identified this surely as another language the product interviews in is decoded
# again in that language: forced into Chinese, English speech comes out as a loose
# translation that Whisper's own no-speech rule often drops, so the answer vanished.
OTHER_LANGUAGE_MIN_P = 0.5


def asr_prompt(
    language: str, question: str | None, filler: str | None, previous: str | None = None
) -> str | None:
    """The text Whisper takes as what came before the answer: the question and the
    disfluent text; without a question, the sentence that sets the script goes last, next to
    the answer (with it before the fillers, base wrote traditional characters). `previous`,
    the answer's text before this segment, goes last: it is what came right before."""
    if language in QUESTION_LAST:
        parts = [filler, question or DEFAULT_CONTEXT.get(language)]
    else:
        parts = [question, filler, None if question else DEFAULT_CONTEXT.get(language)]
    parts.append(previous)
    sep = "" if language in UNSPACED else " "
    return sep.join(p for p in parts if p) or None


def _units(text: str, language: str) -> list[str]:
    if language in UNSPACED:
        return [c for c in text if c.isalnum()]
    return ["".join(c for c in w.lower() if c.isalnum()) for w in text.split()]


def primed_decode(
    model: WhisperAsr,
    pcm: npt.NDArray[np.float32],
    language: str,
    question: str | None,
    filler: str | None,
    words: bool = True,
    identify: bool = False,
    previous: str | None = None,
) -> Hypothesis:
    """Decode with the question, disfluent text and the answer's text so far as prompt;
    when the hypothesis looks made from the prompt, once more with none of them. With
    `identify`, an answer in another of the product's languages is decoded in its own
    language."""
    prompt = asr_prompt(language, question, filler, previous)
    hyp = model.decode(pcm, language, prompt, words, identify)
    if (filler or question or previous) and hyp.text and prompt_took_over(hyp, prompt, language):
        hyp = model.decode(pcm, language, asr_prompt(language, None, None), words, identify)
    if hyp.languages:
        top, p = hyp.languages[0]
        if top != language and top in FILLER_PROMPT and p >= OTHER_LANGUAGE_MIN_P:
            other_filler = FILLER_PROMPT[top] if filler else None
            again = primed_decode(model, pcm, top, None, other_filler, words, identify=False)
            return replace(again, languages=hyp.languages)
    return hyp


def prompt_took_over(hyp: Hypothesis, prompt: str | None, language: str) -> bool:
    """The hypothesis looks made from the prompt, not the audio: worth a decode without it."""
    units = _units(hyp.text, language)
    sparse = hyp.audio_s >= SPARSE_MIN_AUDIO_S and len(units) < SPARSE_UNITS_PER_S * hyp.audio_s
    looped = len(units) >= REPEAT_MIN_UNITS and len(set(units)) <= REPEAT_MAX_DISTINCT * len(units)
    looped = looped or stutters(hyp.text)
    return sparse or looped or echoes_prompt(hyp.text, prompt, language)


def echoes_prompt(text: str, prompt: str | None, language: str) -> bool:
    """Whether most of `text` is one run copied from `prompt` (a hallucinated answer)."""
    if not prompt:
        return False
    hyp, ref = _units(text, language), _units(prompt, language)
    best = 0
    for i in range(len(hyp)):
        for j in range(len(ref)):
            k = 0
            while i + k < len(hyp) and j + k < len(ref) and hyp[i + k] == ref[j + k]:
                k += 1
            best = max(best, k)
    return best >= ECHO_MIN_UNITS and best >= ECHO_MIN_SHARE * len(hyp)


@dataclass(frozen=True)
class AsrConfig:
    language: str = "en"
    partial_interval_s: float | None = 0.5  # None: finals only (offline analysis)
    # Once the open segment holds more audio than this, partials are spaced in proportion to
    # it (0.5 s at 6 s, 0.83 s at 10 s): each partial re-decodes the whole open segment, so
    # the audio decoded per second of speech stays at most what it is at this length. On
    # 32 s answers with 10 s segments: 8.1 s of audio per second instead of 9.3-9.7 (7.1
    # with 6 s segments).
    partial_span_s: float = 6.0
    min_partial_audio_s: float = 0.4  # shorter audio gives junk hypotheses
    first_partial_delay_s: float = 0.25  # after the VAD declares speech (which is already late)
    # Quiet after the pause point before the final decode starts, and kept in it. Long enough
    # that most pauses between words end before it (a wasted decode); short enough that the
    # decode (~100 ms) is done when the early final (below) may go out.
    final_tail_s: float = 0.096
    # Live: quiet after the pause point that lets a decoded speculative final out before the
    # hangover (None: wait for the end of the utterance). Pauses inside a sentence are
    # mostly shorter; a resume after it continues as the next segment.
    early_final_quiet_s: float | None = 0.2
    # Live (with partials): once the open segment is this long, the next pause that gets a
    # speculative final cuts it there when speech resumes: the final is kept and the rest
    # is a new segment, decoded alone (primed with the text before it). Partials and the
    # last final then decode a few seconds of audio, not the whole answer. File analysis
    # (no partials) keeps whole utterances up to `max_segment_s`: nothing waits on it.
    # Longer segments give tiny.en more context: on 6 answers of 32 s (bench.asr_incremental)
    # 10 s segments scored WER 0.170-0.175 in three runs, 6 s ones 0.179-0.184 in four.
    soft_segment_s: float = 10.0
    # Without such a pause, cut at the quietest window of the last `cut_search_s` once the
    # segment is this long (decode() takes at most 29 s); live, at `live_max_segment_s`
    # already, so that no final decode takes more than ~15 s of audio.
    max_segment_s: float = 20.0
    live_max_segment_s: float = 15.0
    cut_search_s: float = 6.0
    context_units: int = 40  # committed words (characters: unspaced languages) that prime
    # A segment after a cut is finalized with up to this much of the previous segment's
    # audio in front, from a pause, primed with the text before it (pipeline.asr_lead).
    # Partials do without: they stay cheap. 0: off.
    lead_in_s: float = 5.0
    # ...as long as lead-in and segment together are at most this long (None: no bound):
    # the lead-in's decode time is what the final's latency pays. bench.asr_incremental on
    # 6 answers of 32 s (offline 0.155; each segment alone 0.175): 5 s, no bound 0.153-0.158,
    # end of speech -> final p50 324-370 / p95 553-626 ms; bound 10 s 0.163, 366 / 454 ms;
    # 8 s 0.155, 457 / 659 ms.
    lead_in_total_s: float | None = 10.0
    # Under load the lead-in goes first, before finals wait longer: a final decoded while the
    # scheduler spaces partials at more than this many times their interval is decoded alone
    # (as with lead_in_s=0). It doubles a short segment's final decode; at 8 interviews on a
    # saturated 2-core host (bench.live), with it always on, short answers p50/p95 1517/2642
    # and 524/1366 ms in two runs, 787/1633 ms without: run-to-run spread hides its cost
    # there, so it is not paid where the worker has no time to spare.
    lead_in_max_scale: float = 2.0
    word_timestamps: bool = True
    # Prime finals with a disfluent prompt so hesitations reach the transcript.
    keep_fillers: bool = True
    fillers_in_partials: bool = False  # the same prompt on partials (costs decode time)
    identify_language: bool = True  # tag finals with the answer's language


@dataclass(frozen=True)
class _Before:
    """The previous segment of the utterance: its audio up to the cut, its final's words
    (timed from its start), and the committed text before it."""

    pcm: npt.NDArray[np.float32]
    words: tuple[Word, ...]
    committed: tuple[str, ...]


@dataclass
class _Utterance:
    id: int
    t0: float  # media time of chunks[0]
    speech_t: float = 0.0  # where the VAD heard speech begin (the buffer has pre-roll before)
    segment: int = 0
    committed: tuple[str, ...] = ()  # final texts of the earlier segments
    before: _Before | None = None  # the segment before this one (its finals' lead-in)
    chunks: list[AudioChunk] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    stable: StablePrefix = field(default_factory=StablePrefix)
    decoded_windows: int = 0  # windows covered by the last partial asked for
    emitted_windows: int = 0  # ...and by the last one emitted
    partials_emitted: int = 0
    next_partial_at: float = 0.0  # clock time
    pause_index: int | None = None  # window where the current pause began
    spec_due: int | None = None  # windows the speculative final will cover
    spec: asyncio.Task[Hypothesis | None] | None = None
    early: bool = False  # the speculative final went out before the utterance ended
    done: bool = False

    def pcm(self, windows: int) -> npt.NDArray[np.float32]:
        return np.concatenate([c.pcm for c in self.chunks[:windows]])

    def rest(self, cut: int, text: str | None, speech_t: float | None = None) -> _Utterance:
        """What follows window `cut`, as the next segment."""
        nxt = _Utterance(
            self.id,
            self.chunks[cut].t,
            self.chunks[cut].t if speech_t is None else speech_t,
            segment=self.segment + 1,
            committed=(*self.committed, text) if text else self.committed,
        )
        nxt.chunks, nxt.probs, nxt.arrived = self.chunks[cut:], self.probs[cut:], self.arrived[cut:]
        nxt.partials_emitted = self.partials_emitted
        return nxt


def partial_spacing(interval_s: float, open_s: float, span_s: float) -> float:
    """Time to the next partial of a segment holding `open_s` of audio: the interval, and
    past `span_s` in proportion to the audio, so that partials never decode more than
    `span_s / interval_s` seconds of audio per second."""
    return interval_s * max(1.0, open_s / span_s)


def previous_text(committed: tuple[str, ...], language: str, units: int) -> str | None:
    """The end of the utterance's committed text, as context for its next segment."""
    if not committed or units <= 0:
        return None
    if language in UNSPACED:
        return "".join(committed)[-units:]
    return " ".join(" ".join(committed).split()[-units:])


class AsrStage(Stage[VadOutput, Event]):
    """`model` is either a factory (the stage then owns a private one-worker scheduler: file
    analysis, tests, benches) or a shared AsrScheduler (live sessions: one model per process);
    the stage registers a stream on it and unregisters when it closes."""

    name = "asr"

    def __init__(
        self,
        clock: Clock,
        model: Callable[[], WhisperAsr] | AsrScheduler,
        config: AsrConfig | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(clock, input_capacity=4096, input_overflow=Overflow.BLOCK)
        self.config = config or AsrConfig()
        self._owns_scheduler = not isinstance(model, AsrScheduler)
        self.scheduler = model if isinstance(model, AsrScheduler) else AsrScheduler(model)
        self.stream: AsrStream = self.scheduler.stream()
        self._multilingual = False
        self._context = context
        self._utt: _Utterance | None = None
        self.busy_s = 0.0  # worker time spent decoding (for the real-time factor)
        self.decodes = 0
        self.partial_decodes = 0
        self.partial_audio_s = 0.0  # audio seconds decoded by partials
        self.max_partial_audio_s = 0.0  # ...by the longest one
        # (audio seconds, decode seconds) of each final decode, for benches and tests
        self.final_decodes: list[tuple[float, float]] = []
        self.speculative = 0  # speculative finals started
        self.speculative_used = 0
        self.pause_cuts = 0  # segments cut at a pause (soft length reached)
        self.early_finals = 0  # speculative finals let out before the utterance ended
        self.early_cuts = 0  # ...after which speech resumed (a new segment)
        self.hard_cuts = 0  # ...at the quietest window (max length reached)
        self.lead_fallbacks = 0  # finals whose lead-in left no words: decoded again without
        self.lead_skipped = 0  # finals decoded without their lead-in: the scheduler was loaded
        self._tasks: set[asyncio.Task[object]] = set()  # partial and speculative decodes
        self._utterance_started = asyncio.Event()
        # Held while the stage's state changes: by each input item, and by an early final
        # when its speculative decode finishes between items.
        self._lock = asyncio.Lock()
        self._closing = False

    @property
    def max_segment_s(self) -> float:
        cfg = self.config
        live = cfg.partial_interval_s is not None
        return min(cfg.max_segment_s, cfg.live_max_segment_s) if live else cfg.max_segment_s

    def set_context(self, text: str | None) -> None:
        """Text that primes recognition (the current question); used from the next decode."""
        self._context = text

    async def aclose(self) -> None:
        await super().aclose()
        self.stream.close()  # a shared scheduler goes on serving the other sessions
        if self._owns_scheduler:
            await self.scheduler.aclose()

    # Worker-thread side (jobs the scheduler runs with the shared model)

    def _job(
        self,
        pcm: npt.NDArray[np.float32],
        final: bool,
        previous: str | None,
        lead: npt.NDArray[np.float32] | None = None,
        lead_previous: str | None = None,
    ) -> Callable[[WhisperAsr], Hypothesis]:
        """`lead`: audio decoded in front of `pcm` (primed with `lead_previous` instead of
        `previous`), whose words are dropped from the hypothesis."""
        cfg = self.config
        question = self._context  # as it is when asked, not when served
        fillers = cfg.keep_fillers and (final or cfg.fillers_in_partials)
        filler = FILLER_PROMPT.get(cfg.language) if fillers else None

        def decode(model: WhisperAsr) -> Hypothesis:
            self._multilingual = model.multilingual
            t0 = time.perf_counter()
            decoded = pcm

            def run(audio: npt.NDArray[np.float32], before: str | None) -> Hypothesis:
                nonlocal decoded
                decoded = audio
                return primed_decode(
                    model,
                    audio,
                    cfg.language,
                    question,
                    filler,
                    words=final and cfg.word_timestamps,
                    identify=final and cfg.identify_language,
                    previous=before,
                )

            try:
                if lead is None or not len(lead):
                    return run(pcm, previous)
                if self.scheduler.scale > cfg.lead_in_max_scale:  # as it is when served
                    self.lead_skipped += 1
                    return run(pcm, previous)
                lead_s = len(lead) / SAMPLE_RATE
                hyp = after_lead(run(np.concatenate([lead, pcm]), lead_previous), lead_s)
                if not hyp.is_silence:
                    return hyp
                self.lead_fallbacks += 1  # nothing after the cut: the segment alone decides
                return run(pcm, previous)
            finally:
                # Wall time of the worker while decoding: with one CTranslate2 thread this is
                # its CPU time (thread_time() would miss the library's own threads).
                spent = time.perf_counter() - t0
                self.busy_s += spent
                self.decodes += 1
                audio_s = len(decoded) / SAMPLE_RATE
                if final:
                    self.final_decodes.append((audio_s, spent))
                else:
                    self.partial_decodes += 1
                    self.partial_audio_s += audio_s
                    self.max_partial_audio_s = max(self.max_partial_audio_s, audio_s)

        return decode

    def _previous(self, utt: _Utterance) -> str | None:
        return previous_text(utt.committed, self.config.language, self.config.context_units)

    def _lead_in(
        self, utt: _Utterance, windows: int
    ) -> tuple[npt.NDArray[np.float32] | None, str | None]:
        """The lead-in for a final of `windows` of the segment, and the text that primes it."""
        cfg, before = self.config, utt.before
        if before is None or cfg.lead_in_s <= 0:
            return None, None
        own_s = windows * WINDOW_S
        reach = min(cfg.lead_in_s, MAX_AUDIO_S - own_s)  # one decode window
        if cfg.lead_in_total_s is not None:
            reach = min(reach, cfg.lead_in_total_s - own_s)
        lead = choose_lead(
            before.words, len(before.pcm) / SAMPLE_RATE, reach, cfg.language in UNSPACED
        )
        if lead is None:
            return None, None
        committed = (*before.committed, lead.text_before) if lead.text_before else before.committed
        return (
            before.pcm[round(lead.start_s * SAMPLE_RATE) :],
            previous_text(committed, cfg.language, cfg.context_units),
        )

    async def _decode_final(self, utt: _Utterance, windows: int) -> Hypothesis | None:
        lead, lead_previous = self._lead_in(utt, windows)
        job = self._job(utt.pcm(windows), True, self._previous(utt), lead, lead_previous)
        try:
            hyp = await self.stream.final(job)
        except SchedulerClosed:
            return None
        except Exception as err:  # a broken buffer or model: report once, keep the session
            await self._failed(utt.t0, f"ASR failed: {err}")
            return None
        await self._succeeded(utt.t0)
        return hyp

    async def _decode_partial(self, utt: _Utterance, windows: int) -> Hypothesis | None:
        job = self._job(utt.pcm(windows), False, self._previous(utt))
        first = utt.segment == 0 and utt.partials_emitted == 0
        try:
            hyp = await self.stream.partial(job, first, self._partial_interval())
        except SchedulerClosed:
            return None
        except Exception as err:
            await self._failed(utt.t0, f"ASR failed: {err}")
            return None
        if hyp is not None:
            await self._succeeded(utt.t0)
        return hyp

    def _partial_interval(self) -> float:
        base = self.config.partial_interval_s
        return self.stream.partial_interval(base) if base else 0.0

    # Loop side

    def _spawn(self, coro: Coroutine[object, object, R]) -> asyncio.Task[R]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        try:  # load before speech, so the first partial is not late
            await self.stream.ready()
        except Exception as err:  # retried at each decode; the session goes on without words
            await self._failed(0.0, f"ASR model failed to load: {err}")
        ticker = (
            asyncio.create_task(self._partials(), name="asr-partials")
            if self.config.partial_interval_s
            else None
        )
        try:
            while True:
                item, _arrived = await self._input.get()
                async with self._lock:
                    await self._handle(item)
        finally:
            self._closing = True  # a decode finishing now starts no early final
            for task in [*([ticker] if ticker else []), *self._tasks]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _handle(self, item: VadOutput) -> None:
        if isinstance(item, SpeechStart):
            self._utt = _Utterance(item.utterance, item.t, speech_t=item.t)
            self._utt.next_partial_at = self.clock.now() + self.config.first_partial_delay_s
            self._utterance_started.set()
            await self._emit(item)
        elif isinstance(item, SpeechAudio):
            await self._on_audio(item)
        elif isinstance(item, SpeechPause):
            self._on_pause(item)
        elif isinstance(item, SpeechResume):
            await self._on_resume(item)
        elif isinstance(item, SpeechEnd):
            await self._emit(item)
            await self._finalize(item)
        else:  # StageLag / StageDegraded from upstream: pass through
            await self._emit(item)

    async def _on_audio(self, item: SpeechAudio) -> None:
        utt = self._utt
        if utt is None or utt.id != item.utterance:
            return
        if not utt.chunks:
            utt.t0 = item.chunk.t
        utt.chunks.append(item.chunk)
        utt.probs.append(item.prob)
        utt.arrived.append(item.arrived_at)
        self._maybe_start_speculative(utt)
        await self._maybe_early_final(utt)
        if not utt.early and len(utt.chunks) * WINDOW_S >= self.max_segment_s:
            await self._cut_segment(utt)

    def _on_pause(self, item: SpeechPause) -> None:
        utt = self._utt
        if utt is None or utt.id != item.utterance or not utt.chunks or utt.early:
            return  # (early: its final is out; a resume makes the rest the next segment)
        pause_index = max(0, round((item.t - utt.t0) / WINDOW_S))
        utt.pause_index = pause_index
        utt.spec_due = pause_index + max(1, round(self.config.final_tail_s / WINDOW_S))
        if utt.spec is not None:  # a previous pause's decode: not needed any more
            utt.spec.cancel()
        utt.spec = None
        self._maybe_start_speculative(utt)

    async def _on_resume(self, item: SpeechResume) -> None:
        utt = self._utt
        if utt is None or utt.id != item.utterance:
            return
        spec, due = utt.spec, utt.spec_due
        utt.spec_due, utt.spec = None, None
        if spec is None or due is None:
            return
        if utt.early:  # its final is out: what follows is the next segment
            self.early_cuts += 1
            # Its start is quiet: speech begins at the resume, the first word is not stretched.
            self._next_segment(utt, due, spec.result(), speech_t=item.t)
            return
        resume_index = round((item.t - utt.t0) / WINDOW_S)
        soft = self.config.soft_segment_s if self.config.partial_interval_s else None
        if soft is not None and due * WINDOW_S >= soft and resume_index >= due:
            # Long enough: keep the speculative final as this segment's, go on with the rest.
            hyp = await spec
            if hyp is None:  # the decode failed: the audio stays in the open segment
                return
            self.pause_cuts += 1
            self.speculative_used += 1
            await self._emit_final(utt, hyp, due)
            self._next_segment(utt, due, hyp, speech_t=item.t)
        else:  # the final would cover speech still going on: not needed, free the worker
            spec.cancel()

    def _maybe_start_speculative(self, utt: _Utterance) -> None:
        if utt.spec_due is not None and utt.spec is None and len(utt.chunks) >= utt.spec_due:
            self.speculative += 1
            spec = utt.spec = self._spawn(self._decode_final(utt, utt.spec_due))
            if self.config.early_final_quiet_s is not None and self.config.partial_interval_s:
                spec.add_done_callback(
                    lambda t: (
                        None
                        if t.cancelled() or self._closing
                        else self._spawn(self._early_final_decoded(utt))
                    )
                )

    async def _early_final_decoded(self, utt: _Utterance) -> None:
        async with self._lock:
            await self._maybe_early_final(utt)

    async def _maybe_early_final(self, utt: _Utterance) -> None:
        """Let the speculative final out if it is decoded and the quiet has held long enough
        (checked when it finishes and at each window of the pause)."""
        quiet = self.config.early_final_quiet_s
        spec, due, pause = utt.spec, utt.spec_due, utt.pause_index
        if (
            quiet is None
            or not self.config.partial_interval_s
            or utt.early
            or utt.done
            or self._utt is not utt
            or spec is None
            or not spec.done()
            or spec.cancelled()
            or due is None
            or pause is None
            # The window that ends the pause arrives before its SpeechResume: not counted.
            or (len(utt.chunks) - 1 - pause) * WINDOW_S < quiet - 1e-9
            # The decode failed (reported by it): the hangover's final decodes again.
            or spec.result() is None
        ):
            return
        utt.early = True
        self.early_finals += 1
        self.speculative_used += 1
        await self._emit_final(utt, spec.result(), due)

    async def _finalize(self, end: SpeechEnd) -> None:
        utt = self._utt
        if utt is None or utt.id != end.utterance:
            return
        utt.done = True
        self._utt = None
        if not utt.chunks or utt.early:  # nothing, or its final is out already
            return
        n = len(utt.chunks)
        if utt.spec_due is not None:
            n = min(n, utt.spec_due)
        if utt.spec is not None and utt.spec_due == n:
            self.speculative_used += 1
            hyp = await utt.spec
            if hyp is None:  # it failed (and said so): once more, the audio is not lost
                hyp = await self._decode_final(utt, n)
        else:
            if utt.spec is not None:  # it covers other audio: free the worker of it
                utt.spec.cancel()
            hyp = await self._decode_final(utt, n)
        await self._emit_final(utt, hyp, n)

    async def _cut_segment(self, utt: _Utterance) -> None:
        """Finalize the part before the quietest window in the search stretch; go on after."""
        n = len(utt.chunks)
        lo = max(1, n - round(self.config.cut_search_s / WINDOW_S))
        hi = max(lo + 1, n - round(1.0 / WINDOW_S))
        # The middle of the quietest stretch (probabilities smoothed over ~160 ms), not just
        # the quietest window, which may sit right against the onset of the next word.
        probs = np.convolve(np.asarray(utt.probs, dtype=np.float32), np.ones(5) / 5, mode="same")
        cut = lo + int(np.argmin(probs[lo:hi]))
        self.hard_cuts += 1
        if utt.spec is not None:  # a pause's final covering audio past the cut: not needed
            utt.spec.cancel()
        hyp = await self._decode_final(utt, cut)
        await self._emit_final(utt, hyp, cut)
        rest = self._next_segment(utt, cut, hyp)
        if utt.spec_due is not None and utt.spec_due > cut:
            rest.spec_due = utt.spec_due - cut
            if utt.pause_index is not None:
                rest.pause_index = max(0, utt.pause_index - cut)
        self._maybe_start_speculative(rest)

    def _next_segment(
        self, utt: _Utterance, cut: int, hyp: Hypothesis | None, speech_t: float | None = None
    ) -> _Utterance:
        """`speech_t`: where speech resumed (default: at the cut, speech going on)."""
        text = hyp.text if hyp is not None and not hyp.is_silence else None
        rest = utt.rest(cut, text, speech_t)
        if text and hyp is not None and hyp.words:
            rest.before = _Before(utt.pcm(cut), hyp.words, utt.committed)
        utt.done = True  # its partials still in flight are dropped
        self._utt = rest
        return rest

    async def _emit_final(self, utt: _Utterance, hyp: Hypothesis | None, windows: int) -> None:
        if hyp is not None and not hyp.is_silence:
            words = [
                TimedWord(utt.t0 + w.start, utt.t0 + w.end, w.text.strip(), w.probability)
                for w in hyp.words
            ]
            # The aligner stretches the first word back over the pre-roll silence; it cannot
            # start before the VAD heard speech (one window of slack).
            if words and words[0].start < utt.speech_t - WINDOW_S < words[0].end:
                first = words[0]
                words[0] = TimedWord(
                    utt.speech_t - WINDOW_S, first.end, first.text, first.probability
                )
            language, language_p = answer_language(hyp, self.config.language, self._multilingual)
            await self._emit(
                Transcript(
                    utterance=utt.id,
                    final=True,
                    t_start=words[0].start if words else utt.t0,
                    t_end=words[-1].end if words else utt.t0 + windows * WINDOW_S,
                    text=hyp.text,
                    stable=hyp.text,
                    words=tuple(words),
                    confidence=round(hyp.confidence, 3),
                    language=language,
                    language_prob=language_p,
                    segment=utt.segment,
                )
            )
        await self._report_lag(utt, windows)

    async def _report_lag(self, utt: _Utterance, windows: int) -> None:
        if windows and (
            lag := self._lag_event(utt.arrived[windows - 1], utt.chunks[windows - 1].t)
        ):
            await self._emit(
                replace(
                    lag,
                    queue_wait_s=round(self.stream.last_wait_s, 4),
                    partial_interval_s=self._partial_interval() or None,
                )
            )

    async def _partials(self) -> None:
        """Per utterance: the first partial shortly after speech starts, then one every
        partial interval (the scheduler stretches it under load; `partial_spacing` on long
        segments), timed on the clock (not on audio arrival). A partial asked for while the
        previous one still waits replaces it."""
        assert self.config.partial_interval_s
        cfg = self.config
        while True:
            interval = self._partial_interval()
            utt = self._utt
            if utt is None or utt.done:
                self._utterance_started.clear()
                await self._utterance_started.wait()
                continue
            wait = utt.next_partial_at - self.clock.now()
            if wait > 0:
                await self.clock.sleep(min(wait, interval))
                continue
            spaced = partial_spacing(interval, len(utt.chunks) * WINDOW_S, cfg.partial_span_s)
            utt.next_partial_at = max(utt.next_partial_at + spaced, self.clock.now())
            if (
                utt.spec is not None  # the final is on its way; a partial would only delay it
                or len(utt.chunks) <= utt.decoded_windows
                or len(utt.chunks) * WINDOW_S < self.config.min_partial_audio_s
            ):
                continue
            utt.decoded_windows = len(utt.chunks)
            self._spawn(self._partial(utt, utt.decoded_windows))

    async def _partial(self, utt: _Utterance, windows: int) -> None:
        hyp = await self._decode_partial(utt, windows)
        if (
            hyp is None
            or hyp.is_silence
            or utt.done
            or utt.early  # its final is out
            or self._utt is not utt
            or windows <= utt.emitted_windows  # a newer one was emitted already
        ):
            return
        utt.emitted_windows = windows
        utt.partials_emitted += 1
        unspaced = self.config.language in UNSPACED
        units = [c for c in hyp.text if not c.isspace()] if unspaced else hyp.text.split()
        stable, full = utt.stable.update(units)
        sep = "" if unspaced else " "
        await self._emit(
            Transcript(
                utterance=utt.id,
                final=False,
                t_start=utt.t0,
                t_end=utt.t0 + windows * WINDOW_S,
                text=sep.join(full),
                stable=sep.join(stable),
                confidence=round(hyp.confidence, 3),
                segment=utt.segment,
            )
        )
        await self._report_lag(utt, windows)


__all__ = [
    "AsrConfig",
    "AsrStage",
    "StageLag",
    "asr_prompt",
    "echoes_prompt",
    "partial_spacing",
    "previous_text",
    "primed_decode",
    "prompt_took_over",
]

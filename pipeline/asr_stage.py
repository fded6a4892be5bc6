"""AsrStage: speech audio from the VAD -> partial and final transcripts with word timings.

While an utterance goes on, a partial every `partial_interval_s` (on the injected clock) from
a decode of the utterance so far, with a stable prefix that only grows. When the VAD reports a
pause, the final decode starts at once, speculatively: if the hangover ends the utterance, the
final is (nearly) ready; if speech resumes, the result is dropped. Utterances longer than
`max_segment_s` are cut at the quietest window near the end and finalized in segments.
All decoding runs on this stage's own worker thread; the loop only moves buffers.

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

from models_onnx.whisper import Hypothesis, WhisperAsr, answer_language, stutters
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


def asr_prompt(language: str, question: str | None, filler: str | None) -> str | None:
    """The text Whisper takes as what came before the answer: the question and the
    disfluent text; without a question, the sentence that sets the script goes last, next to
    the answer (with it before the fillers, base wrote traditional characters)."""
    if language in QUESTION_LAST:
        parts = [filler, question or DEFAULT_CONTEXT.get(language)]
    else:
        parts = [question, filler, None if question else DEFAULT_CONTEXT.get(language)]
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
) -> Hypothesis:
    """Decode with the question and disfluent text as prompt; when the hypothesis looks
    made from the prompt, once more with neither. With `identify`, an answer in another of
    the product's languages is decoded in its own language."""
    prompt = asr_prompt(language, question, filler)
    hyp = model.decode(pcm, language, prompt, words, identify)
    if (filler or question) and hyp.text and prompt_took_over(hyp, prompt, language):
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
    min_partial_audio_s: float = 0.4  # shorter audio gives junk hypotheses
    first_partial_delay_s: float = 0.25  # after the VAD declares speech (which is already late)
    # Quiet after the pause point before the final decode starts, and kept in it. Long enough
    # that pauses between words rarely trigger a wasted decode; short enough that the decode
    # (~100 ms) is done before the 300 ms hangover ends the utterance.
    final_tail_s: float = 0.16
    max_segment_s: float = 20.0  # decode() takes at most 29 s; cut long answers before that
    cut_search_s: float = 6.0  # look for the cut in this last stretch
    word_timestamps: bool = True
    # Prime finals with a disfluent prompt so hesitations reach the transcript.
    keep_fillers: bool = True
    fillers_in_partials: bool = False  # the same prompt on partials (costs decode time)
    identify_language: bool = True  # tag finals with the answer's language


@dataclass
class _Utterance:
    id: int
    t0: float  # media time of chunks[0]
    speech_t: float = 0.0  # where the VAD heard speech begin (the buffer has pre-roll before)
    segment: int = 0
    chunks: list[AudioChunk] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    stable: StablePrefix = field(default_factory=StablePrefix)
    decoded_windows: int = 0  # windows covered by the last partial decode
    partial_in_flight: bool = False
    next_partial_at: float = 0.0  # clock time
    spec_due: int | None = None  # windows the speculative final will cover
    spec: asyncio.Task[Hypothesis | None] | None = None
    done: bool = False

    def pcm(self, windows: int) -> npt.NDArray[np.float32]:
        return np.concatenate([c.pcm for c in self.chunks[:windows]])


class AsrStage(Stage[VadOutput, Event]):
    name = "asr"

    def __init__(
        self,
        clock: Clock,
        model_factory: Callable[[], WhisperAsr],
        config: AsrConfig | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(clock, input_capacity=4096, input_overflow=Overflow.BLOCK)
        self.config = config or AsrConfig()
        self._model_factory = model_factory
        self._model: WhisperAsr | None = None
        self._context = context
        self._utt: _Utterance | None = None
        self.busy_s = 0.0  # worker time spent decoding (for the real-time factor)
        self.decodes = 0
        self.speculative = 0  # speculative finals started
        self.speculative_used = 0
        self._tasks: set[asyncio.Task[object]] = set()  # partial and speculative decodes
        self._utterance_started = asyncio.Event()

    def set_context(self, text: str | None) -> None:
        """Text that primes recognition (the current question); used from the next decode."""
        self._context = text

    # Worker-thread side

    def _load(self) -> None:
        if self._model is None:
            self._model = self._model_factory()

    def _decode(self, pcm: npt.NDArray[np.float32], final: bool) -> Hypothesis:
        self._load()
        assert self._model is not None
        cfg = self.config
        t0 = time.perf_counter()
        try:
            question = self._context
            fillers = cfg.keep_fillers and (final or cfg.fillers_in_partials)
            filler = FILLER_PROMPT.get(cfg.language) if fillers else None
            return primed_decode(
                self._model,
                pcm,
                cfg.language,
                question,
                filler,
                words=final and cfg.word_timestamps,
                identify=final and cfg.identify_language,
            )
        finally:
            # Wall time of the worker while decoding: with one CTranslate2 thread this is its
            # CPU time (thread_time() would miss the library's own threads).
            self.busy_s += time.perf_counter() - t0
            self.decodes += 1

    async def _decode_async(self, pcm: npt.NDArray[np.float32], final: bool) -> Hypothesis | None:
        try:
            hyp = await self._call(self._decode, pcm, final)
        except Exception as err:  # a broken buffer or model: report once, keep the session
            await self._failed(self._utt.t0 if self._utt else 0.0, f"ASR failed: {err}")
            return None
        await self._succeeded(self._utt.t0 if self._utt else 0.0)
        return hyp

    # Loop side

    def _spawn(self, coro: Coroutine[object, object, R]) -> asyncio.Task[R]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        try:  # load before speech, so the first partial is not late
            await self._call(self._load)
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
                await self._handle(item)
        finally:
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
            if self._utt is not None:
                self._utt.spec_due, self._utt.spec = None, None
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
        if len(utt.chunks) * WINDOW_S >= self.config.max_segment_s:
            await self._cut_segment(utt)

    def _on_pause(self, item: SpeechPause) -> None:
        utt = self._utt
        if utt is None or utt.id != item.utterance or not utt.chunks:
            return
        pause_index = max(0, round((item.t - utt.t0) / WINDOW_S))
        utt.spec_due = pause_index + max(1, round(self.config.final_tail_s / WINDOW_S))
        utt.spec = None
        self._maybe_start_speculative(utt)

    def _maybe_start_speculative(self, utt: _Utterance) -> None:
        if utt.spec_due is not None and utt.spec is None and len(utt.chunks) >= utt.spec_due:
            pcm = utt.pcm(utt.spec_due)
            self.speculative += 1
            utt.spec = self._spawn(self._decode_async(pcm, True))

    async def _finalize(self, end: SpeechEnd) -> None:
        utt = self._utt
        if utt is None or utt.id != end.utterance:
            return
        utt.done = True
        self._utt = None
        if not utt.chunks:
            return
        n = len(utt.chunks)
        if utt.spec_due is not None:
            n = min(n, utt.spec_due)
        if utt.spec is not None and utt.spec_due == n:
            self.speculative_used += 1
            hyp = await utt.spec
        else:
            hyp = await self._decode_async(utt.pcm(n), True)
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
        hyp = await self._decode_async(utt.pcm(cut), True)
        await self._emit_final(utt, hyp, cut)
        rest = _Utterance(utt.id, utt.chunks[cut].t, utt.chunks[cut].t, segment=utt.segment + 1)
        rest.chunks, rest.probs, rest.arrived = utt.chunks[cut:], utt.probs[cut:], utt.arrived[cut:]
        if utt.spec_due is not None and utt.spec_due > cut:
            rest.spec_due = utt.spec_due - cut
        self._utt = rest
        self._maybe_start_speculative(rest)

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
            assert self._model is not None  # a hypothesis came from it
            language, language_p = answer_language(
                hyp, self.config.language, self._model.multilingual
            )
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
            await self._emit(lag)

    async def _partials(self) -> None:
        """Per utterance: the first partial shortly after speech starts, then one every
        `partial_interval_s`, timed on the clock (not on audio arrival)."""
        interval = self.config.partial_interval_s
        assert interval
        while True:
            utt = self._utt
            if utt is None or utt.done:
                self._utterance_started.clear()
                await self._utterance_started.wait()
                continue
            wait = utt.next_partial_at - self.clock.now()
            if wait > 0:
                await self.clock.sleep(min(wait, interval))
                continue
            utt.next_partial_at = max(utt.next_partial_at + interval, self.clock.now())
            if (
                utt.partial_in_flight
                or utt.spec is not None  # the final is on its way; a partial would only delay it
                or len(utt.chunks) <= utt.decoded_windows
                or len(utt.chunks) * WINDOW_S < self.config.min_partial_audio_s
            ):
                continue
            utt.partial_in_flight = True
            utt.decoded_windows = len(utt.chunks)
            self._spawn(self._partial(utt, utt.decoded_windows))

    async def _partial(self, utt: _Utterance, windows: int) -> None:
        try:
            hyp = await self._decode_async(utt.pcm(windows), False)
        finally:
            utt.partial_in_flight = False
        if hyp is None or hyp.is_silence or utt.done or self._utt is not utt:
            return
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
    "primed_decode",
    "prompt_took_over",
]

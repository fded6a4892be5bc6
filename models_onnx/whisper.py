"""Whisper speech recognition on CTranslate2 (via faster-whisper), built for streaming.

`decode()` is the streaming path: it encodes only the audio it is given (padded to whole
seconds) instead of Whisper's fixed 30 s window. CTranslate2 accepts the shorter encoder
input, and the encoder cost falls with it (tiny.en int8, one thread: 290 ms for 30 s of
context, 15 ms for 5 s), which is what makes a partial every 500 ms affordable. It is the
same idea as whisper.cpp's `audio_ctx`. `transcribe()` is faster-whisper's ordinary offline
path on full 30 s windows, kept as the reference the streaming path is measured against.

Blocking and stateful per call only: run it on a worker thread. Loads from a local folder
only, never a model hub.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import merge_punctuations

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # mel frames (hop 160 samples)
MAX_SECONDS = 30.0  # Whisper's positional embeddings end here
TAIL_PAD_S = 1.0
MAX_AUDIO_S = MAX_SECONDS - TAIL_PAD_S
PROMPT_TOKENS = 223  # Whisper's limit for previous-text context (half the 448 context)
PREPEND_PUNCT = "\"'“¿([{-"
APPEND_PUNCT = "\"'.。,，!！?？:：”)]}、"
LANGUAGES_KEPT = 5


MIN_LOOP_UNITS = 4  # a verbatim repeat this long at the end is a decoding loop, not speech


def _unit(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def loop_start(units: list[str]) -> int | None:
    """Index where a trailing verbatim repeat of earlier text begins, if the tail from there
    (at least MIN_LOOP_UNITS long) copies units that started earlier. Greedy decoding on
    short context sometimes loops ("...my team. I designed a simple plan with my team")."""
    norm = [_unit(u) for u in units]
    n = len(norm)
    for i in range(1, n - MIN_LOOP_UNITS + 1):
        tail = norm[i:]
        for j in range(i):
            if norm[j : j + len(tail)] == tail or (
                j + len(tail) > i and norm[j:i] == tail[: i - j] and _periodic(norm[j:], i - j)
            ):
                return i
    return None


def _periodic(seq: list[str], period: int) -> bool:
    return all(seq[k] == seq[k - period] for k in range(period, len(seq)))


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the start of the decoded audio
    end: float
    text: str  # with its leading space, as Whisper writes it
    probability: float


@dataclass(frozen=True)
class Hypothesis:
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float
    audio_s: float
    # Whisper's language identification on the same audio (multilingual models, when asked):
    # the most probable languages, best first, as (code, probability).
    languages: tuple[tuple[str, float], ...] = ()

    @property
    def confidence(self) -> float:
        """Geometric-mean token probability in [0, 1]."""
        return float(math.exp(min(0.0, self.avg_logprob)))

    @property
    def is_silence(self) -> bool:
        # Whisper's own rule for "this window holds no speech" (no_speech and low logprob).
        return not self.text or (self.no_speech_prob > 0.6 and self.avg_logprob < -1.0)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float


class WhisperAsr:
    """One loaded Whisper model. Use it from at most `workers` threads at once."""

    def __init__(
        self, model_dir: Path, compute_type: str = "int8", threads: int = 1, workers: int = 1
    ) -> None:
        """`workers`: decodes that may run at once from as many Python threads (CTranslate2
        inter_threads; the replicas share the weights), `threads` each."""
        if not Path(model_dir).is_dir():
            raise FileNotFoundError(f"Whisper model folder {model_dir} does not exist")
        self._fw = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=True,
        )
        self.workers = workers
        self.multilingual: bool = bool(self._fw.model.is_multilingual)
        self._tokenizers: dict[str, Tokenizer] = {}

    def reset(self) -> None:
        pass

    def tokenizer(self, language: str) -> Tokenizer:
        if language not in self._tokenizers:
            if not self.multilingual and language != "en":
                raise ValueError(f"this Whisper model is English-only; cannot decode {language!r}")
            self._tokenizers[language] = Tokenizer(
                self._fw.hf_tokenizer,
                self.multilingual,
                task="transcribe" if self.multilingual else None,
                language=language if self.multilingual else None,
            )
        return self._tokenizers[language]

    def decode(
        self,
        pcm: npt.NDArray[np.float32],
        language: str = "en",
        prompt: str | None = None,
        word_timestamps: bool = True,
        identify_language: bool = False,
    ) -> Hypothesis:
        """Greedy-decode one utterance (at most 30 s of 16 kHz mono float32).

        `identify_language` (multilingual models only) also runs Whisper's language
        identification on the same encoder output: one decoder step, ~1 ms beside the decode.
        """
        audio_s = len(pcm) / SAMPLE_RATE
        if audio_s > MAX_AUDIO_S:
            raise ValueError(f"decode() takes at most {MAX_AUDIO_S:.0f} s, got {audio_s:.1f} s")
        tok = self.tokenizer(language)
        # Pad with at least a second of silence, to whole seconds: with less, the shortened
        # context makes greedy decoding loop ("...engineers. In my last role I..."); whole
        # seconds keep the encoder's input shapes few.
        padded_s = min(MAX_SECONDS, math.ceil(audio_s + TAIL_PAD_S))
        audio = np.zeros(int(padded_s * SAMPLE_RATE), dtype=np.float32)
        audio[: len(pcm)] = pcm
        features = self._fw.feature_extractor(audio, padding=0)[
            :, : int(padded_s * FRAMES_PER_SECOND)
        ]
        encoded = self._fw.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])), to_cpu=False
        )
        languages: tuple[tuple[str, float], ...] = ()
        if identify_language and self.multilingual:
            ranked = self._fw.model.detect_language(encoded)[0][:LANGUAGES_KEPT]
            languages = tuple((code.strip("<|>"), round(float(p), 4)) for code, p in ranked)
        prefix: list[int] = []
        if prompt:
            prefix = [tok.sot_prev, *tok.encode(" " + prompt.strip())[-PROMPT_TOKENS:]]
        start = [*prefix, *tok.sot_sequence, tok.no_timestamps]
        # Speech runs at most ~5 tokens a second; a bound stops a looping hypothesis early.
        max_tokens = int(12 + 8 * audio_s)
        result = self._fw.model.generate(
            encoded,
            [start],
            beam_size=1,
            max_length=len(start) + max_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
        text = tok.decode(tokens).strip()
        n = len(tokens)
        avg_logprob = float(result.scores[0]) * n / (n + 1) if n else -10.0
        words: tuple[Word, ...] = ()
        if word_timestamps and tokens:
            num_frames = int(audio_s * FRAMES_PER_SECOND)
            alignment = self._fw.find_alignment(tok, [tokens], encoded, num_frames)[0]
            merge_punctuations(alignment, PREPEND_PUNCT, APPEND_PUNCT)
            words = tuple(
                Word(
                    round(min(float(w["start"]), audio_s), 3),
                    round(min(float(w["end"]), audio_s), 3),
                    str(w["word"]),
                    float(w["probability"]),
                )
                for w in alignment
                if w["word"]
            )
            # Words the aligner can only place, with no duration, at the very end of the audio
            # were not heard there: a looping hypothesis. Drop them and the text they add.
            kept = len(words)
            while (
                kept
                and words[kept - 1].start >= audio_s - 0.02
                and (words[kept - 1].end - words[kept - 1].start < 0.02)
            ):
                kept -= 1
            if 0 < kept < len(words):
                words = words[:kept]
                text = "".join(w.text for w in words).strip()
            if (cut := loop_start([w.text for w in words])) is not None:
                words = words[:cut]
                text = "".join(w.text for w in words).strip()
        elif tokens:
            spaced = " " in text
            units = text.split() if spaced else list(text)
            if (cut := loop_start(units)) is not None:
                text = (" " if spaced else "").join(units[:cut])
        return Hypothesis(
            text, words, avg_logprob, float(result.no_speech_prob), audio_s, languages
        )

    def transcribe(
        self, pcm: npt.NDArray[np.float32], language: str = "en", word_timestamps: bool = True
    ) -> list[Segment]:
        """faster-whisper's offline transcription (30 s windows), read to the end here.

        Greedy at temperature 0 only: faster-whisper's default falls back to sampling at
        higher temperatures when a window's text compresses too well or scores too low, which
        made the reference's words (and its WER) change from run to run."""
        segments, _info = self._fw.transcribe(
            pcm,
            language=language if self.multilingual else None,
            word_timestamps=word_timestamps,
            beam_size=1,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        out = []
        for s in segments:  # the generator does the decoding
            words = tuple(
                Word(float(w.start), float(w.end), w.word, float(w.probability))
                for w in (s.words or ())
            )
            out.append(
                Segment(float(s.start), float(s.end), s.text.strip(), words,
                        float(s.avg_logprob), float(s.no_speech_prob))
            )  # fmt: skip
        return out


# What an English-only model's decode says about the answer's language. It has no language
# head, but on speech in another language it writes English words it is unsure of: on
# synthesized answers the mean word probability was >= 0.68 for English and <= 0.57 for
# Mandarin (bench/fillers.py). Between the two bounds it says nothing.
ENGLISH_MIN_WORD_P = 0.6
OTHER_MAX_WORD_P = 0.45
MIN_WORDS_FOR_OTHER = 3  # "Yes." alone is too little to call an answer foreign
OTHER_LANGUAGE = "und"  # ISO 639-2 "undetermined": not the model's language, which one unknown
CJK_MIN_SHARE = 0.8  # of the letters in a decode, for its script to say "Chinese"
# ...when identification gives "zh" at least this much: English speech decoded as Chinese
# comes out translated into characters, but then identification gives "zh" about nothing.
ZH_MIN_ID_P = 0.02


# A few characters repeated 8+ times in a row ("g-f-f-f-f-f-f-f-f-"): a decode stuck in a
# loop inside one word, which the word-level loop check cannot see.
STUTTER = re.compile(r"(.{1,3})\1{7,}")


def stutters(text: str) -> bool:
    return STUTTER.search(text) is not None


def _cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if "\u3400" <= c <= "\u9fff")
    return cjk / len(letters) if letters else 0.0


def answer_language(
    hyp: Hypothesis, decoded_as: str, multilingual: bool
) -> tuple[str | None, float | None]:
    """The language an answer was spoken in, and a probability for it, or (None, None) when
    the evidence does not say.

    Multilingual models: Whisper's language identification, except that speech decoded as
    Chinese characters is Chinese when identification prefers another language but gives
    "zh" some weight (synthesized Mandarin is often taken for Thai or Vietnamese); the
    probability is then identification's own for "zh". English-only models: "en" or
    OTHER_LANGUAGE from the mean word probability of the decode, which is the probability
    given (of English, or one minus it).
    """
    if multilingual:
        if not hyp.languages:
            return None, None
        probs = dict(hyp.languages)
        top, p = hyp.languages[0]
        p_zh = probs.get("zh", 0.0)
        if (
            decoded_as == "zh"
            and top != "zh"
            and p_zh >= ZH_MIN_ID_P
            and _cjk_share(hyp.text) >= CJK_MIN_SHARE
        ):
            return "zh", p_zh
        return top, p
    if decoded_as != "en" or not hyp.text or stutters(hyp.text):
        return None, None
    word_p = sum(w.probability for w in hyp.words) / len(hyp.words) if hyp.words else hyp.confidence
    if word_p >= ENGLISH_MIN_WORD_P:
        return "en", round(word_p, 3)
    if word_p < OTHER_MAX_WORD_P and len(hyp.words) >= MIN_WORDS_FOR_OTHER:
        return OTHER_LANGUAGE, round(1 - word_p, 3)
    return None, None

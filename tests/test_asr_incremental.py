"""Long answers are decoded a segment at a time: a 30 s answer's finals and partials each
cover a few seconds of audio, and the words still come out right (real models)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bench.speech import SR, audio_frames, read_wav, synth, trimmed
from models_onnx.assets import locate
from models_onnx.whisper import Hypothesis, WhisperAsr
from pipeline.asr_stage import AsrConfig, asr_prompt, partial_spacing, previous_text
from pipeline.events import SpeechEnd, SpeechStart, StageDegraded, Transcript
from pipeline.text import wer, words_of
from pipeline.vad_stage import VadConfig
from tests.pipeline_run import run_pipeline

SENTENCES = [
    "In my last role I managed a team of four engineers.",
    "We reduced the response time of our support desk by half in one year.",
    "The hardest part was agreeing on priorities with the sales team.",
    "I usually plan my week on Monday morning and review it on Friday.",
    "When a deadline is at risk, I tell my manager early and suggest options.",
    "I am looking for a role where I can grow into a technical leader.",
    "Yes, I have worked with databases and cloud services for five years.",
]
KEY_WORDS = {"engineers", "support", "priorities", "monday", "friday", "manager", "options"}
KEY_WORDS |= {"technical", "leader", "cloud", "services", "five", "years", "team", "week"}


def long_answer(folder: Path, gap_s: float) -> npt.NDArray[np.float32]:
    """One ~30 s answer: sentences with short pauses, too short to end the utterance."""
    parts = [np.zeros(int(0.5 * SR), np.float32)]
    for i, text in enumerate(SENTENCES):
        parts.append(trimmed(read_wav(synth(text, folder / f"s{i}.wav"))))
        parts.append(np.zeros(int(gap_s * SR), np.float32))
    parts.append(np.zeros(SR, np.float32))
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def answer(tmp_path_factory: pytest.TempPathFactory) -> npt.NDArray[np.float32]:
    try:
        return long_answer(tmp_path_factory.mktemp("long"), 0.3)
    except Exception as err:  # espeak-ng/sox missing
        pytest.fail(f"cannot synthesize speech: {err}")


async def test_a_30_s_answer_is_finalized_in_short_segments(answer) -> None:
    assert len(answer) / SR >= 28
    # Fed faster than real time, no final could go out early: the soft cuts are tested here.
    config = AsrConfig(partial_interval_s=0.5, early_final_quiet_s=None)
    run = await run_pipeline(
        audio_frames(answer),
        realtime=False,
        vad_config=VadConfig(hangover_ms=500),
        asr_config=config,
        turn_each_frame=True,
    )
    events, asr = run.all(), run.asr
    assert asr is not None

    assert len([e for e in events if isinstance(e, SpeechStart)]) == 1  # one utterance
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    assert len(finals) >= 3 and [f.segment for f in finals] == list(range(len(finals)))
    assert asr.pause_cuts >= 1  # cut where the speaker paused, not only at the hard limit
    # No decode covers more than one segment's audio (and a final the lead-in before it).
    longest = config.live_max_segment_s + config.lead_in_s
    assert asr.final_decodes and max(a for a, _ in asr.final_decodes) <= longest
    assert asr.final_decodes[-1][0] <= longest
    assert asr.max_partial_audio_s <= config.live_max_segment_s
    for a, b in pairwise(finals):
        assert a.t_end <= b.t_start + 0.05
    text = " ".join(f.text for f in finals)
    heard = set(words_of(text))
    assert len(KEY_WORDS & heard) >= len(KEY_WORDS) - 2, KEY_WORDS - heard
    assert wer(" ".join(SENTENCES), text) <= 0.3
    # Partials of a later segment carry that segment's index, and their stable prefix only
    # grows within it.
    partials = [e for e in events if isinstance(e, Transcript) and not e.final]
    for seg in {p.segment for p in partials}:
        stables = [p.stable for p in partials if p.segment == seg]
        assert all(b.startswith(a) for a, b in pairwise(stables))


def two_sentences(folder: Path) -> npt.NDArray[np.float32]:
    """SENTENCES[0] and [1] with a pause between past the early quiet, within an 800 ms
    hangover."""
    return np.concatenate(
        [
            np.zeros(int(0.4 * SR), np.float32),
            trimmed(read_wav(synth(SENTENCES[0], folder / "a.wav"))),
            np.zeros(int(0.45 * SR), np.float32),
            trimmed(read_wav(synth(SENTENCES[1], folder / "b.wav"))),
            np.zeros(int(1.5 * SR), np.float32),
        ]
    )


async def test_a_final_goes_out_before_the_hangover_and_speech_resuming_is_the_next_segment(
    tmp_path: Path,
) -> None:
    """Fed in real time: once the pause's final is decoded and the quiet has held, it goes out
    before the VAD ends the utterance (the final precedes its SpeechEnd); the sentence after
    the pause is the same utterance's next segment, with its own words (decoded with the
    first in front as lead-in)."""
    first, second = SENTENCES[0], SENTENCES[1]
    pcm = two_sentences(tmp_path)
    config = AsrConfig(partial_interval_s=0.5, early_final_quiet_s=0.2)
    vad = VadConfig(hangover_ms=800)  # room for a slow decode: the order below is not a race
    run = await run_pipeline(audio_frames(pcm), vad_config=vad, asr_config=config)
    events, asr = run.all(), run.asr
    assert asr is not None

    assert len([e for e in events if isinstance(e, SpeechStart)]) == 1  # one utterance
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    assert [f.segment for f in finals] == [0, 1]
    assert asr.early_finals == 2 and asr.early_cuts == 1
    ends = [i for i, e in enumerate(events) if isinstance(e, SpeechEnd)]
    assert len(ends) == 1 and events.index(finals[-1]) < ends[0]
    # Nothing of the first segment is shown after its final.
    after = events[events.index(finals[0]) + 1 :]
    assert not any(isinstance(e, Transcript) and e.segment == 0 for e in after)
    assert wer(first, finals[0].text) <= 0.25 and wer(second, finals[1].text) <= 0.25
    assert finals[0].t_end <= finals[1].t_start
    # The second final heard the first sentence as its lead-in, and kept none of its words.
    assert max(a for a, _ in asr.final_decodes) >= finals[1].t_end - finals[0].t_start
    assert asr.lead_fallbacks == 0 and asr.lead_skipped == 0


async def test_a_loaded_scheduler_finalizes_without_the_lead_in(tmp_path: Path) -> None:
    """The lead-in is the first thing load takes away: with any partial stretching counted
    as load (a threshold below the idle scale of 1), the second segment's final is decoded
    alone, and still has its own words."""
    pcm = two_sentences(tmp_path)
    config = AsrConfig(partial_interval_s=0.5, early_final_quiet_s=0.2, lead_in_max_scale=0.5)
    run = await run_pipeline(
        audio_frames(pcm), vad_config=VadConfig(hangover_ms=800), asr_config=config
    )
    asr = run.asr
    assert asr is not None
    finals = [e for e in run.all() if isinstance(e, Transcript) and e.final]
    assert [f.segment for f in finals] == [0, 1]
    assert asr.lead_skipped >= 1 and asr.lead_fallbacks == 0
    assert max(a for a, _ in asr.final_decodes) < finals[1].t_end - finals[0].t_start
    assert wer(SENTENCES[1], finals[1].text) <= 0.25


def test_partials_of_a_long_segment_are_spaced_so_their_decoding_stays_bounded() -> None:
    span, interval = AsrConfig().partial_span_s, 0.5
    assert partial_spacing(interval, 0.4, span) == interval  # short segments: every interval
    assert partial_spacing(interval, span, span) == interval
    assert partial_spacing(interval, 2 * span, span) == 2 * interval
    # Whatever the segment's length, partials decode at most span / interval seconds of
    # audio per second (12 with the defaults); at the longest live segment, one in 1.25 s.
    for open_s in (1.0, 6.0, 10.0, 15.0, 29.0):
        assert open_s / partial_spacing(interval, open_s, span) <= span / interval + 1e-9
    assert partial_spacing(interval, AsrConfig().live_max_segment_s, span) <= 1.25


def test_the_text_before_a_segment_primes_it_last() -> None:
    committed = ("First I gathered the requirements.", "Then I designed a plan.")
    assert previous_text(committed, "en", 6) == "requirements. Then I designed a plan."
    assert previous_text((), "en", 5) is None
    assert previous_text(("我们的团队", "一共有四个人"), "zh", 4) == "共有四个人"[-4:]
    prompt = asr_prompt("en", "Tell me about your team.", "Umm, so.", "Then I designed a plan.")
    assert prompt == "Tell me about your team. Umm, so. Then I designed a plan."
    zh = asr_prompt("zh", "介绍一下你的团队。", "嗯，那个。", "我们的团队")
    assert zh == "嗯，那个。介绍一下你的团队。我们的团队"


class FirstFinalFails(WhisperAsr):
    """tiny.en whose first final decode (the one with word timings) raises."""

    failed = False

    def decode(
        self,
        pcm: npt.NDArray[np.float32],
        language: str = "en",
        prompt: str | None = None,
        word_timestamps: bool = True,
        identify_language: bool = False,
    ) -> Hypothesis:
        if word_timestamps and not self.failed:
            self.failed = True
            raise RuntimeError("decoder hiccup")
        return super().decode(pcm, language, prompt, word_timestamps, identify_language)


async def test_a_failed_speculative_final_is_not_let_out_and_its_words_are_not_lost(
    tmp_path: Path,
) -> None:
    """The first pause's final decode fails: nothing goes out early for it, the failure is
    reported, and the first sentence's words still reach a final (the audio was kept in the
    open segment) before the utterance ends."""
    config = AsrConfig(partial_interval_s=0.5, early_final_quiet_s=0.2)
    run = await run_pipeline(
        audio_frames(two_sentences(tmp_path)),
        asr=lambda: FirstFinalFails(locate("whisper_tiny_en")),
        vad_config=VadConfig(hangover_ms=800),
        asr_config=config,
    )
    events, asr = run.all(), run.asr
    assert asr is not None

    assert any(isinstance(e, StageDegraded) and "ASR failed" in e.reason for e in events)
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    assert finals and asr.early_finals <= 1  # at most the second pause's
    text = " ".join(f.text for f in finals)
    assert wer(" ".join(SENTENCES[:2]), text) <= 0.25, text

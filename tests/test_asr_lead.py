"""Where a segment's lead-in starts and what of its decode is kept (pure functions)."""

from __future__ import annotations

from models_onnx.whisper import Hypothesis, Word
from pipeline.asr_lead import after_lead, choose_lead


def w(start: float, end: float, text: str) -> Word:
    return Word(start, end, text, 0.9)


WORDS = (
    w(0.3, 0.6, " I"),
    w(0.6, 1.0, " managed"),
    w(1.0, 1.4, " a"),
    w(1.4, 2.0, " team."),  # a full stop, no gap after it
    w(2.0, 2.5, " We"),
    w(2.5, 3.2, " reduced"),
    w(3.6, 4.0, " the"),  # a pause before it
    w(4.0, 4.8, " time."),
)


def test_a_short_previous_segment_is_the_lead_in_whole() -> None:
    lead = choose_lead(WORDS, 5.0, 5.0, unspaced=False)
    assert lead is not None and lead.start_s == 0.0 and lead.text_before == ""


def test_a_long_one_leads_in_from_its_earliest_pause_or_punctuation_within_reach() -> None:
    lead = choose_lead(WORDS, 5.0, 3.2, unspaced=False)  # reach: from 1.8 s on
    assert lead is not None and lead.start_s == 2.0  # after "team."
    assert lead.text_before == "I managed a team."
    lead = choose_lead(WORDS, 5.0, 2.0, unspaced=False)  # from 3.0 s on: the pause at 3.4 s
    assert lead is not None and abs(lead.start_s - 3.4) < 1e-9
    assert lead.text_before == "I managed a team. We reduced"


def test_no_lead_in_from_the_middle_of_speech_or_when_off() -> None:
    assert choose_lead(WORDS, 5.0, 1.0, unspaced=False) is None  # no boundary after 4.0 s
    assert choose_lead(WORDS, 5.0, 0.0, unspaced=False) is None
    assert choose_lead((), 5.0, 5.0, unspaced=False) is None


def test_unspaced_text_before_is_joined_without_spaces() -> None:
    words = (w(0.2, 0.5, "我"), w(0.5, 0.8, "觉得。"), w(1.2, 1.6, "很"), w(1.6, 2.0, "好"))
    lead = choose_lead(words, 8.0, 7.0, unspaced=True)
    assert lead is not None and lead.text_before == "我觉得。"


def test_only_the_words_after_the_cut_are_kept_timed_from_the_segment() -> None:
    hyp = Hypothesis(" ".join(x.text for x in WORDS), WORDS, -0.2, 0.01, 5.5)
    mine = after_lead(hyp, 2.0)
    assert mine.text == "We reduced the time."
    assert mine.words[0].start == 0.0 and abs(mine.words[-1].end - 2.8) < 1e-9
    assert abs(mine.audio_s - 3.5) < 1e-9
    # A word straddling the cut belongs where most of it is.
    assert after_lead(hyp, 2.2).text == "We reduced the time."
    assert after_lead(hyp, 2.35).text == "reduced the time."
    assert after_lead(hyp, 5.0).is_silence

"""Checks that keep a transcript out of scoring: recognition loops and echoes of the question.

Pure functions on text, no models. Both work on units: words for spaced languages (letters
and digits, case-folded, punctuation dropped, so "4-4-4" is three "4"s), single characters
for Chinese and Japanese, where words are not written apart.

repetition_loop: a speech recogniser stuck on its own output writes the same unit or phrase
over and over ("4-4-4-4-4-4", "the the the the the", "谢谢谢谢谢谢谢谢", "I think that I think
that I think that"). People repeat too ("very very good", "no, no, no", "好的好的"), so only
runs past what speech does are loops:

- one unit repeated back to back LOOP_SAME_WORD (5) times, or LOOP_SAME_CHAR (6) times for
  Chinese characters;
- a phrase of 2-LOOP_MAX_PHRASE units repeated back to back LOOP_PHRASE_REPEATS (3) times,
  covering at least LOOP_PHRASE_SPAN units (6 words; 8 characters, so "好的好的好的" is speech
  and "我觉得我觉得我觉得" a loop);
- a sentence-sized phrase (LOOP_SENTENCE words, 5-30; characters: twice that) said twice
  back to back: people restate, but not word for word at once, while a decoder that lost its
  place writes the same sentence again ("I think I would. I don't really know. I think I
  would. I don't really know.");
- a stretch of COMPRESSION_WINDOW bytes (UTF-8 of the units; the whole text when shorter,
  from COMPRESSION_MIN_BYTES) that zlib compresses more than COMPRESSION_RATIO (2.4,
  faster-whisper's own threshold for a failed, repetitive decode): loops whose repeats vary
  ("I went to the store and then we went to the store so I went to the store..."). A fixed
  window because natural text compresses better the longer it is: windows of this repository's
  prose reach 2.2, spoken interview answers 1.9, varied loops 3.2 and more.

echo_of / is_echo: a recogniser can hear the question played to the candidate, and some
candidates read it back; either way the text is not an answer. The echo share is the part of
the answer's units that lie in runs of at least ECHO_MIN_RUN units (3 words, 4 characters)
copied, in order, from one of the prompts (difflib matching blocks), so a few words of the
question used in a genuine answer ("when I led a team") stay far below ECHO_THRESHOLD (0.8).
Answers shorter than ECHO_MIN_UNITS (5 words, 8 characters) are never echoes: "teamwork or
speed", "团队合作" answer a question that names the options.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zlib
from collections.abc import Sequence

LOOP_SAME_WORD = 5
LOOP_SAME_CHAR = 6
LOOP_MAX_PHRASE = 8  # words; characters: twice this
LOOP_PHRASE_REPEATS = 3
LOOP_PHRASE_SPAN = {"spaced": 6, "unspaced": 8}
LOOP_SENTENCE = (5, 30)  # words; characters: twice these
COMPRESSION_WINDOW = 400
COMPRESSION_MIN_BYTES = 160
COMPRESSION_RATIO = 2.4
ECHO_MIN_RUN = {"spaced": 3, "unspaced": 4}
ECHO_MIN_UNITS = {"spaced": 5, "unspaced": 8}
ECHO_THRESHOLD = 0.8
MAX_UNITS = 4000  # longer texts are checked on their first MAX_UNITS units

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*")


def _unspaced(language: str) -> bool:
    return language.split("-")[0].lower() in {"zh", "ja"}


def units(text: str) -> list[str]:
    """Words and single CJK characters, NFKC case-folded, punctuation dropped."""
    norm = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return _UNIT.findall(norm)[:MAX_UNITS]


def _show(unit: Sequence[str], unspaced: bool) -> str:
    return ("" if unspaced else " ").join(unit)


def _longest_repeat(seq: Sequence[str], period: int) -> tuple[int, int]:
    """(repeats, start) of the longest back-to-back repetition of a `period`-unit phrase."""
    best, best_start, run, start = 0, 0, 0, 0
    for j in range(len(seq) - period):
        if seq[j] == seq[j + period]:
            if run == 0:
                start = j
            run += 1
            if run > best:
                best, best_start = run, start
        else:
            run = 0
    return (best // period + 1 if best else 1), best_start


def compression_ratio(raw: bytes) -> float:
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def _most_compressible(raw: bytes) -> float:
    """The highest compression ratio of a COMPRESSION_WINDOW stretch, windows half
    overlapping (0 below COMPRESSION_MIN_BYTES)."""
    if len(raw) < COMPRESSION_MIN_BYTES:
        return 0.0
    step = COMPRESSION_WINDOW // 2
    starts = range(0, max(1, len(raw) - COMPRESSION_WINDOW + step), step)
    return max(compression_ratio(raw[i : i + COMPRESSION_WINDOW]) for i in starts)


def repetition_loop(text: str, language: str) -> str | None:
    """What loop the text is stuck in ("'4' repeated 6 times"), or None for normal speech."""
    unspaced = _unspaced(language)
    seq = units(text)
    same = LOOP_SAME_CHAR if unspaced else LOOP_SAME_WORD
    reps, at = _longest_repeat(seq, 1)
    if reps >= same:
        return f"'{seq[at]}' repeated {reps} times"
    span = LOOP_PHRASE_SPAN["unspaced" if unspaced else "spaced"]
    for period in range(2, LOOP_MAX_PHRASE * (2 if unspaced else 1) + 1):
        reps, at = _longest_repeat(seq, period)
        phrase = seq[at : at + period]
        if reps >= LOOP_PHRASE_REPEATS and reps * period >= span and len(set(phrase)) > 1:
            return f"'{_show(phrase, unspaced)}' repeated {reps} times"
    scale = 2 if unspaced else 1
    for period in range(LOOP_SENTENCE[0] * scale, LOOP_SENTENCE[1] * scale + 1):
        reps, at = _longest_repeat(seq, period)
        if reps >= 2:
            return f"'{_show(seq[at : at + period], unspaced)}' said {reps} times in a row"
    ratio = _most_compressible(_show(seq, unspaced).encode("utf-8"))
    if ratio > COMPRESSION_RATIO:
        return f"repetitive text (compresses {ratio:.1f}x)"
    return None


def echo_of(text: str, prompts: Sequence[str], language: str) -> float:
    """The share (0-1) of the answer's units copied, in runs, from any of the prompts."""
    answer = units(text)
    kind = "unspaced" if _unspaced(language) else "spaced"
    least = ECHO_MIN_RUN[kind]
    if len(answer) < ECHO_MIN_UNITS[kind]:
        return 0.0  # too short to tell a copy from a choice among the question's options
    copied: set[int] = set()
    for prompt in prompts:
        matcher = difflib.SequenceMatcher(None, answer, units(prompt), autojunk=False)
        for block in matcher.get_matching_blocks():
            if block.size >= least:
                copied.update(range(block.a, block.a + block.size))
    return len(copied) / len(answer)


def is_echo(text: str, prompts: Sequence[str], language: str) -> bool:
    """Whether at least ECHO_THRESHOLD of the answer is the question or a prompt."""
    return echo_of(text, prompts, language) >= ECHO_THRESHOLD

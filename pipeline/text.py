"""Text helpers shared by scoring, tests and benchmarks."""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten",
}  # fmt: skip


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation; single digits spelled out (Whisper writes
    "4" or "four" for the same sound)."""
    cleaned = re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "")
    return [_NUMBER_WORDS.get(w, w) for w in cleaned.split()]


# English contractions spelled out before counting word errors, as Whisper's English text
# normalizer does for its published WERs ("I'm" for "I am" is not a recognition error). Only
# the unambiguous ones: "'s" (is, has, or a possessive) and "'d" (had or would) stay.
_CONTRACTIONS = [
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'m\b"), " am"),
]


def expanded(text: str) -> str:
    """`text` in lower case with its English contractions spelled out."""
    out = text.lower().replace("\u2019", "'")
    for pattern, words in _CONTRACTIONS:
        out = pattern.sub(words, out)
    return out


def wer_words(text: str) -> list[str]:
    """The words a WER is counted on: `words_of` with contractions spelled out."""
    return words_of(expanded(text))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance divided by the reference length, on
    `wer_words`."""
    ref, hyp = wer_words(reference), wer_words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1] / max(len(ref), 1)

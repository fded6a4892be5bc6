"""Acoustic lead-in for the final of a segment that follows a cut.

A live answer is decoded in segments (pipeline.asr_stage); each segment's final on its own
hears only its own few seconds, and tiny.en writes worse words on it than on the whole
answer. Decoding it with the end of the previous segment's audio in front, primed with the
text *before* that audio (not the lead-in's own text: the decoder skips what the prompt
already says, and the segment's first words then align into the lead-in and are lost), and
keeping only the words after the cut, gives the decoder the context an offline pass has.
bench.asr_context, every sentence of 6 long answers decoded as its own segment: 0.187 primed
with the text before it; 0.143 with the whole sentence before it as lead-in (offline on the
same audio: 0.155); a lead-in that starts mid-word, unprimed, 0.201-0.258 at 2-4 s.

So a lead-in starts where the previous segment's words leave a gap (a pause, or after a
punctuation mark): the whole previous segment when it is short enough, else the earliest
such boundary within `max_s` of the cut.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from models_onnx.whisper import Hypothesis, Word

BOUNDARY_GAP_S = 0.15  # words this far apart have a pause between them
CLAUSE_END = tuple(".,?!;:。，？！；：、")
# A word whose middle lies this little before the cut still counts as the segment's own
# (the aligner's boundaries are some tens of ms off).
CUT_SLACK_S = 0.05


@dataclass(frozen=True)
class Lead:
    start_s: float  # where the lead-in starts in the previous segment's audio
    text_before: str  # the previous segment's words before it (primes the decode)


def choose_lead(words: tuple[Word, ...], cut_s: float, max_s: float, unspaced: bool) -> Lead | None:
    """The lead-in for the segment after a cut at `cut_s` of a segment whose final had
    `words` (times from its start): the whole segment if it is at most `max_s` long, else
    the earliest word boundary with a pause or a punctuation mark within `max_s` of the cut;
    None when there is no such boundary (a lead-in from mid-speech does more harm than
    good)."""
    if max_s <= 0 or not words:
        return None
    if cut_s <= max_s:
        return Lead(0.0, "")
    sep = "" if unspaced else " "
    for i in range(1, len(words)):
        prev, word = words[i - 1], words[i]
        start = (prev.end + word.start) / 2
        if cut_s - start > max_s:
            continue
        if start >= cut_s:
            break
        if word.start - prev.end >= BOUNDARY_GAP_S or prev.text.strip().endswith(CLAUSE_END):
            text = sep.join(w.text.strip() for w in words[:i])
            return Lead(start, text)
    return None


def after_lead(hyp: Hypothesis, lead_s: float) -> Hypothesis:
    """The hypothesis of (lead-in + segment) as the segment's own: the words after the cut,
    timed from the segment's start."""
    kept = [w for w in hyp.words if (w.start + w.end) / 2 >= lead_s - CUT_SLACK_S]
    words = tuple(
        Word(max(0.0, w.start - lead_s), max(0.0, w.end - lead_s), w.text, w.probability)
        for w in kept
    )
    return replace(
        hyp,
        text="".join(w.text for w in words).strip(),
        words=words,
        audio_s=max(0.0, hyp.audio_s - lead_s),
    )


__all__ = ["Lead", "after_lead", "choose_lead"]

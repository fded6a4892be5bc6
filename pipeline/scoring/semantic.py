"""Matching by meaning: which span of an answer is closest to a concept or a structure part.

The answer's final transcripts arrive one utterance at a time as units (a word in English,
a character in Chinese). Each utterance is cut into candidate windows (sliding spans of
4-12 words or 4-16 characters, and the whole utterance), the windows are embedded once, and
`best()` compares them with short prototype phrases ("as a result, we cut costs by twenty
percent", "inventory forecasting"). A recognition error ("another result we cut the
delivery time by a third") or a paraphrase still lands near its prototype, where keyword
matching finds nothing.

Thresholds (cosine, Universal Sentence Encoder Multilingual v3 int8) were set on cases
written for the purpose (tests/test_semantic.py holds the decisive ones), each scored as
`best()` scores it: the closest window over all of a concept's or part's prototypes.

    en  off-topic answers vs concepts and parts      0.06-0.36  ("I like to play football
        on weekends" vs "inventory forecasting": 0.08)
        paraphrases and recognition errors           0.40-0.90  ("another result we cut the
        delivery time by a third" vs "as a result, the outcome was": 0.61; "because the
        client was unhappy" vs "because the customers were unhappy": 0.90)
        threshold 0.45 (leaves out the loosest paraphrase, 0.40: "the managers who
        depended on the" for "keeping stakeholders informed")
    zh  off-topic                                    0.12-0.41  ("我喜欢周末踢足球" vs
        "库存预测": 0.17)
        paraphrases                                  0.50-0.99  ("结果我们把成本降低了两成"
        vs "结果是": 0.74)
        threshold 0.48

Telling one part of an on-topic answer from another is weaker: among 10 sentences per
language, each written as one STAR part or a reason, the right part's prototypes passed
for 7 (en) and 5 (zh), and 5 of 40 wrong-part pairs passed as well (up to 0.59 en, 0.64
zh), mostly where a prototype carries content words ("wrote down their complaints" vs
"because the customers were unhappy": 0.59). Prototypes built from discourse words ("as a
result", "the reason was that") are the safer kind.

Cost on one thread: `add()` of a 38-word utterance (55 windows) takes 46 ms, of 59 Chinese
characters (86 windows) 64 ms; `best()` with cached prototypes takes under 0.3 ms.

Similarities move by up to ~0.002 with the batch a text is encoded in (dynamic int8), far
inside these margins. Pure logic over an encoder: anything with `encode(texts)` returning
unit-length rows works (tests use the real model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

# Cosine a window must reach to count as a match, per interview language.
THRESHOLDS: dict[str, float] = {"en": 0.45, "zh": 0.48}
DEFAULT_THRESHOLD = 0.48  # languages not calibrated: the stricter of the two

# Window sizes in units and the step between starts. Short spans catch one clause inside a
# long utterance; the longer ones and the whole utterance catch what spreads over clauses.
WORD_SIZES = ((4, 2), (6, 2), (9, 3), (12, 4))
CHAR_SIZES = ((4, 2), (7, 2), (11, 3), (16, 4))
UNSPACED = frozenset({"zh", "ja"})


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> Matrix: ...


@dataclass(frozen=True)
class Unit:
    text: str  # one word (spaced languages) or one character (Chinese)
    start: float
    end: float
    utterance: int


@dataclass(frozen=True)
class Window:
    text: str
    start: float
    end: float
    utterance: int


@dataclass(frozen=True)
class SemanticHit:
    text: str
    start: float
    end: float
    utterance: int
    similarity: float
    query: str


def _spans(n: int, sizes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last+1) index pairs: sliding windows that also end flush with the utterance."""
    spans: set[tuple[int, int]] = {(0, n)}
    for size, step in sizes:
        if size >= n:
            continue
        starts = set(range(0, n - size + 1, step)) | {n - size}
        spans.update((s, s + size) for s in starts)
    return sorted(spans)


def windows(units: Sequence[Unit], language: str) -> list[Window]:
    """Candidate spans of each utterance in `units`, in order of utterance then start."""
    unspaced = language in UNSPACED
    sep = "" if unspaced else " "
    sizes = CHAR_SIZES if unspaced else WORD_SIZES
    by_utterance: dict[int, list[Unit]] = {}
    for u in units:
        if u.text.strip():
            by_utterance.setdefault(u.utterance, []).append(u)
    out: list[Window] = []
    for utt, us in by_utterance.items():
        for a, b in _spans(len(us), sizes):
            span = us[a:b]
            text = sep.join(u.text.strip() for u in span)
            out.append(Window(text, span[0].start, span[-1].end, utt))
    return out


@dataclass
class _Utterance:
    units: list[Unit]
    windows: list[Window]
    vectors: Matrix
    threshold: float


class SemanticIndex:
    """The windows of one answer and their embeddings, added one utterance at a time.

    Re-scoring after each new final only encodes the new utterance's windows; prototype
    vectors are cached too, since the same queries are asked after every final.
    """

    def __init__(self, encoder: Encoder, thresholds: Mapping[str, float] | None = None) -> None:
        self.encoder = encoder
        self.thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
        self._utterances: dict[int, _Utterance] = {}
        self._queries: dict[str, Matrix] = {}
        self._stacked: tuple[list[Window], Matrix, npt.NDArray[np.float32]] | None = None

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, DEFAULT_THRESHOLD)

    def __len__(self) -> int:
        return sum(len(u.windows) for u in self._utterances.values())

    def add(self, units: Sequence[Unit], language: str) -> None:
        """Index the units of one utterance (units of several utterances are split by it).
        An utterance added again extends what it had (a final delivered in parts)."""
        fresh: dict[int, list[Unit]] = {}
        for u in units:
            fresh.setdefault(u.utterance, []).append(u)
        for utt, us in fresh.items():
            known: dict[str, Matrix] = {}
            if (old := self._utterances.get(utt)) is not None:
                us = [*old.units, *us]
                known = {w.text: v for w, v in zip(old.windows, old.vectors, strict=True)}
            wins = windows(us, language)
            if not wins:
                continue
            todo = list(dict.fromkeys(w.text for w in wins if w.text not in known))
            if todo:
                known.update(zip(todo, self.encoder.encode(todo), strict=True))
            vectors = np.stack([known[w.text] for w in wins]).astype(np.float32, copy=False)
            self._utterances[utt] = _Utterance(us, wins, vectors, self.threshold(language))
        self._stacked = None

    def best(self, query_texts: Sequence[str]) -> SemanticHit | None:
        """The window closest to any of the queries, if it reaches the language's threshold."""
        hit = self.top(query_texts)
        if hit is None or hit[1] < 0.0:
            return None
        return hit[0]

    def top(self, query_texts: Sequence[str]) -> tuple[SemanticHit, float] | None:
        """The closest window whatever its similarity, with its margin over the threshold
        (negative: not a match). None when nothing is indexed or there are no queries."""
        queries = [q for q in dict.fromkeys(query_texts) if q.strip()]
        if not queries or not self._utterances:
            return None
        wins, vectors, thresholds = self._stack()
        sims = vectors @ self._query_vectors(queries).T  # (windows, queries)
        margin = sims - thresholds[:, None]
        i, j = np.unravel_index(int(np.argmax(margin)), margin.shape)
        w = wins[i]
        hit = SemanticHit(w.text, w.start, w.end, w.utterance, float(sims[i, j]), queries[j])
        return hit, float(margin[i, j])

    def _query_vectors(self, queries: list[str]) -> Matrix:
        missing = [q for q in queries if q not in self._queries]
        if missing:
            for q, v in zip(missing, self.encoder.encode(missing), strict=True):
                self._queries[q] = v
        return np.stack([self._queries[q] for q in queries])

    def _stack(self) -> tuple[list[Window], Matrix, npt.NDArray[np.float32]]:
        if self._stacked is None:
            utts = [self._utterances[k] for k in sorted(self._utterances)]
            wins = [w for u in utts for w in u.windows]
            vectors = np.concatenate([u.vectors for u in utts])
            thresholds = np.concatenate(
                [np.full(len(u.windows), u.threshold, dtype=np.float32) for u in utts]
            )
            self._stacked = (wins, vectors, thresholds)
        return self._stacked

"""Stable prefix for live captions (local agreement of consecutive hypotheses).

A word becomes stable when two hypotheses in a row agree on it and on everything before it.
Stable words are committed: later hypotheses can change only what follows them, so captions
never flicker or shrink.
"""

from __future__ import annotations

from collections.abc import Sequence


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if _norm(x) != _norm(y):
            break
        n += 1
    return n


class StablePrefix:
    def __init__(self) -> None:
        self.stable: list[str] = []
        self._previous: list[str] = []

    def update(self, words: Sequence[str]) -> tuple[list[str], list[str]]:
        """Take a new hypothesis (a word list); return (stable words, full text words)."""
        k = len(self.stable)
        # Position-aligned: whatever the new hypothesis says in the first k words, the
        # committed ones stand; only what follows is open.
        tail = list(words)[k:]
        prev_tail = self._previous[k:]
        agreed = common_prefix(prev_tail, tail)
        self.stable += tail[:agreed]
        self._previous = [*self.stable, *tail[agreed:]]
        return list(self.stable), list(self._previous)

    def reset(self) -> None:
        self.stable.clear()
        self._previous.clear()

"""Media units that move between stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
WINDOW = 512  # 32 ms: the VAD's window, and the unit every audio stage works in
WINDOW_S = WINDOW / SAMPLE_RATE


@dataclass(frozen=True)
class AudioChunk:
    """512 samples of 16 kHz mono float32 starting at media time `t` (seconds).

    `gap` marks windows that hold filled-in silence where packets were lost."""

    t: float
    pcm: npt.NDArray[np.float32]
    gap: bool = False

    @property
    def t_end(self) -> float:
        return self.t + len(self.pcm) / SAMPLE_RATE

"""faster-whisper (CTranslate2) speech recognition on a 16 kHz mono float32 buffer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float


class WhisperAsr:
    """Blocking; run it on a worker thread. Loads from a local folder only (never a hub)."""

    def __init__(self, model_dir: Path, compute_type: str = "int8", threads: int = 1) -> None:
        if not Path(model_dir).is_dir():
            raise FileNotFoundError(f"Whisper model folder {model_dir} does not exist")
        self._model = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            local_files_only=True,
        )

    def reset(self) -> None:
        pass

    def infer(
        self,
        pcm: npt.NDArray[np.float32],
        language: str | None = "en",
        prompt: str | None = None,
        word_timestamps: bool = True,
        beam_size: int = 1,
    ) -> list[Segment]:
        segments, _info = self._model.transcribe(
            pcm,
            language=language,
            initial_prompt=prompt,
            word_timestamps=word_timestamps,
            beam_size=beam_size,
            vad_filter=False,  # our own VAD gates the audio
            condition_on_previous_text=False,
        )
        # The generator does the decoding: read it to the end here, on the worker thread.
        out = []
        for s in segments:
            words = tuple(
                Word(float(w.start), float(w.end), w.word, float(w.probability))
                for w in (s.words or ())
            )
            out.append(
                Segment(
                    float(s.start),
                    float(s.end),
                    s.text.strip(),
                    words,
                    float(s.avg_logprob),
                    float(s.no_speech_prob),
                )
            )
        return out

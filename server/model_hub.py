"""ModelHub: the process's models, one instance each, shared by every live session.

- VAD: one silero network (onnxruntime); each session's VAD stage gets a stream object with
  its own RNN state and context (`vad_stream`). onnxruntime documents concurrent `run` calls
  on one session as safe; the sessions' VAD threads call it directly.
- Expression classifier: one onnxruntime session, stateless, shared as it is (`expression`).
- Face landmarker: one VIDEO-mode tracker per session (`face`), by measurement: see
  models_onnx.face_landmarker (25 MB each; a shared IMAGE-mode one loses small faces). The hub
  counts them; each session's face stage frees its own on its worker thread.
- Whisper: one AsrScheduler (pipeline.asr_scheduler: one model, decodes scheduled across
  sessions) per model directory, i.e. tiny.en for English interviews and the assembled
  multilingual model for the others (`asr(language)`; the same one for all languages when a
  model directory is configured). Each is created and loaded by the first interview that
  needs it (a deployment that only interviews in English never loads the multilingual one);
  it lives on the app's event loop, and is closed (model freed on its worker) by `aclose`.

Loading: the app creates the hub in a cleanup_ctx and loads the VAD and expression models on
a worker thread before it serves (a few MB, tens of ms: the loop never waits on them, and the
first interview does not pay for them). Closing drops the shared onnxruntime sessions (they
free on any thread; nothing native of MediaPipe's is held here) and closes the schedulers,
after which new sessions cannot get models.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from functools import partial
from pathlib import Path

from models_onnx.assets import manifest
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad, VadModel
from models_onnx.whisper import WhisperAsr
from pipeline.asr_scheduler import AsrScheduler, SchedulerLoad
from server.models import model_path, whisper_dir
from server.settings import Settings


class HubClosed(RuntimeError):
    """The hub was closed (the server is stopping): no models for new streams."""


class ModelHub:
    def __init__(self, settings: Settings) -> None:
        """Blocking: checks the model files (nothing is loaded yet)."""
        self.settings = settings
        self._paths = {
            "vad": model_path("vad", settings),
            "face": model_path("face_landmarker", settings),
            "expression": model_path("expression", settings),
        }
        self._labels = manifest()["expression"].labels
        self._lock = threading.Lock()
        self._vad: VadModel | None = None
        self._expression: ExpressionModel | None = None
        self._asr: dict[Path, AsrScheduler] = {}
        self._asr_lock = asyncio.Lock()
        self.loads: Counter[str] = Counter()  # model loads by name (shared ones: at most 1)
        self.closed = False

    def load(self) -> None:
        """Blocking: load the shared models now rather than on first use."""
        self.vad_model()
        self.expression()

    def vad_model(self) -> VadModel:
        with self._lock:
            self._check_open()
            if self._vad is None:
                self._vad = VadModel(self._paths["vad"])
                self.loads["vad"] += 1
            return self._vad

    def vad_stream(self) -> SileroVad:
        """A stream's VAD on the shared network (a VadStage's model factory)."""
        return self.vad_model().stream()

    def expression(self) -> ExpressionModel:
        """The shared expression classifier (an AffectStage's model factory)."""
        with self._lock:
            self._check_open()
            if self._expression is None:
                self._expression = ExpressionModel(self._paths["expression"], self._labels)
                self.loads["expression"] += 1
            return self._expression

    def face(self) -> FaceLandmarkerModel:
        """A stream's own face tracker (a FaceStage's model factory; the stage closes it)."""
        with self._lock:
            self._check_open()
            self.loads["face"] += 1
        return FaceLandmarkerModel(self._paths["face"])

    async def asr(self, language: str) -> AsrScheduler:
        """The scheduler of the Whisper model for `language`, loaded (an AsrStage's model).
        The first call per model assembles and loads it off the loop (~1 s)."""
        async with self._asr_lock:
            self._check_open()
            path = await asyncio.to_thread(whisper_dir, self.settings, language)
            scheduler = self._asr.get(path)
            if scheduler is None:
                workers = self.settings.asr_workers
                scheduler = AsrScheduler(
                    partial(WhisperAsr, path, self.settings.whisper_compute_type, workers=workers),
                    workers=workers,
                )
                try:
                    await scheduler.load()
                except BaseException:  # no runner or thread left behind; the next try reloads
                    await scheduler.aclose()
                    raise
                self._asr[path] = scheduler
                self.loads[f"whisper:{path.name}"] += 1
            return scheduler

    @property
    def schedulers(self) -> list[AsrScheduler]:
        return list(self._asr.values())

    def load_now(self) -> dict[str, SchedulerLoad]:
        """Each loaded Whisper scheduler's load, by model folder name."""
        return {path.name: scheduler.load_now() for path, scheduler in self._asr.items()}

    def close(self) -> None:
        """Blocking: drop the shared onnxruntime models (the schedulers need `aclose`).
        Streams already running keep the references they hold until their stages close."""
        with self._lock:
            self.closed = True
            self._vad = None
            self._expression = None

    async def aclose(self) -> None:
        """Close everything: the schedulers (each frees its model on its worker thread),
        then the rest. After the sessions: their ASR streams fail once it is closed."""
        async with self._asr_lock:
            self.closed = True
            schedulers, self._asr = list(self._asr.values()), {}
        for scheduler in schedulers:
            await scheduler.aclose()
        await asyncio.to_thread(self.close)

    def _check_open(self) -> None:
        if self.closed:
            raise HubClosed("the model hub is closed")

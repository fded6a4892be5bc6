"""ModelHub: the process's models, one instance each, shared by every live session.

- VAD: one silero network (onnxruntime); each session's VAD stage gets a stream object with
  its own RNN state and context (`vad_stream`). onnxruntime documents concurrent `run` calls
  on one session as safe; the sessions' VAD threads call it directly.
- Expression classifier: one onnxruntime session, stateless, shared as it is (`expression`).
- Face landmarker: one VIDEO-mode tracker per session (`face`), by measurement: see
  models_onnx.face_landmarker (25 MB each; a shared IMAGE-mode one loses small faces). The hub
  counts them; each session's face stage frees its own on its worker thread.

Loading: the app creates the hub in a cleanup_ctx and loads the VAD and expression models on
a worker thread before it serves (a few MB, tens of ms: the loop never waits on them, and the
first interview does not pay for them). Closing drops the shared onnxruntime sessions (they
free on any thread; nothing native of MediaPipe's is held here), after which new sessions
cannot get models.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from models_onnx.assets import manifest
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad, VadModel
from server.models import model_path
from server.settings import Settings


class HubClosed(RuntimeError):
    """The hub was closed (the server is stopping): no models for new streams."""


class ModelHub:
    def __init__(self, vad: Path, face: Path, expression: Path, labels: tuple[str, ...]) -> None:
        self._paths = {"vad": vad, "face": face, "expression": expression}
        self._labels = labels
        self._lock = threading.Lock()
        self._vad: VadModel | None = None
        self._expression: ExpressionModel | None = None
        self.loads: Counter[str] = Counter()  # model loads by name (shared ones: at most 1)
        self.closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelHub:
        """Blocking: checks the model files (nothing is loaded yet)."""
        return cls(
            model_path("vad", settings),
            model_path("face_landmarker", settings),
            model_path("expression", settings),
            manifest()["expression"].labels,
        )

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

    def close(self) -> None:
        """Blocking: drop the shared models. Streams already running keep the references
        they hold until their stages close."""
        with self._lock:
            self.closed = True
            self._vad = None
            self._expression = None

    def _check_open(self) -> None:
        if self.closed:
            raise HubClosed("the model hub is closed")

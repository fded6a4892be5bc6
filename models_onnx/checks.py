"""Load each model and time one inference on a synthetic input (used by `doctor` and bench)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models_onnx.assets import manifest


@dataclass(frozen=True)
class ModelTiming:
    name: str
    load_ms: float
    infer_ms: float
    detail: str


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000.0


def load_model(name: str, path: Path, whisper_compute_type: str = "int8") -> object:
    """Construct the wrapper for model `name` from a checked path."""
    if name == "vad":
        from models_onnx.vad import SileroVad

        return SileroVad(path)
    if name.startswith("whisper"):
        from models_onnx.whisper import WhisperAsr

        return WhisperAsr(path, compute_type=whisper_compute_type)
    if name == "face_landmarker":
        from models_onnx.face_landmarker import FaceLandmarkerModel

        return FaceLandmarkerModel(path)
    if name == "expression":
        from models_onnx.expression import ExpressionModel

        return ExpressionModel(path, manifest()["expression"].labels)
    if name == "sentence_encoder":
        from models_onnx.embedder import SentenceEncoder

        return SentenceEncoder(path)
    raise KeyError(name)


def time_model(name: str, path: Path, whisper_compute_type: str = "int8") -> ModelTiming:
    """Load model `name` and run one inference; raises whatever loading or inference raises."""
    model, load_ms = _timed(lambda: load_model(name, path, whisper_compute_type))
    rng = np.random.default_rng(0)
    detail: str
    if name == "vad":
        from models_onnx.vad import WINDOW, SileroVad

        assert isinstance(model, SileroVad)
        noise = (rng.standard_normal(WINDOW) * 0.01).astype(np.float32)
        prob, infer_ms = _timed(lambda: model.infer(noise))
        detail = f"32 ms window, p(speech)={prob:.2f}"
    elif name.startswith("whisper"):
        from models_onnx.whisper import WhisperAsr

        assert isinstance(model, WhisperAsr)
        tone = (0.1 * np.sin(np.arange(32_000) * 2 * np.pi * 220 / 16_000)).astype(np.float32)
        lang = "zh" if model.multilingual else "en"
        _hyp, infer_ms = _timed(lambda: model.decode(tone, language=lang))
        detail = f"2 s streaming decode ({lang})"
    elif name == "face_landmarker":
        from models_onnx.face_landmarker import FaceLandmarkerModel

        assert isinstance(model, FaceLandmarkerModel)
        frame = np.zeros((480, 640, 3), dtype=np.uint8)
        faces, infer_ms = _timed(lambda: model.infer(frame, 0))
        model.close()
        detail = f"640x480 frame, {len(faces)} face(s)"  # type: ignore[arg-type]
    elif name == "sentence_encoder":
        from models_onnx.embedder import SentenceEncoder

        assert isinstance(model, SentenceEncoder)
        texts = ["as a result we cut costs by twenty percent", "结果我们把成本降低了两成"] * 8
        vectors, infer_ms = _timed(lambda: model.encode(texts))
        same = float(vectors[0] @ vectors[1])  # type: ignore[index]
        detail = f"16 short texts (en + zh), 512-d, en~zh cosine {same:.2f}"
    else:
        from models_onnx.expression import ExpressionModel

        assert isinstance(model, ExpressionModel)
        crop = rng.integers(0, 255, (64, 64), dtype=np.uint8)
        probs, infer_ms = _timed(lambda: model.infer(crop))
        detail = f"64x64 crop, {len(probs)} classes"  # type: ignore[arg-type]
    return ModelTiming(name, load_ms, infer_ms, detail)

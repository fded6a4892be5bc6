"""Model factories from Settings: what a session's stages call (on their worker threads)
to load their own model instance.

Building a factory checks the model files (and may assemble the multilingual Whisper model,
~0.5 s, once): it blocks, so async code calls these through a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from models_onnx.assets import ModelAssetError, locate, manifest
from models_onnx.embedder import SentenceEncoder, load_sentence_encoder
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import SileroVad
from models_onnx.whisper import WhisperAsr
from models_onnx.whisper_base import assemble
from pipeline.asr_stage import AsrConfig
from pipeline.vad_stage import VadConfig
from server.errors import ConfigError
from server.settings import Settings

ENGLISH_ONLY = "en"


def vad_factory(settings: Settings) -> Callable[[], SileroVad]:
    """Each call loads a network of its own (file analysis; live sessions share the hub's)."""
    path = _checked("vad", settings)
    return partial(SileroVad, path)


def whisper_dir(settings: Settings, language: str) -> Path:
    """tiny.en for English; the multilingual base model (assembled on first use) otherwise."""
    if settings.whisper_model_dir is not None or language == ENGLISH_ONLY:
        return _checked("whisper_tiny_en", settings)
    try:
        return assemble(settings.data_dir / "models")
    except ModelAssetError as err:
        raise ConfigError(str(err)) from None


def asr_factory(settings: Settings, language: str) -> Callable[[], WhisperAsr]:
    path = whisper_dir(settings, language)
    return partial(WhisperAsr, path, settings.whisper_compute_type)


def face_factory(settings: Settings) -> Callable[[], FaceLandmarkerModel]:
    return partial(FaceLandmarkerModel, _checked("face_landmarker", settings))


def expression_factory(settings: Settings) -> Callable[[], ExpressionModel]:
    return partial(
        ExpressionModel, _checked("expression", settings), manifest()["expression"].labels
    )


def vad_config(settings: Settings) -> VadConfig:
    return VadConfig(hangover_ms=settings.vad_hangover_ms)


def asr_config(settings: Settings, language: str, live: bool = True) -> AsrConfig:
    """Live sessions get partials every `asr_partial_interval_s`; file analysis finals only."""
    return AsrConfig(
        language=language,
        partial_interval_s=settings.asr_partial_interval_s if live else None,
        early_final_quiet_s=settings.asr_early_final_quiet_s or None,
        lead_in_s=settings.asr_lead_in_s,
    )


def model_overrides(settings: Settings) -> dict[str, Path | None]:
    return {
        "vad": settings.vad_model_path,
        "whisper_tiny_en": settings.whisper_model_dir,
        "face_landmarker": settings.face_model_path,
        "expression": settings.expression_model_path,
        "sentence_encoder": None,  # no setting: always the bundled, sha256-checked file
    }


def sentence_encoder(settings: Settings) -> SentenceEncoder:
    """The sentence-embedding model for matching answers by meaning (sha256-checked;
    blocking, ~0.4 s). One per process: it holds no state between calls."""
    try:
        return load_sentence_encoder(locate("sentence_encoder", None, settings.models_dir))
    except ModelAssetError as err:
        raise ConfigError(str(err)) from None


def text_similarity(encoder: SentenceEncoder) -> Callable[[str, str], float]:
    """Cosine similarity of two texts by meaning (follow-up rules' `similar_to` on review
    feedback). Blocking: one encoder pass."""

    def similarity(a: str, b: str) -> float:
        va, vb = encoder.encode([a, b])
        return float(va @ vb)

    return similarity


def model_versions(settings: Settings) -> dict[str, str]:
    """What a report was produced with: each model's source and the start of its sha256."""
    out = {
        name: f"{a.source.split(' (')[0]}, sha256 {a.sha256[:12]}" for name, a in manifest().items()
    }
    out["asr_compute_type"] = settings.whisper_compute_type
    return out


def model_path(name: str, settings: Settings) -> Path:
    """The checked file (or folder) of model `name`; ConfigError if missing or altered."""
    return _checked(name, settings)


def _checked(name: str, settings: Settings) -> Path:
    try:
        return locate(name, model_overrides(settings)[name], settings.models_dir)
    except ModelAssetError as err:
        raise ConfigError(str(err)) from None

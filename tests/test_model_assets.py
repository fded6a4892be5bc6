from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from models_onnx.assets import MODEL_NAMES, ModelAssetError, locate, manifest, sha256_of
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import WINDOW, SileroVad
from models_onnx.whisper import WhisperAsr
from tests.media import astronaut_rgb, read_wav_16k, synth_speech, wer, words_of

FILES = Path(__file__).resolve().parent.parent / "models_onnx" / "files"


def test_manifest_lists_license_source_and_restore_for_every_model() -> None:
    m = manifest()
    assert set(MODEL_NAMES) | {"whisper_base"} == set(m)
    for asset in m.values():
        assert asset.license and asset.source and asset.restore
        assert len(asset.sha256) == 64


def test_every_model_file_is_present_and_verified() -> None:
    for name in MODEL_NAMES:
        assert locate(name).exists()


def test_committed_files_match_manifest() -> None:
    for asset in manifest().values():
        if asset.location == "repo":
            assert sha256_of(FILES / Path(asset.path).name) == asset.sha256


def test_altered_model_file_is_refused_with_restore_hint(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    shutil.copytree(FILES, models_dir)
    target = models_dir / "expression_mini_xception.onnx"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    with pytest.raises(ModelAssetError) as info:
        locate("expression", models_dir=models_dir)
    msg = str(info.value)
    assert str(target) in msg and "sha256" in msg and "build_expression_onnx.sh" in msg
    assert locate("face_landmarker", models_dir=models_dir).exists()  # the others still load


def test_missing_model_file_names_file_and_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelAssetError) as info:
        locate("face_landmarker", models_dir=tmp_path)
    assert str(tmp_path / "face_landmarker.task") in str(info.value)
    assert "extract_face_landmarker.sh" in str(info.value)
    with pytest.raises(ModelAssetError, match="does not exist"):
        locate("vad", override=tmp_path / "custom.onnx")


def test_vad_tells_speech_from_silence(tmp_path: Path) -> None:
    pcm = read_wav_16k(
        synth_speech("Tell me about a project you are proud of.", tmp_path / "s.wav")
    )
    vad = SileroVad(locate("vad"))
    silence = [vad.infer(np.zeros(WINDOW, dtype=np.float32)) for _ in range(20)]
    vad.reset()
    speech = [vad.infer(pcm[i : i + WINDOW]) for i in range(0, len(pcm) - WINDOW, WINDOW)]
    assert max(silence) < 0.2
    assert np.mean(np.array(speech) > 0.5) > 0.4  # most windows of running speech
    with pytest.raises(ValueError, match="512"):
        vad.infer(np.zeros(100, dtype=np.float32))


def test_whisper_recognizes_synthesized_words(tmp_path: Path) -> None:
    text = "My greatest strength is that I learn quickly and I enjoy working with customers."
    pcm = read_wav_16k(synth_speech(text, tmp_path / "q.wav"))
    asr = WhisperAsr(locate("whisper_tiny_en"))
    segments = asr.transcribe(pcm)
    heard = " ".join(s.text for s in segments)
    assert wer(text, heard) <= 0.2, heard
    for word in ("strength", "quickly", "customers"):
        assert word in words_of(heard), heard
    words = [w for s in segments for w in s.words]
    assert words and all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert asr.transcribe(np.zeros(16_000, dtype=np.float32)) == []  # silence: no words


def test_face_landmarker_on_a_real_face() -> None:
    model = FaceLandmarkerModel(locate("face_landmarker"))
    try:
        faces = model.infer(astronaut_rgb(), t_ms=0)
        assert len(faces) == 1
        face = faces[0]
        assert face.landmarks.shape == (478, 3)
        assert face.transform.shape == (4, 4)
        assert len(face.blendshapes) == 52
        assert face.blendshapes["mouthSmileLeft"] > 0.5  # she smiles
        empty = model.infer(np.zeros((480, 640, 3), dtype=np.uint8), t_ms=100)
        assert empty == []
        with pytest.raises(ValueError, match="increase"):
            model.infer(astronaut_rgb(), t_ms=50)
    finally:
        model.close()


def test_expression_model_on_a_real_face() -> None:
    img = astronaut_rgb()
    model = FaceLandmarkerModel(locate("face_landmarker"))
    try:
        lm = model.infer(img, t_ms=0)[0].landmarks
    finally:
        model.close()
    h, w = img.shape[:2]
    x0, y0 = (lm[:, :2].min(axis=0) * (w, h)).astype(int)
    x1, y1 = (lm[:, :2].max(axis=0) * (w, h)).astype(int)
    gray = (img[y0:y1, x0:x1] @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    expr = ExpressionModel(locate("expression"), manifest()["expression"].labels)
    probs = expr.infer(gray)
    assert probs.shape == (7,)
    assert abs(float(probs.sum()) - 1.0) < 1e-3
    assert expr.labels[int(probs.argmax())] == "happy"
    with pytest.raises(ValueError, match="grayscale"):
        expr.infer(np.zeros((64, 64, 3), dtype=np.uint8))

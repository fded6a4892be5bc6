"""MediaPipe Face Landmarker (Tasks API) in video mode: landmarks, blendshapes, head transform."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mediapipe as mp
import numpy as np
import numpy.typing as npt
from mediapipe.tasks.python import BaseOptions, vision


@dataclass(frozen=True)
class FaceLandmarks:
    landmarks: npt.NDArray[np.float32]  # (478, 3): x, y normalised to the image, z relative
    blendshapes: dict[str, float]  # 52 ARKit-style coefficients in [0, 1]
    transform: npt.NDArray[np.float32]  # (4, 4) face pose in camera space


class FaceLandmarkerModel:
    """One stream's landmarker. Video mode tracks between frames, so timestamps must increase;
    reset() starts a new track (a new stream, or after a gap that went backwards)."""

    def __init__(self, path: Path, max_faces: int = 2) -> None:
        self._options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=max_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(self._options)
        self._last_ms = -1

    def reset(self) -> None:
        self._landmarker.close()
        self._landmarker = vision.FaceLandmarker.create_from_options(self._options)
        self._last_ms = -1

    def close(self) -> None:
        self._landmarker.close()

    def infer(self, rgb: npt.NDArray[np.uint8], t_ms: int) -> list[FaceLandmarks]:
        """Faces in one HxWx3 uint8 RGB frame at media time `t_ms` (strictly increasing)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {rgb.shape} {rgb.dtype}")
        if t_ms <= self._last_ms:
            raise ValueError(f"timestamps must increase: {t_ms} ms after {self._last_ms} ms")
        self._last_ms = t_ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, t_ms)
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
            shapes = {b.category_name: float(b.score) for b in result.face_blendshapes[i]}
            matrix = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float32)
            faces.append(FaceLandmarks(pts, shapes, matrix))
        return faces

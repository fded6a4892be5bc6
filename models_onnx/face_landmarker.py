"""MediaPipe Face Landmarker (Tasks API) in video mode: landmarks, blendshapes, head transform.

One instance per stream, not one shared by all sessions, by measurement (this 2-core machine,
real-face frames, num_faces=2):

- memory: 25 MB of RSS per VIDEO-mode instance, 14-20 MB per IMAGE-mode one;
- time: 8.8 ms a 640x480 frame in either mode (with num_faces=2 MediaPipe runs its detector on
  every frame while it tracks fewer faces than that, so tracking saves no CPU here);
- detection: VIDEO mode tracks a face once found; IMAGE mode relies on the 128x128 detector
  alone, which misses faces that are small in it. On a 1280x720 clip of a real face IMAGE mode
  found it in 2 of 30 frames, VIDEO mode in 29 of 30 (on 640x480 both 30 of 30).

A shared IMAGE-mode instance would save ~25 MB per interview but lose faces a webcam frame
shows small (a person sitting back, a wide frame), so each session keeps its own tracker
(inside the 60 MB per interview budget)."""

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

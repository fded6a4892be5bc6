"""A real face for tests and benchmarks: scikit-image's astronaut (Eileen Collins, public
domain), placed, shifted and rotated on a plain frame."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def astronaut_rgb() -> npt.NDArray[np.uint8]:
    """A real, smiling, frontal face (Eileen Collins, public domain) as 512x512 RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]


def face_canvas(
    width: int = 640,
    height: int = 480,
    faces: int = 1,
    x_shift: int = 0,
    rotate_deg: float = 0.0,
    face_px: int = 300,
) -> npt.NDArray[np.uint8]:
    """A grey frame with the astronaut's face (1 or 2 copies), shifted and rotated in-plane."""
    import cv2

    face = cv2.resize(astronaut_rgb()[0:360, 80:440], (face_px, face_px))
    if rotate_deg:
        m = cv2.getRotationMatrix2D((face_px / 2, face_px / 2), rotate_deg, 1.0)
        face = cv2.warpAffine(face, m, (face_px, face_px), borderValue=(100, 100, 100))
    canvas = np.full((height, width, 3), 100, np.uint8)
    y = (height - face_px) // 2
    if faces == 1:
        xs = [(width - face_px) // 2 + x_shift]
    else:
        xs = [width // 4 - face_px // 2, 3 * width // 4 - face_px // 2]
    for x in xs[:faces]:
        x0, x1 = max(0, x), min(width, x + face_px)  # a face may stick out of the frame
        canvas[y : y + face_px, x0:x1] = face[:, x0 - x : x1 - x]
    return canvas

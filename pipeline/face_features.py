"""Signals from one face's landmarks, blendshapes and pose: pure functions, no I/O.

Constants are named with the reason for their value; tests pin their behaviour on a real face.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from models_onnx.face_landmarker import FaceLandmarks

# MediaPipe face mesh indices (478 points with irises).
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_IRIS = 33, 133, 468
LEFT_EYE_OUTER, LEFT_EYE_INNER, LEFT_IRIS = 263, 362, 473

# Looking at the camera: the head within this many degrees of facing it...
HEAD_TOLERANCE_DEG = 20.0
# ...and the irises within this fraction of the eye's half-width from its centre. About the
# offset at which a person at a laptop looks off the screen.
GAZE_TOLERANCE = 0.35
# A webcam sits above the screen: people reading the screen pitch down ~10-15 degrees; that
# still reads as attention, so pitch is centred on this value.
PITCH_OFFSET_DEG = 12.0

BLINK_ON = 0.5  # eyeBlink blendshape level that counts as closed
MIN_FACE_HEIGHT = 0.15  # of the frame: smaller faces lose landmark precision, then detection
MIN_BRIGHTNESS = 60  # mean 0..255 luma of the face region below which it is too dark
EDGE_MARGIN = 0.02  # landmarks this close to the frame edge: the face is (about to be) cut off

# Valence weights per FER-2013 class: positive for happy (and a little for surprise),
# negative for the classes psychology groups as negative affect, zero for neutral.
VALENCE = {
    "angry": -1.0,
    "disgust": -1.0,
    "fear": -0.8,
    "happy": 1.0,
    "sad": -0.8,
    "surprise": 0.3,
    "neutral": 0.0,
}


def head_pose(transform: npt.NDArray[np.float32]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the face's 4x4 pose matrix (camera coordinates)."""
    r = transform[:3, :3]
    yaw = math.degrees(math.atan2(-float(r[2, 0]), math.hypot(float(r[0, 0]), float(r[1, 0]))))
    pitch = math.degrees(math.atan2(float(r[2, 1]), float(r[2, 2])))
    roll = math.degrees(math.atan2(float(r[1, 0]), float(r[0, 0])))
    return yaw, pitch, roll


def gaze_offset(landmarks: npt.NDArray[np.float32]) -> float:
    """Horizontal iris offset from the eye centre, averaged over both eyes: 0 centred, 1 at
    a corner."""
    offsets = []
    for outer, inner, iris in (
        (RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_IRIS),
        (LEFT_EYE_OUTER, LEFT_EYE_INNER, LEFT_IRIS),
    ):
        width = float(landmarks[inner, 0] - landmarks[outer, 0])
        if abs(width) < 1e-6:
            continue
        ratio = float(landmarks[iris, 0] - landmarks[outer, 0]) / width  # 0.5 = centred
        offsets.append(abs(ratio - 0.5) * 2)
    return float(np.mean(offsets)) if offsets else 1.0


def eye_contact(yaw: float, pitch: float, gaze: float) -> bool:
    return (
        abs(yaw) <= HEAD_TOLERANCE_DEG
        and abs(pitch - PITCH_OFFSET_DEG) <= HEAD_TOLERANCE_DEG
        and gaze <= GAZE_TOLERANCE
    )


def bbox(landmarks: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def quality_warnings(
    rgb: npt.NDArray[np.uint8], box: tuple[float, float, float, float]
) -> list[str]:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    out = []
    if y1 - y0 < MIN_FACE_HEIGHT:
        out.append("too_small")
    if min(x0, y0) < EDGE_MARGIN or max(x1, y1) > 1 - EDGE_MARGIN:
        out.append("cut_off")
    px = (
        slice(max(0, int(y0 * h)), max(1, int(min(1.0, y1) * h))),
        slice(max(0, int(x0 * w)), max(1, int(min(1.0, x1) * w))),
    )
    region = rgb[px]
    if region.size and float(region.mean()) < MIN_BRIGHTNESS:
        out.append("too_dark")
    return out


def aligned_gray_crop(
    rgb: npt.NDArray[np.uint8], face: FaceLandmarks, margin: float = 0.1
) -> npt.NDArray[np.uint8]:
    """The face, rotated so the eyes are level, as a square grayscale crop with a margin
    (the expression model was trained on such crops)."""
    h, w = rgb.shape[:2]
    pts = face.landmarks[:, :2] * (w, h)
    right, left = pts[RIGHT_IRIS], pts[LEFT_IRIS]
    angle = math.degrees(math.atan2(float(left[1] - right[1]), float(left[0] - right[0])))
    center = pts.mean(axis=0)
    rot = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, 1.0)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    leveled = cv2.warpAffine(gray, rot, (w, h), flags=cv2.INTER_LINEAR)
    moved = np.c_[pts, np.ones(len(pts))] @ rot.T
    (x0, y0), (x1, y1) = moved.min(axis=0), moved.max(axis=0)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a, b = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    crop = leveled[b : int(min(h, cy + side / 2)), a : int(min(w, cx + side / 2))]
    return np.ascontiguousarray(crop)


def valence(probabilities: dict[str, float]) -> float:
    return float(np.clip(sum(VALENCE.get(k, 0.0) * p for k, p in probabilities.items()), -1, 1))

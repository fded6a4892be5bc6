"""Facial-expression classifier (mini-XCEPTION, FER-2013 classes) on onnxruntime."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from models_onnx.vad import cpu_session

INPUT_SIZE = 64


class ExpressionModel:
    """7-class probabilities for one grayscale face crop. Stateless; reset() is a no-op."""

    def __init__(self, path: Path, labels: tuple[str, ...], threads: int = 1) -> None:
        self._sess = cpu_session(path, threads)
        self._input = self._sess.get_inputs()[0].name
        self.labels = labels

    def reset(self) -> None:
        pass

    @staticmethod
    def preprocess(gray: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        """Any-size uint8 (0..255) grayscale crop -> 1x64x64x1 float32 in [-1, 1], as trained."""
        if gray.ndim != 2 or min(gray.shape) < 8:
            raise ValueError(f"expected a 2-D grayscale face crop, got shape {gray.shape}")
        img = cv2.resize(
            np.asarray(gray, dtype=np.uint8), (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA
        )
        x = img.astype(np.float32) / 255.0
        return ((x - 0.5) * 2.0)[None, :, :, None]

    def infer(self, gray: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        probs = self._sess.run(None, {self._input: self.preprocess(gray)})[0][0]
        return np.asarray(probs, dtype=np.float32)

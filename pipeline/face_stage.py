"""FaceStage: MediaPipe Face Landmarker on sampled frames -> FaceObservation events.

The input keeps only the newest sample (LATEST_ONLY): when analysis is slower than the
sampling rate, stale frames are replaced, never queued. A frame that cannot be converted or a
model that fails gives one StageDegraded event (until the stage recovers) and the session
goes on. With affect enabled, an aligned grayscale crop of the main face goes to the
AffectStage through `on_crop`. With an AdaptiveRate (live sessions) every observation and
the eyes' closure level feed it, which sets how often the ingress samples.

The model comes from `model_factory` on the worker thread, one per stream (a VIDEO-mode
tracker: models_onnx.face_landmarker says why not one shared), and is freed there.

Frames are converted to RGB at their own size: converting 640x480 YUV takes 0.1 ms, converting
and halving it 0.3 ms, and the landmarker takes as long on the half-size frame (9.6 against
10.1 ms: it resizes to its own input sizes anyway), so a smaller copy saves nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models_onnx.face_landmarker import FaceLandmarkerModel, FaceLandmarks
from pipeline import face_features as ff
from pipeline.channel import Overflow
from pipeline.clock import Clock
from pipeline.events import Event, FaceObservation
from pipeline.stage import Stage
from pipeline.video_ingress import VideoSample
from pipeline.video_rate import AdaptiveRate

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ logging: warnings and up


@dataclass(frozen=True)
class FaceCrop:
    t: float
    gray: npt.NDArray[np.uint8]


class FaceStage(Stage[VideoSample, Event]):
    name = "face"

    def __init__(
        self,
        clock: Clock,
        model_factory: Callable[[], FaceLandmarkerModel],
        on_crop: Callable[[FaceCrop], object] | None = None,
        rate: AdaptiveRate | None = None,
        nice: int = 0,
    ) -> None:
        super().__init__(clock, input_capacity=1, input_overflow=Overflow.LATEST_ONLY, nice=nice)
        self._model_factory = model_factory
        self._model: FaceLandmarkerModel | None = None
        self._on_crop = on_crop
        self.rate = rate
        self._eyes_closed = False
        self._eyes = 0.0  # closure level (eyeBlink mean) of the main face in the last frame
        self.analyzed = 0
        self.busy_s = 0.0  # worker time spent on frames (conversion + model + features)

    def _analyze(self, sample: VideoSample) -> tuple[FaceObservation, FaceCrop | None]:
        t0 = time.perf_counter()
        try:
            if self._model is None:
                self._model = self._model_factory()
            rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(
                sample.frame.to_ndarray(format="rgb24"), dtype=np.uint8
            )
            if rgb.ndim != 3 or min(rgb.shape[:2]) < 16:
                raise ValueError(f"unusable frame size {rgb.shape[1]}x{rgb.shape[0]}")
            faces = self._model.infer(rgb, t_ms=round(sample.t * 1000))
            return self._observe(sample.t, rgb, faces)
        finally:
            self.busy_s += time.perf_counter() - t0
            self.analyzed += 1

    def _observe(
        self, t: float, rgb: npt.NDArray[np.uint8], faces: list[FaceLandmarks]
    ) -> tuple[FaceObservation, FaceCrop | None]:
        if not faces:
            self._eyes_closed = False
            self._eyes = 0.0
            return FaceObservation(t, 0), None
        # The main face is the largest (closest to the camera).
        boxes = [ff.bbox(f.landmarks) for f in faces]
        main = max(range(len(faces)), key=lambda i: boxes[i][3] - boxes[i][1])
        face, box = faces[main], boxes[main]
        yaw, pitch, roll = ff.head_pose(face.transform)
        gaze = ff.gaze_offset(face.landmarks)
        shapes = face.blendshapes
        self._eyes = (shapes.get("eyeBlinkLeft", 0) + shapes.get("eyeBlinkRight", 0)) / 2
        closed = self._eyes > ff.BLINK_ON
        blink = closed and not self._eyes_closed
        self._eyes_closed = closed
        warnings = ff.quality_warnings(rgb, box)
        if len(faces) > 1:
            warnings.insert(0, "several_faces")
        obs = FaceObservation(
            t=t,
            faces=len(faces),
            bbox=tuple(round(v, 4) for v in box),  # type: ignore[arg-type]
            yaw=round(yaw, 1),
            pitch=round(pitch, 1),
            roll=round(roll, 1),
            gaze=round(gaze, 3),
            eye_contact=ff.eye_contact(yaw, pitch, gaze) and not closed,
            blink=blink,
            smile=round(
                (shapes.get("mouthSmileLeft", 0) + shapes.get("mouthSmileRight", 0)) / 2, 3
            ),
            brow_raise=round(shapes.get("browInnerUp", 0), 3),
            brow_down=round(
                (shapes.get("browDownLeft", 0) + shapes.get("browDownRight", 0)) / 2, 3
            ),
            warnings=tuple(warnings),
        )
        crop = FaceCrop(t, ff.aligned_gray_crop(rgb, face)) if self._on_crop is not None else None
        return obs, crop

    async def _run(self) -> None:
        while True:
            sample, arrived = await self._input.get()
            try:
                obs, crop = await self._call(self._analyze, sample)
            except Exception as err:
                await self._failed(sample.t, f"face analysis failed: {err}")
                continue
            await self._succeeded(sample.t)
            if self.rate is not None:
                self.rate.observe(obs, self._eyes)
            await self._emit(obs)
            if crop is not None and self._on_crop is not None and min(crop.gray.shape) >= 8:
                self._on_crop(crop)
            if lag := self._lag_event(arrived, sample.t):
                await self._emit(lag)

    async def _on_input_end(self) -> None:
        await self._call(self._release)

    def _release(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None

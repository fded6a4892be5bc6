"""AffectStage: facial-expression probabilities and valence from the main face's crop.

Created only when the interview's analysis policy allows affect (off by default). Runs on its
own worker thread, so face and affect use both cores; its input keeps only the newest crop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from models_onnx.expression import ExpressionModel
from pipeline import face_features as ff
from pipeline.channel import Overflow
from pipeline.clock import Clock
from pipeline.events import AffectObservation, Event
from pipeline.face_stage import FaceCrop
from pipeline.stage import Stage


class AffectStage(Stage[FaceCrop, Event]):
    name = "affect"

    def __init__(
        self, clock: Clock, model_factory: Callable[[], ExpressionModel], nice: int = 0
    ) -> None:
        super().__init__(clock, input_capacity=1, input_overflow=Overflow.LATEST_ONLY, nice=nice)
        self._model_factory = model_factory
        self._model: ExpressionModel | None = None
        self.analyzed = 0
        self.busy_s = 0.0

    def _classify(self, crop: FaceCrop) -> AffectObservation:
        t0 = time.perf_counter()
        try:
            if self._model is None:
                self._model = self._model_factory()
            probs = self._model.infer(crop.gray)
            by_label = {label: float(p) for label, p in zip(self._model.labels, probs, strict=True)}
            top = max(by_label, key=by_label.__getitem__)
            return AffectObservation(
                crop.t,
                tuple((k, round(v, 4)) for k, v in by_label.items()),
                top,
                round(ff.valence(by_label), 4),
            )
        finally:
            self.busy_s += time.perf_counter() - t0
            self.analyzed += 1

    async def _run(self) -> None:
        while True:
            crop, arrived = await self._input.get()
            try:
                obs = await self._call(self._classify, crop)
            except Exception as err:
                await self._failed(crop.t, f"affect failed: {err}")
                continue
            await self._succeeded(crop.t)
            await self._emit(obs)
            if lag := self._lag_event(arrived, crop.t):
                await self._emit(lag)

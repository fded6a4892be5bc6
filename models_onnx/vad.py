"""silero VAD (ONNX) on onnxruntime: speech probability per 32 ms window at 16 kHz.

One network per process (`VadModel`), one small state object per stream (`SileroVad`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

SAMPLE_RATE = 16_000
WINDOW = 512  # samples per call (32 ms); the model is trained on exactly this size
CONTEXT = 64  # samples of the previous window the model expects in front of the new ones


def cpu_session(
    path: Path, threads: int = 1, custom_ops: str | None = None
) -> ort.InferenceSession:
    """An onnxruntime CPU session pinned to `threads` threads (streams share 2 cores);
    `custom_ops`: a library of operators the graph uses (onnxruntime-extensions)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    if custom_ops is not None:
        opts.register_custom_ops_library(custom_ops)
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class VadModel:
    """The silero network, one onnxruntime session for the whole process. It holds no stream
    state: each call takes the stream's RNN state and returns the next one. onnxruntime
    documents `InferenceSession.run` as safe to call from several threads at once on one
    session, so every stream's VAD thread calls it directly (tests check the results match
    separate sessions)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self._sess = cpu_session(path, threads)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def run(
        self, x: npt.NDArray[np.float32], state: npt.NDArray[np.float32]
    ) -> tuple[float, npt.NDArray[np.float32]]:
        """Speech probability of one (1, CONTEXT + WINDOW) input and the RNN state after it."""
        out, new_state = self._sess.run(None, {"input": x, "state": state, "sr": self._sr})
        return float(out[0, 0]), new_state

    def stream(self) -> SileroVad:
        """A new stream's VAD on this network (a few hundred bytes of state)."""
        return SileroVad(self)


class SileroVad:
    """One stream's VAD: the RNN state and the last 64 samples, carried between calls, on a
    shared `VadModel` (or, given a path, a network of its own)."""

    def __init__(self, model: VadModel | Path, threads: int = 1) -> None:
        self.model = model if isinstance(model, VadModel) else VadModel(model, threads)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def infer(self, window: npt.NDArray[np.float32]) -> float:
        """Speech probability of one 512-sample float32 window in [-1, 1]."""
        if window.shape != (WINDOW,):
            raise ValueError(f"VAD window must have {WINDOW} samples, got shape {window.shape}")
        x = np.concatenate([self._context, window.astype(np.float32, copy=False)])[None, :]
        prob, self._state = self.model.run(x, self._state)
        self._context = x[0, -CONTEXT:]
        return prob

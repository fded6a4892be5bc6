"""silero VAD (ONNX) on onnxruntime: speech probability per 32 ms window at 16 kHz."""

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


class SileroVad:
    """Stateful for one stream: carries the RNN state and the last 64 samples between calls."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self._sess = cpu_session(path, threads)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def infer(self, window: npt.NDArray[np.float32]) -> float:
        """Speech probability of one 512-sample float32 window in [-1, 1]."""
        if window.shape != (WINDOW,):
            raise ValueError(f"VAD window must have {WINDOW} samples, got shape {window.shape}")
        x = np.concatenate([self._context, window.astype(np.float32, copy=False)])[None, :]
        out, self._state = self._sess.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[0, -CONTEXT:]
        return float(out[0, 0])

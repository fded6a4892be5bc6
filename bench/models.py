"""Per-model inference time on one thread: `python -m bench.models [--runs N] [--out FILE]`.

Inputs are the shapes the live pipeline feeds: a 32 ms VAD window, 5 s of audio for ASR,
a 640x480 frame for the face landmarker, a 64x64 crop for the expression model.
Prints a table of medians and writes JSON (default bench/results/models.json).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import summary, write_json
from models_onnx.assets import locate, manifest
from models_onnx.expression import ExpressionModel
from models_onnx.face_landmarker import FaceLandmarkerModel
from models_onnx.vad import WINDOW, SileroVad
from models_onnx.whisper import WhisperAsr


def _time(fn: Callable[[int], object], runs: int, warmup: int = 2) -> list[float]:
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(warmup, warmup + runs):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50, help="timed runs per model (ASR: runs/10)")
    ap.add_argument("--out", type=Path, help="JSON file to write")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    results: dict[str, dict[str, float]] = {}

    vad = SileroVad(locate("vad"))
    window = (rng.standard_normal(WINDOW) * 0.05).astype(np.float32)
    results["vad (32 ms window)"] = summary(_time(lambda _i: vad.infer(window), args.runs * 10))

    asr = WhisperAsr(locate("whisper_tiny_en"))
    tone = (0.1 * np.sin(np.arange(5 * 16_000) * 2 * np.pi * 220 / 16_000)).astype(np.float32)
    results["whisper tiny.en int8 (5 s audio)"] = summary(
        _time(lambda _i: asr.transcribe(tone), max(3, args.runs // 10), warmup=1)
    )

    face = FaceLandmarkerModel(locate("face_landmarker"))
    from skimage import data

    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    frame[:480, 64:576] = data.astronaut()[16:496]  # type: ignore[no-untyped-call]
    results["face landmarker (640x480, 1 face)"] = summary(
        _time(lambda i: face.infer(frame, t_ms=i * 100), args.runs)
    )
    face.close()

    expr = ExpressionModel(locate("expression"), manifest()["expression"].labels)
    crop = rng.integers(0, 255, (120, 120), dtype=np.uint8)
    results["expression (crop to 64x64)"] = summary(_time(lambda _i: expr.infer(crop), args.runs))

    width = max(len(k) for k in results)
    print(f"{'model':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'n':>5}")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['p50_ms']:>8.2f}  {r['p95_ms']:>8.2f}  {r['n']:>5.0f}")
    path = write_json("models", {"threads": 1, "results": results}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

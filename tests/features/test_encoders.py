from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storysplit.features.encoders import (
    BUNDLED_MINILM,
    CachingEncoder,
    HashingEncoder,
    build_encoder,
    resolve_model_path,
)
from storysplit.features.onnx_encoder import OnnxEncoder
from storysplit.features.static_encoder import StaticEncoder
from storysplit.train.export_onnx import export_onnx

STATIC_MODEL = "models/encoders/minilm-static"


class CountingEncoder:
    """Records how many texts reach the wrapped encoder, and how often it is told to clear."""

    def __init__(self) -> None:
        self.inner = HashingEncoder(32)
        self.seen = 0
        self.cleared = 0

    @property
    def dimension(self) -> int:
        return 32

    @property
    def fingerprint(self) -> str:
        return "counting"

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.seen += len(texts)
        return self.inner.encode(texts)

    def clear(self) -> None:
        self.cleared += 1


def test_hashing_encoder_is_deterministic_and_unit_norm() -> None:
    encoder = HashingEncoder(64)
    first = encoder.encode(["Latest news", "A long sentence about the story."])
    second = HashingEncoder(64).encode(["Latest news", "A long sentence about the story."])
    assert first.shape == (2, 64) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)


def test_caching_encoder_encodes_each_text_once_and_stays_bounded() -> None:
    counting = CountingEncoder()
    cached = CachingEncoder(counting, max_entries=3)
    texts = ["menu", "story", "menu", "footer"]
    np.testing.assert_array_equal(cached.encode(texts), counting.inner.encode(texts))
    assert counting.seen == 3
    cached.encode(["menu", "story"])
    assert counting.seen == 3
    cached.encode(["a", "b", "c", "d"])
    assert counting.seen == 7
    cached.encode(["b", "c", "d"])  # the three most recent are kept
    assert counting.seen == 7
    cached.encode(["a"])  # the oldest went
    assert counting.seen == 8


def test_clearing_the_caching_encoder_forgets_its_texts_and_clears_the_encoder() -> None:
    """Benchmarks start each pass cold: the static encoder forgets its words too (`clear`)."""
    counting = CountingEncoder()
    cached = CachingEncoder(counting, max_entries=10)
    cached.encode(["menu", "story"])
    cached.clear()
    assert counting.cleared == 1
    cached.encode(["menu", "story"])
    assert counting.seen == 4


def test_build_encoder_selects_hashing_with_dimension() -> None:
    assert build_encoder("hashing:16").dimension == 16
    assert build_encoder("hashing").fingerprint == "hashing:256"


def test_bundled_minilm_resolves_to_a_local_folder() -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    assert path.endswith("model")
    assert resolve_model_path("/some/other/model") == "/some/other/model"


TEXTS = ["Latest • Most Viewed", "", "   ", "A sentence about the story, with ünïcödé and 😀.", "x" * 3000]


@pytest.mark.slow
def test_static_folder_runs_in_numpy_and_matches_sentence_transformers() -> None:
    numpy_path = build_encoder(STATIC_MODEL)
    torch_path = build_encoder(STATIC_MODEL, backend="torch")
    assert isinstance(numpy_path, StaticEncoder)
    assert numpy_path.fingerprint == torch_path.fingerprint
    np.testing.assert_allclose(numpy_path.encode(TEXTS), torch_path.encode(TEXTS), atol=1e-6)
    assert numpy_path.encode([]).shape == (0, numpy_path.dimension)


def test_onnx_backend_needs_an_exported_folder() -> None:
    with pytest.raises(ValueError, match="storysplit export-onnx"):
        build_encoder(STATIC_MODEL, backend="onnx")


@pytest.mark.slow
def test_onnx_export_matches_sentence_transformers_and_is_reproducible(tmp_path: Path) -> None:
    reference = build_encoder(BUNDLED_MINILM, backend="torch").encode(TEXTS)
    float_folder = export_onnx(BUNDLED_MINILM, tmp_path / "float", int8=False)
    float_encoder = build_encoder(str(float_folder))
    assert isinstance(float_encoder, OnnxEncoder)
    np.testing.assert_allclose(float_encoder.encode(TEXTS), reference, atol=1e-4)
    first = build_encoder(str(export_onnx(BUNDLED_MINILM, tmp_path / "int8", int8=True)))
    second = build_encoder(str(export_onnx(BUNDLED_MINILM, tmp_path / "int8-again", int8=True)))
    assert first.fingerprint == second.fingerprint != float_encoder.fingerprint
    cosines = np.sum(first.encode(TEXTS) * reference, axis=1)[[0, 3, 4]]
    assert cosines.min() > 0.95

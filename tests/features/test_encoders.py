from __future__ import annotations

import numpy as np

from features.encoders import CachingEncoder, HashingEncoder, build_encoder, resolve_model_path


class CountingEncoder:
    """Records how many texts reach the wrapped encoder."""

    def __init__(self) -> None:
        self.inner = HashingEncoder(32)
        self.seen = 0

    @property
    def dimension(self) -> int:
        return 32

    @property
    def fingerprint(self) -> str:
        return "counting"

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.seen += len(texts)
        return self.inner.encode(texts)


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
    assert len(cached._cache) == 3


def test_build_encoder_selects_hashing_with_dimension() -> None:
    assert build_encoder("hashing:16").dimension == 16
    assert build_encoder("hashing").fingerprint == "hashing:256"


def test_bundled_minilm_resolves_to_a_local_folder() -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    assert path.endswith("model")
    assert resolve_model_path("/some/other/model") == "/some/other/model"

"""The embedding store: float16 vectors by text digest, encoded once, found again after a reopen."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import count
from pathlib import Path

import numpy as np
import pytest

from storysplit.features.encoders import HashingEncoder
from storysplit.train import embedding_store
from storysplit.train.embedding_store import EmbeddingStore


class CountingEncoder:
    """The hashing encoder, recording every text it is asked to encode."""

    def __init__(self) -> None:
        self.inner = HashingEncoder(16)
        self.seen: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += texts
        return self.inner.encode(texts)


class RefusingEncoder(CountingEncoder):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"asked to encode {list(texts)} that the store holds")


def _expected(texts: Sequence[str]) -> np.ndarray:
    return HashingEncoder(16).encode(texts).astype(np.float16).astype(np.float32)


def test_each_text_is_encoded_once_and_returned_in_order_as_float16_rounded_float32(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    store = EmbeddingStore(tmp_path / "store")
    texts = ["alpha beta", "gamma", "alpha beta", "delta epsilon"]
    got = store.embed(texts, encoder, "test")
    assert got.dtype == np.float32 and got.shape == (4, 16)
    np.testing.assert_array_equal(got, _expected(texts))
    assert sorted(encoder.seen) == ["alpha beta", "delta epsilon", "gamma"]
    more = store.embed(["gamma", "zeta"], encoder, "test")
    np.testing.assert_array_equal(more, _expected(["gamma", "zeta"]))
    assert encoder.seen.count("gamma") == 1 and len(store) == 4


def test_a_reopened_store_serves_every_stored_text_across_shards_without_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding_store, "SHARD_SIZE", 3)
    texts = [f"segment number {i}" for i in range(8)]
    EmbeddingStore(tmp_path).embed(texts, CountingEncoder(), "test")
    assert len(list(tmp_path.glob("shard-*.npz"))) == 3
    reopened = EmbeddingStore(tmp_path)
    assert len(reopened) == 8
    np.testing.assert_array_equal(
        reopened.embed(texts[::-1], RefusingEncoder(), "test"), _expected(texts[::-1])
    )


def test_a_digest_ending_in_nul_bytes_is_found_after_a_reopen(tmp_path: Path) -> None:
    """numpy's fixed-width bytes drop trailing NULs; keys are stored as uint8 rows to keep them."""
    text = next(
        t for t in (f"text {i}" for i in count()) if hashlib.sha1(t.encode()).digest().endswith(b"\0")
    )
    EmbeddingStore(tmp_path).embed([text], CountingEncoder(), "test")
    np.testing.assert_array_equal(
        EmbeddingStore(tmp_path).embed([text], RefusingEncoder(), "test"), _expected([text])
    )


def test_no_texts_give_an_empty_matrix_of_the_encoders_width(tmp_path: Path) -> None:
    got = EmbeddingStore(tmp_path).embed([], RefusingEncoder(), "test")
    assert got.shape == (0, 16) and got.dtype == np.float32
    assert not tmp_path.joinpath("shard-00000.npz").exists()


def test_a_shard_left_half_written_by_an_interrupted_run_is_ignored(tmp_path: Path) -> None:
    EmbeddingStore(tmp_path).embed(["kept"], CountingEncoder(), "test")
    (tmp_path / "shard-00001.partial.npz").write_bytes(b"PK\x03\x04 cut off mid-write")
    encoder = CountingEncoder()
    reopened = EmbeddingStore(tmp_path)
    np.testing.assert_array_equal(
        reopened.embed(["kept", "new"], encoder, "test"), _expected(["kept", "new"])
    )
    assert encoder.seen == ["new"]
    assert EmbeddingStore(tmp_path).embed(["new"], RefusingEncoder(), "test").shape == (1, 16)

"""A persistent, content-addressed store of segment embeddings for one encoder configuration.

Keys are SHA-1 digests of segment texts, so a rebuilt corpus re-uses every embedding whose text
did not change, and an interrupted encoding run resumes from the last shard written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from storysplit.atomic_files import atomic_path
from storysplit.features.encoders import SegmentEncoder

SHARD_SIZE = 8192


class EmbeddingStore:
    """Embeddings kept as float16 shards under `folder` (one folder per encoder identity)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        for path in sorted(folder.glob("shard-*.npz")):
            if path.name.endswith(".partial.npz"):
                continue  # an interrupted run's half-written shard; its texts are encoded again
            with np.load(path, allow_pickle=False) as shard:
                self._add_shard(shard["keys"], shard["vectors"])

    def __len__(self) -> int:
        return len(self._index)

    def embed(self, texts: Sequence[str], encoder: SegmentEncoder, description: str) -> np.ndarray:
        """(len(texts), dim) float32 embeddings; texts not stored yet are encoded and stored."""
        keys = [_key(text) for text in texts]
        missing = sorted(
            {key: text for key, text in zip(keys, texts, strict=True) if key not in self._index}.items()
        )
        with tqdm(
            total=len(missing), desc=f"{description}: encode", unit="seg", disable=not missing
        ) as progress:
            for start in range(0, len(missing), SHARD_SIZE):
                chunk = missing[start : start + SHARD_SIZE]
                vectors = encoder.encode([text for _, text in chunk]).astype(np.float16)
                keys_array = np.frombuffer(b"".join(key for key, _ in chunk), dtype=np.uint8).reshape(-1, 20)
                self._write_shard(keys_array, vectors)
                progress.update(len(chunk))
        if not keys:
            return np.zeros((0, encoder.dimension), dtype=np.float32)
        return np.stack([self._vector(key) for key in keys]).astype(np.float32)

    def _vector(self, key: bytes) -> np.ndarray:
        shard, row = self._index[key]
        return self._shards[shard][row]

    def _add_shard(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        number = len(self._shards)
        self._shards.append(vectors)
        for row, key in enumerate(keys):  # (n, 20) uint8: fixed-width bytes lose trailing NULs
            self._index[key.tobytes()] = (number, row)

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"shard-{len(self._shards):05d}.npz"
        with atomic_path(path) as partial, partial.open("wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors)
        self._add_shard(keys, vectors)


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()

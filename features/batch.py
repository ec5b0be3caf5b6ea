"""Featurise many documents at once: the step training and inference share.

All distinct segment texts of all documents go to the encoder in one call (it batches and caches),
so the transformer sees full batches even when documents are short, and a line repeated across
the batch's pages (menus, footers) is embedded and measured once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storysplit.features.context import SCALAR_WIDTH, document_features, key_of_words
from storysplit.features.encoders import SegmentEncoder
from storysplit.features.segmentation import Segment, split_document
from storysplit.features.shape import shape_features_and_words
from storysplit.features.site_evidence import SiteLineCounter, SiteTable


@dataclass(frozen=True)
class FeaturizedDocuments:
    """Segments and feature rows of a batch of documents.

    Attributes:
        segments: Per document, its segments in order.
        features: (total_segments, n_features) rows, documents concatenated in order.
        offsets: (n_documents + 1,) row `offsets[i]:offsets[i + 1]` belong to document i.
        repeat_keys: Per document, each segment's `features.context.repeat_key` (features and
            repeat dropping both compare segments by it).
    """

    segments: list[list[Segment]]
    features: np.ndarray
    offsets: np.ndarray
    repeat_keys: list[list[str]]

    def rows(self, document: int) -> slice:
        return slice(int(self.offsets[document]), int(self.offsets[document + 1]))


def featurize_documents(
    texts: Sequence[str],
    encoder: SegmentEncoder,
    max_chars: int,
    window: int,
    lead_segments: int,
    sites: Sequence[str | None] | None = None,
    site_table: SiteTable | None = None,
) -> FeaturizedDocuments:
    """Segment, embed and featurise `texts`; see `features.context.document_features`.

    Args:
        sites: Per document, the crawl it belongs to (None: none); None: every page on its own.
        site_table: Line counts of the crawls, with these documents among the pages counted (the
            corpus job's first pass); None counts the documents of this batch.
    """
    segments = [split_document(text, max_chars) for text in texts]
    distinct, inverse = _distinct([seg.text for doc in segments for seg in doc])
    embeddings = encoder.encode(distinct)[inverse]
    return _featurized(
        texts, segments, embeddings, distinct, inverse, window, lead_segments, sites, site_table
    )


def featurize_segmented(
    texts: Sequence[str],
    segments: list[list[Segment]],
    embeddings: np.ndarray,
    window: int,
    lead_segments: int,
    sites: Sequence[str | None] | None = None,
    site_table: SiteTable | None = None,
) -> FeaturizedDocuments:
    """Feature rows for already segmented and embedded documents.

    Args:
        texts: The documents.
        segments: Per document, its segments.
        embeddings: (total_segments, dim) rows for all segments, documents concatenated in order.
        window: Neighbours on each side for context features.
        lead_segments: Long segments that define each document's lead.
    """
    distinct, inverse = _distinct([seg.text for doc in segments for seg in doc])
    return _featurized(
        texts, segments, embeddings, distinct, inverse, window, lead_segments, sites, site_table
    )


def _featurized(
    texts: Sequence[str],
    segments: list[list[Segment]],
    embeddings: np.ndarray,
    distinct: list[str],
    inverse: np.ndarray,
    window: int,
    lead_segments: int,
    sites: Sequence[str | None] | None,
    site_table: SiteTable | None,
) -> FeaturizedDocuments:
    """`featurize_segmented`, given the distinct segment texts and each segment's index among them."""
    counts = np.array([len(s) for s in segments], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    distinct_shape, distinct_keys = _shape_and_keys(distinct)
    shape = distinct_shape[inverse]
    key_of = dict(zip(distinct, distinct_keys, strict=True))
    keys = [[key_of[seg.text] for seg in doc] for doc in segments]
    evidence = _site_evidence(keys, sites, site_table)
    width = embeddings.shape[1] + SCALAR_WIDTH
    features = np.empty((int(counts.sum()), width), dtype=np.float32)
    for i, (text, doc) in enumerate(zip(texts, segments, strict=True)):
        rows = slice(offsets[i], offsets[i + 1])
        document_features(
            text,
            doc,
            embeddings[rows],
            window,
            lead_segments,
            shape[rows],
            keys[i],
            out=features[rows],
            site=evidence[i],
        )
    return FeaturizedDocuments(segments=segments, features=features, offsets=offsets, repeat_keys=keys)


def _site_evidence(
    keys: list[list[str]], sites: Sequence[str | None] | None, table: SiteTable | None
) -> list[np.ndarray | None]:
    """Per document, its site evidence columns (None for a page on its own)."""
    if sites is None:
        return [None] * len(keys)
    if len(sites) != len(keys):
        raise ValueError(f"{len(sites)} sites for {len(keys)} documents")
    if table is None:
        counter = SiteLineCounter()
        for site, document_keys in zip(sites, keys, strict=True):
            if site is not None:
                counter.add_page(site, document_keys)
        table = counter.table()
    return [table.evidence(site, document_keys) for site, document_keys in zip(sites, keys, strict=True)]


def _shape_and_keys(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """`shape_features` and `repeat_key` of each text; the texts' words (a string each) are freed
    before the feature rows are made."""
    shape, text_words = shape_features_and_words(texts)
    return shape, list(map(key_of_words, text_words))


def _distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and each text's index among them.

    Per-text features are computed once per distinct text: menus, footers and teasers repeat
    across the pages of a batch (about 40% of the segments of a batch of 32 news pages).
    """
    position: dict[str, int] = {}
    inverse = np.fromiter(
        (position.setdefault(text, len(position)) for text in texts), dtype=np.intp, count=len(texts)
    )
    return list(position), inverse

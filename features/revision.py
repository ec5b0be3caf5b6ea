"""Revision features: what a document's first-stage probabilities say about each segment.

The first-stage head judges a segment from its own row. A second look, at how confident the head
is about the segment's neighbourhood and about the document as a whole, catches what a single
row cannot: a prose-like teaser far from the confident story block, a short line inside it.
This is jusText's "revise with neighbours" step, with the rules learned instead of hand-set.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

WINDOWS = (1, 2, 4, 8)
REVISION_FEATURES = (
    "logit",
    *(f"mean_p_window_{w}" for w in WINDOWS),
    "p_prev",
    "p_next",
    "doc_mean_p",
    "doc_share_main",
    "distance_to_confident_main",
    "main_share_before",
    "main_share_after",
    "in_longest_main_run",
    "cos_main_centroid",
    "cos_early_main_centroid",
    "cos_main_centroid_rank",
    "log_longest_break_before",
    "kept_runs_before",
)
_CONFIDENT = 0.8


def revision_features(probabilities: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Rows of revision features for one document.

    Besides the probabilities around each segment, it compares each segment with the centroid of
    what the first stage believes is the story, and with the *early* part of it: the full text of
    another article appended under "Related" reads like confident prose, but it is about something
    else than the story that came first.

    Args:
        probabilities: (n,) first-stage p(main) of the document's segments, in order.
        embeddings: (n, dim) unit-norm segment embeddings (float32 rows are widened to float64).

    Returns:
        (n, len(REVISION_FEATURES)) float64 array.
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-4, 1 - 1e-4)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = p.size
    if n == 0:
        return np.zeros((0, len(REVISION_FEATURES)))
    index = np.arange(n)
    cumulative = np.concatenate([[0.0], np.cumsum(p)])
    window_means = []
    for width in WINDOWS:
        lo, hi = np.clip(index - width, 0, n), np.clip(index + width + 1, 0, n)
        window_means.append((cumulative[hi] - cumulative[lo]) / (hi - lo))
    kept = p >= 0.5
    n_kept = max(int(kept.sum()), 1)
    kept_before = np.concatenate([[0], np.cumsum(kept)[:-1]])
    confident = np.flatnonzero(p > _CONFIDENT)
    if confident.size:
        nearest = np.searchsorted(confident, index).clip(1, confident.size) - 1
        following = np.searchsorted(confident, index).clip(0, confident.size - 1)
        distance = np.minimum(np.abs(index - confident[nearest]), np.abs(confident[following] - index))
    else:
        distance = np.full(n, n)
    early_weight = p * np.clip(1.0 - kept_before / n_kept, 0.0, 1.0) ** 2
    similarity_main = embeddings @ _unit(p @ embeddings)
    similarity_early = embeddings @ _unit(early_weight @ embeddings)
    rank = np.argsort(np.argsort(-similarity_main)) / max(n - 1, 1)
    return np.column_stack(
        [
            np.log(p / (1 - p)),
            *window_means,
            np.concatenate([[0.0], p[:-1]]),
            np.concatenate([p[1:], [0.0]]),
            np.full(n, p.mean()),
            np.full(n, kept.mean()),
            distance / n,
            kept_before / n_kept,
            (n_kept - kept_before - kept) / n_kept,
            _longest_run_mask(kept),
            similarity_main,
            similarity_early,
            rank,
            *_breaks_before(kept),
        ]
    )


def _breaks_before(kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each segment: log1p of the longest run of dropped segments between the first kept one and
    it, and how many runs of kept segments started before it. A story goes on after a widget line
    or two; what follows a long stretch of boilerplate is more often another story."""
    longest, runs = np.zeros(kept.size), np.zeros(kept.size)
    best = current = count = 0
    seen_kept = False
    for i, value in enumerate(kept):
        longest[i], runs[i] = best, count
        if value:
            if not seen_kept or current > 0:
                count += 1
            seen_kept, current = True, 0
        elif seen_kept:
            current += 1
            best = max(best, current)
    return np.log1p(longest), runs


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _longest_run_mask(kept: np.ndarray) -> np.ndarray:
    """1.0 for segments in the longest run of consecutive kept segments, else 0.0."""
    best_start, best_length, start = 0, 0, None
    for i, value in enumerate(np.append(kept, False)):
        if value and start is None:
            start = i
        elif not value and start is not None:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = None
    mask = np.zeros(kept.size)
    mask[best_start : best_start + best_length] = 1.0
    return mask


def revision_matrix(
    features: np.ndarray, probabilities: np.ndarray, offsets: np.ndarray, scalar_columns: int
) -> np.ndarray:
    """Second-stage input rows for a batch: revision features plus each row's scalar features.

    Args:
        features: (n_rows, 2 * dim + scalar_columns) first-stage rows: the segment embedding, the
            neighbours' mean embedding, then the shape and context scalars. Only the scalars are
            carried over (the first stage used the embeddings); the embedding feeds similarities.
        probabilities: (n_rows,) first-stage p(main).
        offsets: (n_documents + 1,) row ranges of the documents.
        scalar_columns: How many trailing columns of `features` to carry over.

    Returns:
        (n_rows, len(REVISION_FEATURES) + scalar_columns) float64 array.
    """
    dim = (features.shape[1] - scalar_columns) // 2
    embeddings = features[:, :dim]  # widened to float64 a document at a time, while it is in cache
    blocks = [revision_features(probabilities[a:b], embeddings[a:b]) for a, b in pairwise(offsets)]
    revision = np.vstack(blocks) if blocks else np.zeros((0, len(REVISION_FEATURES)))
    return np.hstack([revision, features[:, features.shape[1] - scalar_columns :]])

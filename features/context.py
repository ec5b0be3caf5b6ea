"""Per-segment feature rows that carry document context a single line cannot show.

One line of a menu, a teaser or another story's headline looks like prose on its own; what gives
it away is its surroundings: short neighbours, no blank-line rhythm, little similarity to the
document's own story, a repeat of an earlier line. Each row therefore holds:

- the segment's embedding (its neighbours' the sequence labeller reads itself, in order);
- similarity to neighbours, to the document centroid, to the lead, and to the "story" (the
  length-weighted mean of the document's long prose segments);
- repeats: exact and near duplicates of earlier/later segments, containment in a longer one;
- position, length and layout (blank lines around the segment);
- surface shape: punctuation, casing, digits, short words, separators, bullets, dates, bylines,
  comment cues;
- whether a comment-section header ("12 Comments", "Leave a Reply") came before;
- window averages of the main shape features;
- site evidence, when the page's crawl is known: the share of the site's other pages holding the
  line (and its digit-masked form) and how many pages the site has (`features.site_evidence`;
  zeros for a page on its own).

Bump `FEATURE_VERSION` whenever a row's meaning changes: models record it and refuse a mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storysplit.features.repeats import contained_in_longer
from storysplit.features.segmentation import Segment
from storysplit.features.shape import SHAPE_FEATURES, shape_features
from storysplit.features.site_evidence import SITE_FEATURES
from storysplit.features.words import words

FEATURE_VERSION = "8"

_WINDOWED = (
    "log_words",
    "ends_terminal",
    "short_word_ratio",
    "title_ratio",
    "log_widget_terms",
    "comment_cue",
)
CONTEXT_FEATURES = (
    "position",
    "char_position",
    "log_index",
    "log_index_from_end",
    "log_segments",
    "log_gap_before",
    "log_gap_after",
    "cos_prev",
    "cos_next",
    "cos_centroid",
    "cos_lead",
    "cos_story",
    "max_cos_other",
    "max_cos_earlier",
    "exact_repeat_earlier",
    "exact_repeat_later",
    "contained_in_other",
    "log_short_run",
    "story_share_before",
    "story_share_after",
    "after_comment_header",
    *(f"window_{name}" for name in _WINDOWED),
)

SCALAR_WIDTH = len(SHAPE_FEATURES) + len(CONTEXT_FEATURES) + len(SITE_FEATURES)

ALL_PAIRS_SEGMENTS = 20_000
"""Most segments a document may have for `max_cos_other` and `max_cos_earlier` to compare every
pair of its segments; far more than any page of the corpus has (see `_max_similarities`)."""
SIMILARITY_WINDOW = 1024
"""Neighbours on each side a segment is compared with in a document of more segments."""

_SIMILARITY_BLOCK = 1024
_BELOW = np.tri(_SIMILARITY_BLOCK, k=-1, dtype=bool)  # column before row, within one block


def feature_names(embedding_dim: int) -> list[str]:
    """Column names of `document_features` rows, in order."""
    return [
        *(f"emb_{i}" for i in range(embedding_dim)),
        *SHAPE_FEATURES,
        *CONTEXT_FEATURES,
        *SITE_FEATURES,
    ]


def segment_words(rows: np.ndarray) -> np.ndarray:
    """Each `document_features` row's number of words (`features.words`), read back from its
    `log_words` column (exact: a float32 log1p of a whole number far below 2**24)."""
    column = rows.shape[1] - SCALAR_WIDTH + SHAPE_FEATURES.index("log_words")
    return np.rint(np.expm1(rows[:, column].astype(np.float64)))


def site_columns(rows: np.ndarray) -> np.ndarray:
    """The `SITE_FEATURES` columns of `document_features` rows (they come last)."""
    return rows[:, rows.shape[1] - len(SITE_FEATURES) :]


def document_features(
    text: str,
    segments: Sequence[Segment],
    embeddings: np.ndarray,
    window: int = 2,
    lead_segments: int = 3,
    shape: np.ndarray | None = None,
    keys: Sequence[str] | None = None,
    out: np.ndarray | None = None,
    site: np.ndarray | None = None,
) -> np.ndarray:
    """Feature rows for one document's segments.

    Args:
        text: The document; segment offsets index it.
        segments: `split_document(text)` output, in order.
        embeddings: (n_segments, dim) unit-norm rows for the segments.
        window: Neighbours on each side for the window averages of shape features.
        lead_segments: How many of the first long segments define the lead.
        shape: (n_segments, len(SHAPE_FEATURES)) `shape_features` of the segments, when the
            caller computed them for many documents at once (faster than per document).
        keys: `repeat_key` of each segment, when the caller has them already.
        out: Where to write the rows (a batch's float32 array, so no copy stacks the documents).
        site: (n_segments, len(SITE_FEATURES)) site evidence (`SiteTable.evidence`); None: zeros,
            a page on its own.

    Returns:
        float32 array of shape (n_segments, dim + SCALAR_WIDTH) (`out`, when given).
    """
    n, dim = len(segments), embeddings.shape[1]
    if embeddings.shape[0] != n:
        raise ValueError(f"{n} segments but {embeddings.shape[0]} embeddings")
    width = dim + SCALAR_WIDTH
    if out is None:
        out = np.empty((n, width), dtype=np.float32)
    if n == 0:
        return out
    if shape is None:
        shape = shape_features([s.text for s in segments])
    if keys is None:
        keys = [repeat_key(s.text) for s in segments]
    context = _context_features(text, segments, embeddings, shape, keys, window, lead_segments)
    if site is None:
        site = np.zeros((n, len(SITE_FEATURES)), dtype=np.float32)
    return np.concatenate([embeddings, shape, context, site], axis=1, out=out, casting="same_kind")


def _context_features(
    text: str,
    segments: Sequence[Segment],
    embeddings: np.ndarray,
    shape: np.ndarray,
    keys: Sequence[str],
    window: int,
    lead_segments: int,
) -> np.ndarray:
    """(n_segments, len(CONTEXT_FEATURES)) float64 columns, in `CONTEXT_FEATURES` order."""
    n = len(segments)
    index = np.arange(n, dtype=np.float64)
    starts = np.array([s.start for s in segments], dtype=np.float64)
    ends = np.array([s.end for s in segments], dtype=np.float64)
    lengths = ends - starts
    n_words = np.expm1(shape[:, SHAPE_FEATURES.index("log_words")])
    long_mask = n_words >= 12
    gap_before, after_last = _newline_gaps(text, segments)
    windowed = _window_mean(shape[:, [SHAPE_FEATURES.index(name) for name in _WINDOWED]], window)
    columns = [
        index / max(n - 1, 1),
        starts / max(len(text), 1),
        np.log1p(index),
        np.log1p(n - 1 - index),
        np.full(n, np.log1p(n)),
        np.log1p(gap_before),
        np.log1p(np.append(gap_before[1:], after_last)),
        *_similarities(embeddings, lengths, long_mask, lead_segments),
        *_exact_repeats(keys),
        np.array(contained_in_longer(keys, min_words=5), dtype=float),
        np.log1p(_short_run_lengths(n_words < 7)),
        *_story_shares(lengths * long_mask),
        _after_any(shape[:, SHAPE_FEATURES.index("comment_header")] > 0),
        *windowed.T,
    ]
    return np.column_stack(columns)


def _similarities(
    embeddings: np.ndarray, lengths: np.ndarray, long_mask: np.ndarray, lead_segments: int
) -> tuple[np.ndarray, ...]:
    """Each segment's cosine to its previous and next segment, to the document centroid, the lead
    and the story, and its highest cosine to any other and to any earlier segment.

    The centroid weighs segments by length; the lead is the first `lead_segments` long segments
    (the first segments if none is long); the story is the length-weighted mean of long segments.

    Returns:
        Seven (n,) arrays in `CONTEXT_FEATURES` order, `cos_prev` to `max_cos_earlier`.
    """
    n = embeddings.shape[0]
    adjacent = np.einsum("ij,ij->i", embeddings[1:], embeddings[:-1])
    centroid = _unit(lengths @ embeddings)
    lead_rows = np.flatnonzero(long_mask)[:lead_segments]
    if lead_rows.size == 0:
        lead_rows = np.arange(min(lead_segments, n))
    lead = _unit(embeddings[lead_rows].mean(axis=0))
    story_weights = lengths * long_mask
    story = _unit(story_weights @ embeddings) if story_weights.sum() > 0 else centroid
    return (
        np.append(0.0, adjacent),
        np.append(adjacent, 0.0),
        embeddings @ centroid,
        embeddings @ lead,
        embeddings @ story,
        *_max_similarities(embeddings),
    )


def _story_shares(story_chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of the story's characters (long segments) before and after each segment."""
    cumulative = np.cumsum(story_chars)
    total_story = max(cumulative[-1], 1.0)
    return (cumulative - story_chars) / total_story, (total_story - cumulative) / total_story


def repeat_key(text: str) -> str:
    """A segment's words, lowercased and single-spaced: what two copies of a paragraph share."""
    return key_of_words(words(text))


def key_of_words(text_words: list[str]) -> str:
    """`repeat_key` of a text whose `features.words.words` are already at hand."""
    return " ".join(text_words)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _window_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of rows i-window..i+window of (n, k) `values`, clipped at the edges."""
    n = values.shape[0]
    if window == 0:
        return values.copy()
    padded = np.zeros((n + 1, values.shape[1]))
    padded[1:] = np.cumsum(values, axis=0)
    lo = np.clip(np.arange(n) - window, 0, n)
    hi = np.clip(np.arange(n) + window + 1, 0, n)
    return (padded[hi] - padded[lo]) / (hi - lo).astype(np.float64)[:, None]


def _newline_gaps(text: str, segments: Sequence[Segment]) -> tuple[np.ndarray, float]:
    """Line breaks (LF, CR or CRLF) before each segment and after the last one.

    Returns:
        (n,) breaks between each segment and the previous one (the first: from the start), and
        the breaks after the last segment.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    breaks = (codes == 10) | (codes == 13)
    breaks[1:] &= ~((codes[1:] == 10) & (codes[:-1] == 13))  # CRLF counts once
    totals = np.concatenate([[0], np.cumsum(breaks)])
    starts = np.fromiter((s.start for s in segments), dtype=np.int64, count=len(segments))
    ends = np.fromiter((s.end for s in segments), dtype=np.int64, count=len(segments))
    previous_ends = np.concatenate([[0], ends[:-1]])
    gaps = (totals[starts] - totals[previous_ends]).astype(np.float64)
    return gaps, float(totals[-1] - totals[ends[-1]])


def _exact_repeats(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each normalised text occurred before / occurs again later in the document."""
    first_seen: dict[str, int] = {}
    last_seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        first_seen.setdefault(key, i)
        last_seen[key] = i
    index = np.arange(len(keys))
    first = np.array([first_seen[k] for k in keys])
    last = np.array([last_seen[k] for k in keys])
    has_words = np.array([bool(k) for k in keys])
    return ((first < index) & has_words).astype(float), ((last > index) & has_words).astype(float)


def _max_similarities(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the highest cosine to any other row and to any earlier row (-1 if none).

    Computed in blocks of rows so memory stays O(block * n), not O(n^2). Comparing every pair still
    takes O(n^2) time, which a multi-megabyte page flattened into one line (hundreds of thousands of
    sentences) cannot afford; so a document of more than `ALL_PAIRS_SEGMENTS` rows compares each row
    with its `SIMILARITY_WINDOW` neighbours on each side only, in linear time. Every real page is far
    below that bound and keeps the all-pairs values the labeller was trained on, computed as before.
    """
    n = embeddings.shape[0]
    window = n if n <= ALL_PAIRS_SEGMENTS else SIMILARITY_WINDOW
    outside = _outside_window(window) if window < n else None
    other, earlier = np.full(n, -1.0), np.full(n, -1.0)
    for start, stop, first, last in _similarity_blocks(n, window):
        sims = embeddings[start:stop] @ embeddings[first:last].T
        if outside is not None:
            shift = first - (start - window)
            sims[outside[: stop - start, shift : shift + last - first]] = -np.inf
        other[start:stop], earlier[start:stop] = _block_maxima(sims, start - first)
    other[np.isinf(other)] = -1.0
    return other, earlier


def _similarity_blocks(n: int, window: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, first, last): rows start:stop are compared with rows first:last, which hold
    every row within `window` of them (all rows when `window >= n`)."""
    blocks = []
    for start in range(0, n, _SIMILARITY_BLOCK):
        stop = min(start + _SIMILARITY_BLOCK, n)
        blocks.append((start, stop, max(0, start - window), min(n, stop + window)))
    return blocks


def _outside_window(window: int) -> np.ndarray:
    """Mask of the pairs more than `window` rows apart, for a full block of rows against the rows
    from `window` before its first to `window` after its last (a block's columns are a slice)."""
    rows = np.arange(_SIMILARITY_BLOCK)[:, None]
    columns = np.arange(_SIMILARITY_BLOCK + 2 * window)[None, :] - window
    return np.abs(columns - rows) > window


def _block_maxima(sims: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a block, its highest cosine to another row (-inf if none) and to an earlier row
    (-1 if none).

    Args:
        sims: (block rows, compared rows) cosines, -inf for pairs not to compare; changed in place.
        offset: Column of the block's first row (the compared rows before it are earlier rows).
    """
    size = sims.shape[0]
    within = sims[:, offset : offset + size]
    np.fill_diagonal(within, -np.inf)
    other = sims.max(axis=1)
    best = np.where(_BELOW[:size, :size], within, -np.inf).max(axis=1)
    if offset:
        best = np.maximum(best, sims[:, :offset].max(axis=1))
    return other, np.maximum(best, -1.0)


def _after_any(flags: np.ndarray) -> np.ndarray:
    """1.0 for segments after the first flagged one (comments follow their section's header)."""
    seen = np.maximum.accumulate(flags.astype(np.float64))
    return np.concatenate([[0.0], seen[:-1]])


def _short_run_lengths(short: np.ndarray) -> np.ndarray:
    """For each segment, the length of the run of consecutive short segments it belongs to (0 if long)."""
    bounds = np.concatenate([[0], np.flatnonzero(short[1:] != short[:-1]) + 1, [len(short)]])
    lengths = np.diff(bounds)
    return np.where(short, np.repeat(lengths, lengths), 0).astype(np.float64)

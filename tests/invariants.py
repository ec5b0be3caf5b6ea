"""Invariants every segmentation must keep, shared by the property tests and the fuzzer."""

from __future__ import annotations

from storysplit import SegmentLabel, StorySplitModel
from storysplit.features.segmentation import split_document
from storysplit.features.words import words
from storysplit.model import LabelledSegment, join_segments


def check_split(text: str, max_chars: int) -> None:
    """Segments are ordered, trimmed, within `max_chars`, index `text`, and cover all its non-space."""
    segments = split_document(text, max_chars)
    previous_end = 0
    for segment in segments:
        assert previous_end <= segment.start < segment.end <= len(text)
        assert text[segment.start : segment.end] == segment.text
        assert segment.text == segment.text.strip()
        assert len(segment.text) <= max_chars
        previous_end = segment.end
    covered: set[int] = set()
    for segment in segments:
        covered.update(range(segment.start, segment.end))
    uncovered = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert uncovered == [], f"characters outside every segment: {uncovered[:5]}"


def check_labelled(model: StorySplitModel, text: str, threshold: float | None = None) -> None:
    """`segment`'s invariants, and `extract` is its kept segments; kept + removed = all segments."""
    labelled = model.segment(text, threshold)
    check_segments(model, text, labelled, model.threshold if threshold is None else threshold)
    kept = [s for s in labelled if s.label is SegmentLabel.MAIN]
    removed = [s for s in labelled if s.label is not SegmentLabel.MAIN]
    assert sorted(kept + removed, key=lambda s: s.start) == labelled
    main_text = model.extract(text, threshold)
    assert main_text == join_segments(text, kept)
    segment_chars = sorted(ch for s in labelled for ch in text[s.start : s.end] if not ch.isspace())
    removed_text = join_segments(text, removed)
    assert sorted(ch for ch in main_text + removed_text if not ch.isspace()) == segment_chars


def check_segments(model: StorySplitModel, text: str, labelled: list[LabelledSegment], cut: float) -> None:
    """Offsets in range, ordered, not overlapping and the segmenter's; labels follow the threshold,
    or where what it keeps holds fewer than `decision.fallback_words` words and the model falls
    back, the lower of it and `decision.fallback_share` of the best p(main)."""
    decision = model.decision
    best = max((s.probability for s in labelled), default=0.0)
    kept_words = sum(len(words(text[s.start : s.end])) for s in labelled if s.probability >= cut)
    if decision.fallback and best > 0 and kept_words < decision.fallback_words:
        cut = min(cut, decision.fallback_share * best)
    previous_end = 0
    for segment in labelled:
        assert previous_end <= segment.start < segment.end <= len(text)
        assert 0.0 <= segment.probability <= 1.0
        assert (segment.label is SegmentLabel.MAIN) == (segment.probability >= cut)
        previous_end = segment.end
    expected = [(s.start, s.end) for s in split_document(text, model.max_chars)]
    assert [(s.start, s.end) for s in labelled] == expected

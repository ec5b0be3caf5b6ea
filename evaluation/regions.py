"""Region labels of a labelled document's spans (`storysplit.labels.story_regions`).

The corpus stores them with every span, so training learns the page's structure from them and the
data card counts them; the seeds get them here too, as they are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storysplit.features.words import words
from storysplit.labels import SegmentLabel, SegmentRegion, story_regions


def span_regions(text: str, spans: Sequence[Mapping[str, Any]]) -> list[SegmentRegion]:
    """The region of each span of `text` (corpus span records, in order), from the usable main ones."""
    main = [span["label"] == SegmentLabel.MAIN.value and span["weight"] > 0 for span in spans]
    sizes = [len(words(text[span["start"] : span["end"]])) for span in spans]
    return story_regions(main, sizes)


def with_regions(row: dict[str, Any]) -> dict[str, Any]:
    """`row` with each span's `region` set (the row is changed in place and returned)."""
    for span, region in zip(row["spans"], span_regions(row["text"], row["spans"]), strict=True):
        span["region"] = region.value
    return row

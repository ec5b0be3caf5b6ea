"""The two labels a segment can take, the kinds of boilerplate the corpus knows, and the regions
of a page (before, inside and after its story) that the sequence model learns."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class SegmentLabel(str, Enum):
    """What a segment is: part of the story, or something glued to it."""

    MAIN = "main"
    BOILERPLATE = "boilerplate"

    @property
    def is_main(self) -> bool:
        return self is SegmentLabel.MAIN


class SegmentKind(str, Enum):
    """Finer role of a segment where the data knows it (the seeds' `kind` vocabulary).

    Kinds are used for evaluation breakdowns and the data card; the model predicts `SegmentLabel`.
    """

    HEADLINE = "headline"
    STANDFIRST = "standfirst"
    BODY = "body"
    META = "meta"
    MENU = "menu"
    RELATED = "related"
    WIDGET = "widget"
    PROMO = "promo"
    COMMENTS = "comments"
    SUPPLEMENTAL = "supplemental"
    """Bylines, datelines and captions a set marks apart from the story (l3s-gn1)."""
    UNCERTAIN = "uncertain"
    """Text whose annotators could not agree (canola); not trained on."""
    DUPLICATE = "duplicate"
    JUNK = "junk"
    UNKNOWN = "unknown"


class SegmentRegion(str, Enum):
    """Where a segment sits relative to the page's story region: the span from the story's first
    segment to its last, with the boilerplate inside it (captions, ads, "Read more") apart."""

    BEFORE = "before"
    STORY = "story"
    INSIDE = "inside"
    AFTER = "after"


REGION_GAP = 10
"""Consecutive non-main segments that end a story region: a longer gap starts another region."""


def story_regions(main: Sequence[bool], sizes: Sequence[int]) -> list[SegmentRegion]:
    """Each segment's region, given which segments are main and how many words each holds.

    Main segments closer than `REGION_GAP` non-main segments form one region; the story region is
    the one with the most main words. Main text outside it (a headline above a long menu, a
    footer line a loose gold keeps) is `before` or `after`, like the boilerplate there: the
    structure a page has, one story with a before and an after.

    Args:
        main: Per segment, whether it is (usable) main text.
        sizes: Per segment, its number of words.
    """
    indices = [i for i, is_main in enumerate(main) if is_main]
    if not indices:
        return [SegmentRegion.BEFORE] * len(main)
    regions: list[list[int]] = [[indices[0]]]
    for index in indices[1:]:
        if index - regions[-1][-1] > REGION_GAP:
            regions.append([])
        regions[-1].append(index)
    story = max(regions, key=lambda region: sum(sizes[i] for i in region))
    first, last = story[0], story[-1]
    inside = {False: SegmentRegion.INSIDE, True: SegmentRegion.STORY}
    return [
        SegmentRegion.BEFORE if i < first else SegmentRegion.AFTER if i > last else inside[bool(main[i])]
        for i in range(len(main))
    ]

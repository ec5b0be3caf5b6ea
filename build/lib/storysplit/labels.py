"""The two labels a segment can take, and the kinds of boilerplate the corpus knows."""

from __future__ import annotations

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

    Kinds are used for evaluation breakdowns only; the model predicts `SegmentLabel`.
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
    DUPLICATE = "duplicate"
    JUNK = "junk"
    UNKNOWN = "unknown"

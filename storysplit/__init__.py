"""storysplit: keep the main story of a scraped page's plain text, drop what is glued to it."""

from storysplit.labels import SegmentKind, SegmentLabel

__all__ = ["SegmentKind", "SegmentLabel"]

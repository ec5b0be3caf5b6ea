"""storysplit: keep the main story of a scraped page's plain text, drop what is glued to it."""

from storysplit.errors import InputError, ModelLoadError, StorysplitError
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.model import LabelledSegment, StorySplitModel, load_model

__all__ = [
    "InputError",
    "LabelledSegment",
    "ModelLoadError",
    "SegmentKind",
    "SegmentLabel",
    "StorySplitModel",
    "StorysplitError",
    "load_model",
]

"""storysplit: keep the main story of a scraped page's plain text, drop what is glued to it.

The model's names load on first use (PEP 562), so `storysplit.cli` can set the thread variables
of numpy's BLAS before numpy is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storysplit.errors import InputError, ModelLoadError, StorysplitError
from storysplit.labels import SegmentKind, SegmentLabel

if TYPE_CHECKING:
    from storysplit.model import LabelledSegment, StorySplitModel, load_model

_FROM_MODEL = frozenset({"LabelledSegment", "StorySplitModel", "load_model"})

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


def __getattr__(name: str) -> Any:
    if name in _FROM_MODEL:
        from storysplit import model

        return getattr(model, name)
    raise AttributeError(f"module 'storysplit' has no attribute {name!r}")

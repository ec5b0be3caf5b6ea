"""The config sections inference reads from a model manifest, checked without pydantic.

Starting `storysplit segment` on one page is mostly imports and loading, and pydantic with its
validators was a fifth of it (docs/speed.md). These four sections are frozen dataclasses that check
their own values in `__post_init__`: `section_from_dict` builds one from a manifest, and
`storysplit.config` embeds them in the training config, where pydantic builds them from YAML
through the same checks (it runs `__post_init__`, and `__pydantic_config__` forbids unknown keys).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, TypeVar, get_args

_FORBID_UNKNOWN_KEYS = {"extra": "forbid"}  # pydantic's ConfigDict, as the plain dict it is
Backend = Literal["auto", "torch", "onnx"]
ENCODER_BACKENDS = get_args(Backend)


class SectionError(ValueError):
    """A section's value is out of range or of the wrong kind; `key` names it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _whole(section: object, key: str, minimum: int) -> None:
    value = getattr(section, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SectionError(key, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise SectionError(key, f"must be at least {minimum}, got {value!r}")


def _fraction(section: object, key: str) -> None:
    """A number strictly between 0 and 1, stored as a float."""
    value = getattr(section, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SectionError(key, f"expected a number, got {value!r}")
    if not 0.0 < value < 1.0:
        raise SectionError(key, f"must be between 0 and 1 (both excluded), got {value!r}")
    object.__setattr__(section, key, float(value))


def _flag(section: object, key: str) -> None:
    if not isinstance(getattr(section, key), bool):
        raise SectionError(key, f"expected true or false, got {getattr(section, key)!r}")


@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    """How text becomes segments (`features.segmentation.split_document`)."""

    __pydantic_config__ = _FORBID_UNKNOWN_KEYS

    max_chars: int = 1000

    def __post_init__(self) -> None:
        _whole(self, "max_chars", 20)


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Which sentence-transformers model embeds segments, and how."""

    __pydantic_config__ = _FORBID_UNKNOWN_KEYS

    model: str = "models/encoders/e5-static"
    backend: Backend = "auto"
    max_seq_length: int = 128
    batch_size: int = 64
    normalize: bool = True
    cache_size: int = 100_000

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise SectionError("model", f"expected a model name or folder, got {self.model!r}")
        if self.backend not in ENCODER_BACKENDS:
            raise SectionError(
                "backend", f"expected one of {', '.join(ENCODER_BACKENDS)}, got {self.backend!r}"
            )
        _whole(self, "max_seq_length", 8)
        _whole(self, "batch_size", 1)
        _flag(self, "normalize")
        _whole(self, "cache_size", 0)


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Context features computed around each segment's embedding (`features.context`)."""

    __pydantic_config__ = _FORBID_UNKNOWN_KEYS

    window: int = 2
    lead_segments: int = 3

    def __post_init__(self) -> None:
        _whole(self, "window", 0)
        _whole(self, "lead_segments", 1)


@dataclasses.dataclass(frozen=True)
class DecisionConfig:
    """What the labeller's probabilities become: kept where p(main) reaches the threshold, repeats dropped."""

    __pydantic_config__ = _FORBID_UNKNOWN_KEYS

    threshold: float = 0.5
    drop_repeats: bool = True
    fallback: bool = True
    """A page has a story: where the segments kept at the threshold hold fewer than
    `fallback_words` words, those with at least `fallback_share` of the best p(main) are kept."""
    fallback_words: int = 75
    fallback_share: float = 0.25
    drop_site_template: bool = True
    """Drop lines on at least half (and two or more) of their site's other pages
    (`features.site_evidence.template_rows`)."""

    def __post_init__(self) -> None:
        _fraction(self, "threshold")
        _flag(self, "drop_repeats")
        _flag(self, "fallback")
        _whole(self, "fallback_words", 1)
        _fraction(self, "fallback_share")
        _flag(self, "drop_site_template")


Section = TypeVar("Section", SegmenterConfig, EncoderConfig, FeatureConfig, DecisionConfig)


def section_from_dict(section: type[Section], raw: Any) -> Section:
    """`section` built from a manifest's plain data (JSON: values already of their kinds).

    Raises:
        SectionError: `raw` is not a mapping, names a key the section lacks, or holds a bad value.
    """
    if not isinstance(raw, dict):
        raise SectionError("<section>", f"expected a mapping of keys, got {type(raw).__name__}")
    known = {field.name for field in dataclasses.fields(section)}
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise SectionError(unknown[0], "unknown key")
    return section(**raw)

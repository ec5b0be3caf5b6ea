"""The manifest sections inference reads are checked without pydantic, with errors that name the key."""

from __future__ import annotations

import pytest

from storysplit.sections import (
    DecisionConfig,
    EncoderConfig,
    SectionError,
    SegmenterConfig,
    section_from_dict,
)


def test_a_manifest_section_becomes_its_dataclass() -> None:
    assert section_from_dict(SegmenterConfig, {"max_chars": 400}) == SegmenterConfig(max_chars=400)
    assert section_from_dict(DecisionConfig, {}) == DecisionConfig()
    encoder = section_from_dict(EncoderConfig, {"model": "models/encoders/e5-static", "backend": "onnx"})
    assert encoder.backend == "onnx" and encoder.batch_size == 64


def test_a_whole_number_threshold_is_stored_as_a_float() -> None:
    assert isinstance(DecisionConfig(threshold=0.25).threshold, float)


@pytest.mark.parametrize(
    ("section", "raw", "key", "problem"),
    [
        (SegmenterConfig, {"max_chars": 10}, "max_chars", "at least 20"),
        (SegmenterConfig, {"max_chars": True}, "max_chars", "whole number"),
        (SegmenterConfig, {"max_chars": "400"}, "max_chars", "whole number"),
        (SegmenterConfig, {"max_chars": 400, "extra": 1}, "extra", "unknown key"),
        (DecisionConfig, {"threshold": 0}, "threshold", "between 0 and 1"),
        (DecisionConfig, {"threshold": "0.5"}, "threshold", "a number"),
        (DecisionConfig, {"fallback": 1}, "fallback", "true or false"),
        (EncoderConfig, {"backend": "tf"}, "backend", "auto, torch, onnx"),
        (EncoderConfig, {"model": ""}, "model", "model name"),
        (SegmenterConfig, [400], "<section>", "mapping"),
    ],
)
def test_a_bad_section_names_its_key(section: type, raw: object, key: str, problem: str) -> None:
    with pytest.raises(SectionError, match=problem) as raised:
        section_from_dict(section, raw)
    assert raised.value.key == key

"""Fixtures for evaluation tests: the fake model and two small labelled stories."""

from __future__ import annotations

from typing import Any

import pytest

from tests.evaluation.fakes import STORY, FakeModel, make_row


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def story_rows() -> list[dict[str, Any]]:
    return [
        make_row(STORY, "story-a", source="wcxb", renderer="html_text"),
        make_row(STORY[1:4], "story-b", source="readability", renderer="inscriptis"),
    ]

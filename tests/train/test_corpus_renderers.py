"""Renderers on a small page: each keeps the story, drops script-like content, and has its shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from storysplit.train.corpus.renderers import RENDERERS, RenderError, render

FIXTURE = Path(__file__).parent / "fixtures" / "article.html"
STORY = "Engineers replaced more than two hundred corroded bolts"


@pytest.fixture(scope="module")
def html() -> str:
    return FIXTURE.read_text(encoding="utf-8")


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_renderer_keeps_story_and_drops_script_like_content(html: str, renderer: str) -> None:
    text = render(html, renderer)
    assert STORY in text
    for hidden in ("SCRIPTCONTENT", "NOSCRIPTCONTENT", "TEMPLATECONTENT", "display: none"):
        assert hidden not in text


def test_single_line_has_no_line_break(html: str) -> None:
    text = render(html, "single_line")
    assert "\n" not in text and "\r" not in text
    assert "Home" in text and STORY in text


def test_line_renderers_keep_navigation_on_its_own_lines(html: str) -> None:
    for renderer in ("html_text", "inscriptis", "dom_lines"):
        lines = [line.strip(" *+-") for line in render(html, renderer).splitlines()]
        assert "Sport" in lines, renderer


def test_lenient_keeps_story_without_the_navigation(html: str) -> None:
    text = render(html, "lenient")
    assert "Local businesses welcomed the reopening" in text
    assert "Weather" not in text.splitlines()


def test_unknown_renderer_and_empty_page_are_render_errors(html: str) -> None:
    with pytest.raises(RenderError, match="unknown renderer"):
        render(html, "pdf")
    with pytest.raises(RenderError, match="empty"):
        render("  ", "html_text")

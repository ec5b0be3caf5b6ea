"""HTML extractors on a small page, and reading (gzipped) HTML."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from storysplit.evaluation.html_baselines import html_baselines, read_html
from storysplit.evaluation.methods import HtmlMethod
from storysplit.evaluation.metrics import bag_of_words, token_counts

ARTICLE = (
    "The people who live in the valley said that they had been waiting for help for more than two "
    "days, and that the water was still rising when they left their homes in the night. "
)
PAGE = f"""<html><head><title>Flood</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/s">Sport</a></li></ul></nav>
<article><h1>Flood waters rise across the valley</h1>
<p>{ARTICLE * 2}</p><p>{ARTICLE}The army arrived on the third day with boats and food for the families.</p>
</article>
<footer><a href="/privacy">Privacy policy</a> <a href="/terms">Terms</a></footer>
</body></html>"""


@pytest.mark.parametrize("method", html_baselines(), ids=lambda m: m.name)
def test_html_extractors_keep_the_article_and_drop_the_footer(method: HtmlMethod) -> None:
    extracted = method.extract(PAGE)
    counts = token_counts(bag_of_words(extracted), bag_of_words(ARTICLE))
    assert counts.recall == 1.0
    assert "privacy" not in bag_of_words(extracted)


def test_read_html_handles_plain_and_gzipped_pages(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<p>café</p>", encoding="utf-8")
    (tmp_path / "b.html.gz").write_bytes(gzip.compress("<p>naïve</p>".encode()))
    assert read_html(tmp_path, "a.html") == "<p>café</p>"
    assert read_html(tmp_path, "b.html.gz") == "<p>naïve</p>"

"""HTML extractors run on the page's original markup: what tools reach when they can see the DOM.

Our users only have plain text, so these are a reference point, not a competitor; they are
scored on tokens only, on the documents whose row has an `html_path`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from storysplit.evaluation.methods import HtmlMethod


class TrafilaturaHtml:
    """trafilatura's `extract` with its defaults (no comments, no tables dropped)."""

    name = "trafilatura_html"

    def extract(self, html: str) -> str:
        import trafilatura

        return trafilatura.extract(html, include_comments=False) or ""


class JustextHtml:
    """jusText on the HTML with the English stoplist; kept paragraphs joined by newlines."""

    name = "justext_html"

    def __init__(self, language: str = "English") -> None:
        import justext

        self.stoplist = justext.get_stoplist(language)

    def extract(self, html: str) -> str:
        import justext

        if not html.strip():
            return ""
        paragraphs = justext.justext(html.encode("utf-8"), self.stoplist, encoding="utf-8")
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


class Boilerpy3Html:
    """boilerpy3's `ArticleExtractor` (the Boilerpipe article model)."""

    name = "boilerpy3_html"

    def extract(self, html: str) -> str:
        from boilerpy3 import extractors

        return str(extractors.ArticleExtractor(raise_on_failure=False).get_content(html))


def html_baselines() -> list[HtmlMethod]:
    """Every HTML extractor, in table order."""
    return [TrafilaturaHtml(), JustextHtml(), Boilerpy3Html()]


def read_html(data_dir: Path, html_path: str) -> str:
    """A row's HTML (`.html` or `.html.gz`, relative to the data dir), decoded leniently as UTF-8."""
    path = data_dir / html_path
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode("utf-8", errors="replace")

"""Turn a page's HTML into plain text the ways scrapers do, so the model sees their differences.

Every renderer first drops `<script>`, `<style>`, `<noscript>` and `<template>` contents (code and
CSS are never text a reader saw). The names are the values of `CorpusConfig.renderers`:

- `html_text`: html-text's layout-ish text (blocks on their own lines, the `<title>` first).
- `inscriptis`: inscriptis' layout-preserving text (indented lists, table columns).
- `dom_lines`: every DOM text node on its own line, as `get_text("\\n")` leaves it.
- `single_line`: html-text's output with every line break replaced by a space.
- `lenient`: a recall-favouring extractor (trafilatura with comments and tables), which keeps
  the story plus some of what surrounds it; the `<article>`/`<main>` text when it finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import html_text
import lxml.html
import trafilatura
from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml import etree

from storysplit.errors import StorysplitError

_DROPPED_TAGS = ("script", "style", "noscript", "template")


class RenderError(StorysplitError):
    """A page cannot be parsed as HTML, or a renderer name is unknown."""


def render(html: str, renderer: str) -> str:
    """The page as plain text made by `renderer` (one of `RENDERERS`).

    Raises:
        RenderError: unknown renderer, or HTML that lxml cannot parse at all.
    """
    if renderer not in RENDERERS:
        raise RenderError(f"unknown renderer {renderer!r}; known: {', '.join(RENDERERS)}")
    return RENDERERS[renderer](html)


def parse_clean_tree(html: str) -> lxml.html.HtmlElement:
    """The page as an lxml tree with script-like elements removed (a fresh tree on every call).

    Raises:
        RenderError: the page is empty or not parseable.
    """
    if not html.strip():
        raise RenderError("empty HTML")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        tree = lxml.html.document_fromstring(html.encode("utf-8", errors="replace"), parser=parser)
    except (etree.ParserError, ValueError) as error:
        raise RenderError(f"unparseable HTML: {error}") from None
    etree.strip_elements(tree, *_DROPPED_TAGS, with_tail=False)
    return tree


def render_html_text(html: str) -> str:
    return str(html_text.extract_text(parse_clean_tree(html), guess_layout=True))


def render_inscriptis(html: str) -> str:
    config = ParserConfig(display_links=False, display_images=False)
    return str(Inscriptis(parse_clean_tree(html), config).get_text())


def render_dom_lines(html: str) -> str:
    tree = parse_clean_tree(html)
    return "\n".join(text for text in tree.itertext() if text.strip())


def render_single_line(html: str) -> str:
    return " ".join(render_html_text(html).split())


def render_lenient(html: str) -> str:
    tree = parse_clean_tree(html)
    text = trafilatura.extract(
        tree,
        favor_recall=True,
        include_comments=True,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        with_metadata=False,
    )
    if text and text.strip():
        return str(text)
    container = _enclosing_container(parse_clean_tree(html))
    return str(html_text.extract_text(container, guess_layout=True))


def _enclosing_container(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The largest `<article>` or `<main>` element by text length, else `<body>`, else the root."""
    candidates = tree.xpath("//article | //main")
    if candidates:
        return max(candidates, key=lambda element: len(element.text_content()))
    body = tree.find("body")
    return body if body is not None else tree


RENDERERS: dict[str, Callable[[str], str]] = {
    "html_text": render_html_text,
    "inscriptis": render_inscriptis,
    "dom_lines": render_dom_lines,
    "single_line": render_single_line,
    "lenient": render_lenient,
}

"""A deterministic fake model and hand-made corpus rows shared by the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storysplit.evaluation.regions import with_regions
from storysplit.evaluation.synthetic_crawl import MIN_TEMPLATE_LINES
from storysplit.features.segmentation import split_document
from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment


class FakeModel:
    """Implements the model API: p(main) grows with a segment's word count (saturating at 15 words)."""

    max_chars = 1000

    def segment_many(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: object = None,
    ) -> list[list[LabelledSegment]]:
        cut = 0.5 if threshold is None else threshold
        documents = []
        for text in texts:
            segments = []
            for segment in split_document(text, self.max_chars):
                probability = min(1.0, len(segment.text.split()) / 15)
                label = SegmentLabel.MAIN if probability >= cut else SegmentLabel.BOILERPLATE
                segments.append(LabelledSegment(segment.start, segment.end, label, probability))
            documents.append(segments)
        return documents


def make_row(lines: Sequence[tuple[str, str, str]], row_id: str = "doc", **fields: Any) -> dict[str, Any]:
    """A corpus row from (text, label, kind) lines; the reference is the main lines."""
    text = "\n".join(line for line, _, _ in lines) + "\n"
    spans, offset = [], 0
    for line, label, kind in lines:
        spans.append(
            {"start": offset, "end": offset + len(line), "label": label, "kind": kind, "weight": 1.0}
        )
        offset += len(line) + 1
    row = {
        "id": row_id,
        "text": text,
        "source": "handmade",
        "domain": "example.org",
        "renderer": "html_text",
        "reference_text": "\n".join(line for line, label, _ in lines if label == "main"),
        "html_path": "",
        "spans": spans,
    }
    row.update(fields)
    return row


STORY = [
    ("Home | World | Sport", "boilerplate", "menu"),
    ("Flood waters rise across the northern valley", "main", "headline"),
    (
        "Residents of the northern valley were told to leave their homes on Tuesday as the river rose "
        "above the level it reached in the great flood of the last decade.",
        "main",
        "body",
    ),
    (
        "Officials said that the water would keep rising through the night and that the roads to the "
        "south were already closed to all traffic except the emergency services.",
        "main",
        "body",
    ),
    ("Related: Storm hits coast", "boilerplate", "related"),
    ("Share this article", "boilerplate", "widget"),
]


MENU = [f"Menu item {i}" for i in range(MIN_TEMPLATE_LINES)]
"""A template's chrome: enough lines outside its story to wrap other sites' stories."""


def crawl_row(domain: str, story: list[str], menu: list[str], renderer: str = "html_text") -> dict[str, Any]:
    """A corpus row: five menu lines, the story (an ad after its first line), the rest of the menu."""
    lines = [(line, "boilerplate", "menu") for line in menu[:5]]
    lines += [(story[0], "main", "body")]
    lines += [("Advertisement", "boilerplate", "widget")] if len(story) > 1 else []
    lines += [(line, "main", "body") for line in story[1:]]
    lines += [(line, "boilerplate", "comments") for line in menu[5:]]
    fields = {"domain": domain, "renderer": renderer, "language": "en", "gold_origin": "hand"}
    return with_regions(make_row(lines, row_id=domain, **fields))


def crawl_corpus_rows() -> list[dict[str, Any]]:
    """One page with chrome enough to be a template, six other sites' stories, one other scraper's page."""
    rows = [crawl_row("template.com", ["The template page's own story, long enough to read as prose."], MENU)]
    rows += [
        crawl_row(
            f"site{i}.org", [f"Story {i} opens with a sentence of its own.", f"Story {i} goes on."], ["Home"]
        )
        for i in range(6)
    ]
    rows.append(crawl_row("other.net", ["A lenient rendering is another scraper."], MENU, renderer="lenient"))
    return rows

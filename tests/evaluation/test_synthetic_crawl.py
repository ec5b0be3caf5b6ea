"""Synthetic crawls: one real page's chrome around other sites' stories, page after page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset

from storysplit.evaluation.data import load_eval_set
from storysplit.evaluation.regions import with_regions
from storysplit.evaluation.synthetic_crawl import MIN_TEMPLATE_LINES, crawl_rows

MENU = [f"Menu item {i}" for i in range(MIN_TEMPLATE_LINES)]


def _row(domain: str, story: list[str], menu: list[str], renderer: str = "html_text") -> dict[str, Any]:
    lines = [(line, "boilerplate", "menu") for line in menu[:5]]
    lines += [(story[0], "main", "body")]
    lines += [("Advertisement", "boilerplate", "widget")] if len(story) > 1 else []
    lines += [(line, "main", "body") for line in story[1:]]
    lines += [(line, "boilerplate", "comments") for line in menu[5:]]
    text = "\n".join(line for line, _, _ in lines)
    spans, offset = [], 0
    for line, label, kind in lines:
        spans.append(
            {"start": offset, "end": offset + len(line), "label": label, "kind": kind, "weight": 1.0}
        )
        offset += len(line) + 1
    return with_regions(
        {
            "id": domain,
            "text": text,
            "source": "handmade",
            "domain": domain,
            "renderer": renderer,
            "reference_text": "",
            "html_path": "",
            "language": "en",
            "gold_origin": "hand",
            "spans": spans,
        }
    )


def _rows() -> list[dict[str, Any]]:
    rows = [_row("template.com", ["The template page's own story, long enough to read as prose."], MENU)]
    rows += [
        _row(
            f"site{i}.org", [f"Story {i} opens with a sentence of its own.", f"Story {i} goes on."], ["Home"]
        )
        for i in range(6)
    ]
    rows.append(_row("other.net", ["A lenient rendering is another scraper."], MENU, renderer="lenient"))
    return rows


def test_each_page_wraps_another_sites_story_in_the_templates_chrome() -> None:
    pages = crawl_rows(_rows(), crawls=3, pages=4)
    assert len(pages) == 4  # one page has enough chrome to be a template; four stories asked
    for page in pages:
        assert page["domain"] == "crawl-template.com" and page["renderer"] == "html_text"
        lines = page["text"].split("\n")
        assert lines[:5] == MENU[:5] and lines[-(len(MENU) - 5) :] == MENU[5:]
        story = lines[5 : len(lines) - (len(MENU) - 5)]
        assert story[0].startswith("Story") and story[1] == "Advertisement" and story[2].endswith("goes on.")
        labels = [span["label"] for span in page["spans"]]
        assert labels == ["boilerplate"] * 5 + ["main", "boilerplate", "main"] + ["boilerplate"] * (
            len(MENU) - 5
        )
        assert page["reference_text"] == "\n".join([story[0], story[2]])
    assert crawl_rows(_rows(), crawls=3, pages=4) == pages  # seeded


def test_the_crawl_spec_reads_a_saved_split_and_its_pages_share_one_site(tmp_path: Path) -> None:
    Dataset.from_list(_rows()).save_to_disk(str(tmp_path / "split"))
    eval_set = load_eval_set(f"crawl:{tmp_path / 'split'}", tmp_path)
    assert len(eval_set.documents) == 6
    assert {document.site for document in eval_set.documents} == {"crawl-template.com html_text"}

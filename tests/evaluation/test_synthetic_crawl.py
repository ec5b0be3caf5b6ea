"""Synthetic crawls: one real page's chrome around other sites' stories, page after page."""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from storysplit.evaluation.data import load_eval_set
from storysplit.evaluation.synthetic_crawl import crawl_rows
from tests.evaluation.fakes import MENU
from tests.evaluation.fakes import crawl_corpus_rows as _rows


def test_each_page_wraps_another_sites_story_in_the_templates_chrome() -> None:
    pages = list(crawl_rows(_rows(), crawls=3, pages=4))
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
    assert list(crawl_rows(_rows(), crawls=3, pages=4)) == pages  # seeded


def test_the_crawl_spec_reads_a_saved_split_and_its_pages_share_one_site(tmp_path: Path) -> None:
    Dataset.from_list(_rows()).save_to_disk(str(tmp_path / "split"))
    eval_set = load_eval_set(f"crawl:{tmp_path / 'split'}", tmp_path)
    assert len(eval_set.documents) == 6
    assert {document.site for document in eval_set.documents} == {"crawl-template.com html_text"}

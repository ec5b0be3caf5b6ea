"""A Japanese news page through the whole path: source reading, rendering, alignment, the shipped model.

The page (news-fixtures 0023, jvn.jp) is in the test split by its domain, so the shipped model never
trained on it; before the multilingual encoder and script-aware words, every line of such a story
came out below p(main) 0.3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storysplit import load_model
from storysplit.evaluation.metrics import bag_of_words, token_counts
from storysplit.labels import SegmentLabel
from storysplit.train.corpus.alignment import AlignmentRules, GoldInfo, align_document
from storysplit.train.corpus.renderers import render
from storysplit.train.corpus.sources import PageMeta, PageRef, read_page
from storysplit.train.corpus.splits import split_for_domain

REPO = Path(__file__).resolve().parents[2]
PAGE = PageRef("news-fixtures", "0023", "news-fixtures/html/0023.html.gz")


@pytest.mark.slow
def test_a_japanese_story_is_found_aligned_and_kept(data_dir: Path) -> None:
    page = read_page(data_dir, PAGE, PageMeta(domain="jvn.jp"))
    assert page.language == "ja"
    assert split_for_domain(page.domain, (0.7, 0.15, 0.15)) == "test"
    text = render(page.html, "html_text")
    gold = GoldInfo(page.gold_text, page.title, page.author, page.published)
    alignment = align_document(text, gold, AlignmentRules(max_chars=1000))
    assert alignment.gold_recall > 0.9
    assert sum(span.label is SegmentLabel.MAIN for span in alignment.spans) >= 3

    labelled = load_model(REPO / "models" / "default").segment(text)
    kept = "\n".join(text[s.start : s.end] for s in labelled if s.label is SegmentLabel.MAIN)
    scores = token_counts(bag_of_words(kept), bag_of_words(page.gold_text))
    assert scores.recall > 0.8
    assert scores.f1 > 0.7

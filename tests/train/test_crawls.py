"""Synthetic crawls join the training pool of the sets that train, and only theirs."""

from __future__ import annotations

from datasets import Dataset

from storysplit.config import TrainingConfig
from storysplit.train.crawls import CRAWL_ORIGIN, with_training_crawls
from tests.evaluation.fakes import crawl_corpus_rows


def _split() -> Dataset:
    """The fake crawl corpus as one trained set, and the same pages again as a set weighted 0."""
    rows = crawl_corpus_rows()
    trained = [{**row, "source": "dragnet"} for row in rows]
    left_out = [{**row, "id": f"cleaneval-{row['id']}", "source": "cleaneval"} for row in rows]
    return Dataset.from_list(trained + left_out)


def test_no_crawls_at_weight_zero() -> None:
    split = _split()
    assert with_training_crawls(split, TrainingConfig()) is split


def test_crawls_of_the_trained_sets_are_appended_with_their_set_and_origin() -> None:
    split = _split()
    grown = with_training_crawls(split, TrainingConfig(crawl_weight=0.3))
    assert grown.select(range(len(split))).to_list() == split.to_list()
    pages = grown.select(range(len(split), len(grown)))
    assert len(pages) == 6  # the template page's chrome around the six other html_text stories
    assert set(pages["source"]) == {"dragnet"}  # cleaneval weighs 0: no crawls of it
    assert set(pages["gold_origin"]) == {CRAWL_ORIGIN}
    assert set(pages["domain"]) == {"crawl-template.com"}
    assert all(page_id.startswith("dragnet-crawl-") for page_id in pages["id"])
    assert all("region" in span for page in pages for span in page["spans"])

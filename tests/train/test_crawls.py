"""Synthetic crawls join the training pool of the sets that train, weighed; a fold leaves out its set's."""

from __future__ import annotations

import pytest
from datasets import Dataset

from storysplit.config import TrainingConfig
from storysplit.train.crawls import CRAWL_ORIGIN, STORY_REGIONS, with_training_crawls
from storysplit.train.loso import plan_folds
from tests.evaluation.fakes import crawl_corpus_rows


def _split() -> Dataset:
    """The fake crawl corpus as one trained set, and the same pages again as a set weighted 0."""
    rows = crawl_corpus_rows()
    trained = [{**row, "source": "dragnet"} for row in rows]
    left_out = [{**row, "id": f"cleaneval-{row['id']}", "source": "cleaneval"} for row in rows]
    return Dataset.from_list(trained + left_out)


def _crawl_pages(split: Dataset, config: TrainingConfig) -> Dataset:
    grown = with_training_crawls(split, config)
    assert grown.select(range(len(split))).to_list() == split.to_list()
    return grown.select(range(len(split), len(grown)))


def test_no_crawls_at_weight_zero() -> None:
    split = _split()
    assert with_training_crawls(split, TrainingConfig()) is split


def test_crawls_of_the_trained_sets_are_appended_with_their_set_and_origin() -> None:
    pages = _crawl_pages(_split(), TrainingConfig(crawl_weight=1.0))
    assert len(pages) == 6  # the template page's chrome around the six other html_text stories
    assert set(pages["source"]) == {"dragnet"}  # cleaneval weighs 0: no crawls of it
    assert set(pages["gold_origin"]) == {f"{CRAWL_ORIGIN} (hand)"}
    assert set(pages["domain"]) == {"crawl-template.com"}
    assert all(page_id.startswith("dragnet-crawl-") for page_id in pages["id"])


@pytest.mark.parametrize(("crawl", "story"), [(1.0, 0.0), (0.5, 0.3), (2.0, 1.0)])
def test_template_lines_weigh_the_crawl_weight_and_story_lines_the_story_weight_too(
    crawl: float, story: float
) -> None:
    pages = _crawl_pages(_split(), TrainingConfig(crawl_weight=crawl, crawl_story_weight=story))
    for page in pages:
        regions = [span["region"] for span in page["spans"]]
        # Regions come from the construction, before weighing: a story weighed 0 keeps its region.
        assert regions.count("story") == 2 and regions[0] == "before" and regions[-1] == "after"
        for span in page["spans"]:
            expected = crawl * story if span["region"] in STORY_REGIONS else crawl
            assert span["weight"] == pytest.approx(expected)


def test_a_fold_leaves_out_its_held_out_sets_crawls() -> None:
    split = _split()
    wcxb = {**split[1], "id": "wcxb-page", "source": "wcxb", "domain": "wcxb-only.org"}
    grown = with_training_crawls(
        Dataset.from_list([*split.to_list(), wcxb]), TrainingConfig(crawl_weight=1.0)
    )
    assert "dragnet" in grown.select(range(len(split) + 1, len(grown)))["source"]
    (fold,) = plan_folds(grown, ["dragnet"])
    assert set(grown.select(fold.train_documents)["source"]) == {"wcxb"}  # cleaneval shares its sites

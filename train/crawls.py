"""Synthetic crawls in the training pool: pages where site evidence is what tells chrome from story.

Real crawls in the corpus have three to seven pages a site, and the lines they repeat are mostly
menus any page alone already gives away, so the labeller learns to trust site evidence little. A
synthetic crawl (`evaluation.synthetic_crawl`: one page's lines outside its story around other
pages' stories) repeats teasers, comment threads and promos that read like prose on every page.
Each set's crawls are made from its own html_text training pages, so a leave-one-source-out fold
that holds a set out holds out its crawls too; they train at `TrainingConfig.crawl_weight`.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset, concatenate_datasets

from storysplit.config import TrainingConfig
from storysplit.evaluation.regions import with_regions
from storysplit.evaluation.synthetic_crawl import TEMPLATE_RENDERER, crawl_rows

TRAINING_CRAWLS = 100
"""Crawls added in all, shared among the trained sets by their html_text training pages."""
CRAWL_ORIGIN = "synthetic crawl"
"""The `gold_origin` of a crawl page: the labels are the construction's, not a set's own gold."""


def with_training_crawls(train_split: Dataset, config: TrainingConfig) -> Dataset:
    """`train_split` with each trained set's synthetic crawls appended (itself when the weight is 0)."""
    if config.crawl_weight == 0:
        return train_split
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in train_split.filter(lambda row: row["renderer"] == TEMPLATE_RENDERER):
        if config.trains_on(row["source"]):
            by_source.setdefault(row["source"], []).append(row)
    total = sum(map(len, by_source.values()))
    pages = []
    for source, rows in sorted(by_source.items()):
        crawls = max(1, round(TRAINING_CRAWLS * len(rows) / total))
        for page in crawl_rows(rows, crawls=crawls):
            pages.append(
                with_regions(
                    {**page, "id": f"{source}-{page['id']}", "source": source, "gold_origin": CRAWL_ORIGIN}
                )
            )
    if not pages:
        return train_split
    return concatenate_datasets([train_split, Dataset.from_list(pages, features=train_split.features)])

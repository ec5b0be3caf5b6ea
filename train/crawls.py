"""Synthetic crawls in the training pool: pages where site evidence is what tells chrome from story.

Real crawls in the corpus have three to seven pages a site, and the lines they repeat are mostly
menus a page alone already gives away, so the labeller learns little about a story-like paragraph
that recurs on every page of a big crawl. A synthetic crawl (`evaluation.synthetic_crawl`: one
page's lines outside its story around other pages' stories) repeats teasers, comment threads and
promos on all its pages. Each set's crawls are made from its own html_text training pages and
carry its name, so a leave-one-source-out fold that holds a set out holds its crawls out too.

The template's lines train at `TrainingConfig.crawl_weight`; the spliced stories at that times
`crawl_story_weight`, because a story set in a foreign page is what the construction invents, and
it is not what the labeller should learn a story looks like. Measured in docs/results.md.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset, concatenate_datasets

from storysplit.config import TrainingConfig
from storysplit.evaluation.regions import with_regions
from storysplit.evaluation.synthetic_crawl import TEMPLATE_RENDERER, crawl_rows
from storysplit.labels import SegmentRegion

TRAINING_CRAWLS = 100
"""Crawls in all, shared among the trained sets by their part of the split's html_text pages."""
CRAWL_ORIGIN = "synthetic crawl"
"""Prefix of a crawl page's `gold_origin`: its labels are its story's gold, placed by the construction."""
STORY_REGIONS = frozenset({SegmentRegion.STORY.value, SegmentRegion.INSIDE.value})


def with_training_crawls(train_split: Dataset, config: TrainingConfig) -> Dataset:
    """`train_split` with each trained set's synthetic crawls appended (itself when the weight is 0)."""
    if config.crawl_weight == 0:
        return train_split
    rendered = train_split.filter(lambda row: row["renderer"] == TEMPLATE_RENDERER)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rendered:
        if config.trains_on(row["source"]):
            by_source.setdefault(row["source"], []).append(row)
    pages = []
    for source, rows in sorted(by_source.items()):
        crawls = max(1, round(TRAINING_CRAWLS * len(rows) / len(rendered)))
        for page in crawl_rows(rows, crawls=crawls):
            page = with_regions(
                {
                    **page,
                    "id": f"{source}-{page['id']}",
                    "source": source,
                    "gold_origin": f"{CRAWL_ORIGIN} ({page['gold_origin']})",
                }
            )
            pages.append(_weighed(page, config))
    if not pages:
        return train_split
    return concatenate_datasets([train_split, Dataset.from_list(pages, features=train_split.features)])


def _weighed(page: dict[str, Any], config: TrainingConfig) -> dict[str, Any]:
    """`page` with its template's spans at the crawl weight and its story's at the story weight too."""
    for span in page["spans"]:
        story = span["region"] in STORY_REGIONS
        span["weight"] *= config.crawl_weight * (config.crawl_story_weight if story else 1.0)
    return page

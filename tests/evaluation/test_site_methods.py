"""Site evidence in evaluation: a crawl's documents judged together, and the crude rule beside it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storysplit.evaluation.data import document_site
from storysplit.evaluation.methods import ModelMethod, SegmentedText, SiteLineRule, site_table_of
from storysplit.features.segmentation import split_document
from storysplit.features.site_evidence import SiteTable
from storysplit.model import LabelledSegment
from tests.evaluation.fakes import FakeModel

WIDGET = "Sign up for our newsletter to get the best stories of the day delivered free"


class RecordingModel(FakeModel):
    """The fake model, remembering the site arguments of each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str | None] | None, SiteTable | None]] = []

    def segment_many(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: object = None,
    ) -> list[list[LabelledSegment]]:
        assert site_table is None or isinstance(site_table, SiteTable)
        self.calls.append((list(sites) if sites is not None else None, site_table))
        return super().segment_many(texts, threshold)


def _crawl() -> list[SegmentedText]:
    texts = [
        f"{WIDGET}\nStory {name} is told here in full, with all the words a story has." for name in "abcd"
    ]
    texts.append(f"{WIDGET}\nA page of another site that has a story of its own to tell today.")
    sites: list[str | None] = ["a.com html_text"] * 4 + [None]
    return [
        SegmentedText(text, tuple(split_document(text)), site)
        for text, site in zip(texts, sites, strict=True)
    ]


def test_documents_of_a_crawl_share_one_table_counted_over_all_of_them() -> None:
    model = RecordingModel()
    ModelMethod(model, batch_size=2).decide(_crawl())
    assert [sites for sites, _ in model.calls] == [["a.com html_text"] * 2, ["a.com html_text"] * 2, [None]]
    tables = {id(table) for _, table in model.calls}
    assert len(tables) == 1
    table = model.calls[0][1]
    assert table is not None and table.site_pages("a.com html_text") == 4


def test_without_sites_the_model_sees_each_page_alone() -> None:
    model = RecordingModel()
    ModelMethod(model, sites=False).decide(_crawl())
    assert model.calls == [(None, None)]


def test_the_rule_drops_kept_lines_most_of_the_crawl_repeats() -> None:
    documents = _crawl()
    plain = ModelMethod(FakeModel(), sites=False).decide(documents)
    ruled = SiteLineRule(FakeModel()).decide(documents)
    for index in range(4):
        assert plain[index].keep.tolist() == [True, True]
        assert ruled[index].keep.tolist() == [False, True] and ruled[index].probabilities[0] == 0.0
    assert ruled[4].keep.tolist() == [True, True]  # the other site's page: no crawl, no evidence
    evidence = site_table_of(documents).evidence("a.com html_text", ["story"])
    np.testing.assert_array_equal(evidence[:, -1], [1.0])


def test_a_pages_crawl_is_its_site_as_one_renderer_rendered_it() -> None:
    assert document_site({"domain": "a.com", "renderer": "html_text"}) == "a.com html_text"
    assert document_site({"domain": "a.com", "renderer": "mixture"}) is None
    assert document_site({"domain": "seed-1", "renderer": "scraped"}) is None
    assert document_site({"domain": "", "renderer": "html_text"}) is None

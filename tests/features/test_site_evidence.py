"""Site evidence: shares of a site's other pages that hold each line, in bounded memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storysplit.features.site_evidence import (
    SITE_FEATURES,
    SiteCounts,
    SiteLineCounter,
    SiteTable,
    masked,
    template_rows,
)

MENU = ["home", "news", "sport", "comments 12"]
NAMES = [
    f"name{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(26)
]  # no digits: masking keeps them apart


def _pages(pages: int, site: str = "example.com") -> list[tuple[str, list[str]]]:
    crawl = [
        (site, [*MENU[:3], f"comments {page}", f"a story about {NAMES[page]}", "home"])
        for page in range(pages)
    ]
    return [*crawl, ("other.org", ["home", "a story of its own"])]


def _crawl(pages: int, site: str = "example.com", spill_pairs: int = 1_000_000) -> SiteTable:
    counter = SiteLineCounter(spill_pairs=spill_pairs)
    for page_site, keys in _pages(pages, site):
        counter.add_page(page_site, keys)
    return counter.table()


def _assert_same(one: SiteTable | SiteCounts, other: SiteTable | SiteCounts) -> None:
    for name in ("sites", "pages", "lines", "counts"):
        np.testing.assert_array_equal(getattr(one, name), getattr(other, name))


def test_menu_lines_recur_stories_do_not() -> None:
    table = _crawl(5)
    keys = ["home", "news", "comments 3", f"a story about {NAMES[3]}", "a line never seen"]
    evidence = table.evidence("example.com", keys)
    assert evidence.shape == (5, len(SITE_FEATURES))
    np.testing.assert_allclose(evidence[:, 0], [1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(evidence[:, 1], [1.0, 1.0, 1.0, 0.0, 0.0])  # "comments 0" on every page
    np.testing.assert_allclose(evidence[:, 2], np.log1p(4))
    assert (evidence[:, 3] == 1.0).all()


def test_template_lines_are_on_half_of_the_other_pages_and_on_two_of_them_at_least() -> None:
    keys = ["home", "comments 3", f"a story about {NAMES[3]}"]
    assert template_rows(_crawl(5).evidence("example.com", keys)).tolist() == [True, False, False]
    counter = SiteLineCounter()
    for keys_of_page in (["menu", "a story"], ["menu", "a story"], ["menu", "another story"]):
        counter.add_page("example.com", keys_of_page)
    evidence = counter.table().evidence("example.com", ["menu", "a story"])
    np.testing.assert_allclose(evidence[:, 0], [1.0, 0.5])
    assert template_rows(evidence).tolist() == [True, False]  # a duplicate page is one holder
    assert not template_rows(_crawl(2).evidence("example.com", ["home"])).any()  # too few pages


def test_a_page_not_counted_compares_with_all_pages() -> None:
    evidence = _crawl(4).evidence("example.com", ["home", "brand new story"], counted=False)
    np.testing.assert_allclose(evidence[:, 0], [1.0, 0.0])
    np.testing.assert_allclose(evidence[:, 2], np.log1p(4))


def test_too_few_pages_or_no_site_give_no_evidence() -> None:
    table = _crawl(2)
    assert not table.evidence("example.com", ["home"]).any()
    assert not table.evidence("other.org", ["home"]).any()
    assert not table.evidence(None, ["home"]).any()
    assert not _crawl(3).evidence("unknown.net", ["home"]).any()
    assert _crawl(3).evidence("example.com", ["home"])[0, 3] == 1.0


def test_sites_do_not_share_counts_and_lines_count_once_per_page() -> None:
    counter = SiteLineCounter()
    for _ in range(3):
        counter.add_page("a.com", ["shared line", "shared line", "shared line"])
    counter.add_page("b.com", ["shared line"])
    counter.add_page("b.com", ["other"])
    counter.add_page("b.com", ["other"])
    table = counter.table()
    np.testing.assert_allclose(table.evidence("a.com", ["shared line"])[:, 0], [1.0])
    np.testing.assert_allclose(table.evidence("b.com", ["shared line", "other"])[:, 0], [0.0, 0.5])


def test_spilled_counts_equal_counts_held_in_memory(tmp_path: Path) -> None:
    held = _crawl(30)
    counter = SiteLineCounter(spill_dir=tmp_path / "chunks", spill_pairs=7)
    for page in range(30):
        counter.add_page(
            "example.com", [*MENU[:3], f"comments {page}", f"a story about {NAMES[page]}", "home"]
        )
    counter.add_page("other.org", ["home", "a story of its own"])
    spilled = counter.table()
    assert len(list((tmp_path / "chunks").glob("chunk-*.npy"))) > 10
    _assert_same(spilled, held)


def test_only_repeated_lines_are_kept_and_the_table_round_trips(tmp_path: Path) -> None:
    table = _crawl(10)
    assert table.lines.size == 7  # home, news, sport exact and masked, and "comments 0" masked
    table.save(tmp_path / "sites.npz")
    loaded = SiteTable.load(tmp_path / "sites.npz")
    keys = ["home", f"a story about {NAMES[1]}"]
    np.testing.assert_array_equal(loaded.evidence("example.com", keys), table.evidence("example.com", keys))


@pytest.mark.parametrize(
    ("key", "expected"), [("comments 12", "comments 0"), ("page 3 of 17", "page 0 of 0")]
)
def test_digits_are_masked(key: str, expected: str) -> None:
    assert masked(key) == expected


@pytest.mark.parametrize("spill_pairs", [1_000_000, 5])
def test_parts_counted_apart_add_up_to_the_counts_of_the_whole(spill_pairs: int, tmp_path: Path) -> None:
    pages = _pages(12)
    whole = SiteLineCounter()
    for site, keys in pages:
        whole.add_page(site, keys)
    merged = SiteLineCounter(spill_dir=tmp_path / "merged", spill_pairs=spill_pairs)
    for first in range(0, len(pages), 5):
        part = SiteLineCounter(spill_dir=tmp_path / f"part-{first}", spill_pairs=spill_pairs)
        for site, keys in pages[first : first + 5]:
            part.add_page(site, keys)
        merged.add_counts(part.counts())
    _assert_same(merged.table(), whole.table())
    _assert_same(merged.counts(), whole.counts())


def test_counts_keep_lines_of_one_page_and_round_trip(tmp_path: Path) -> None:
    counter = SiteLineCounter()
    counter.add_page("a.com", ["menu", "story one"])
    counter.add_page("a.com", ["menu", "story two"])
    counts = counter.counts()
    assert counts.lines.size == 6 and sorted(counts.counts.tolist()) == [1, 1, 1, 1, 2, 2]
    assert counter.table().lines.size == 2  # "menu", exact and masked
    counts.save(tmp_path / "part.npz")
    _assert_same(SiteCounts.load(tmp_path / "part.npz"), counts)

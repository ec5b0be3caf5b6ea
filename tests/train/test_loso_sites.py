"""Site evidence by site size: pages grouped by the size of their crawl, scores per fold and group."""

from __future__ import annotations

import pytest

from storysplit.train.loso import page_sites
from storysplit.train.loso_sites import ALONE, CRAWLED, crawl_groups, paired_table, site_size_table


def _row(doc_id: str, domain: str, renderer: str, source: str = "dragnet") -> dict[str, str]:
    return {"id": doc_id, "source": source, "domain": domain, "renderer": renderer}


def test_a_crawl_is_a_site_as_one_renderer_rendered_it_with_enough_pages() -> None:
    rows = [_row(f"a{i}", "a.example", "html_text") for i in range(3)]
    rows += [_row("a-other", "a.example", "inscriptis"), _row("b0", "b.example", "html_text")]
    rows += [_row("mix", "a.example", "mixture")]  # mixtures belong to no crawl
    groups = crawl_groups(rows)
    assert {doc_id for doc_id, group in groups.items() if group == CRAWLED} == {"a0", "a1", "a2"}
    assert groups["a-other"] == groups["b0"] == groups["mix"] == ALONE


def test_the_table_gives_each_methods_mean_per_fold_and_group() -> None:
    groups = {"a0": CRAWLED, "a1": CRAWLED, "b0": ALONE}
    records = [
        {"fold": "dragnet", "method": "model", "id": "a0", "token_f1": 0.8},
        {"fold": "dragnet", "method": "model", "id": "a1", "token_f1": 1.0},
        {"fold": "dragnet", "method": "model", "id": "b0", "token_f1": 0.5},
        {"fold": "dragnet", "method": "keep_all", "id": "a0", "token_f1": 0.2},
    ]
    table = site_size_table(records, groups).splitlines()
    assert table[0] == "| held-out source | pages | docs | model | keep_all |"
    assert f"| dragnet | {CRAWLED} | 2 | 0.900 | 0.200 |" in table
    assert f"| dragnet | {ALONE} | 1 | 0.500 | – |" in table


def test_paired_differences_on_crawled_pages_come_with_an_interval_over_sites() -> None:
    rows = [_row(f"{site}{i}", f"{site}.example", "html_text") for site in "ab" for i in range(3)]
    rows.append(_row("c0", "c.example", "html_text"))
    groups, sites = crawl_groups(rows), page_sites(rows)
    assert sites["a0"] == sites["a2"] != sites["b0"] and sites["c0"] == "c.example html_text"
    records = []
    for doc_id in [*groups]:
        gain = 0.1 if doc_id.startswith("a") else 0.3
        records.append({"fold": "dragnet", "method": "model", "id": doc_id, "token_f1": 0.9})
        records.append({"fold": "dragnet", "method": "model_site_rule", "id": doc_id, "token_f1": 0.9 - gain})
        records.append({"fold": "dragnet", "method": "keep_all", "id": doc_id, "token_f1": 0.9})
    table = paired_table(records, groups, sites).splitlines()
    assert table[0] == "| held-out source | sites | model − model_site_rule | model − keep_all |"
    fold, site_count, rule, keep_all = (cell.strip() for cell in table[2].strip("|").split("|"))
    assert (fold, site_count, keep_all) == ("dragnet", "2", "+0.000 [+0.000, +0.000]")
    mean, low, high = (float(x) for x in rule.replace("[", "").replace("]", "").replace(",", "").split())
    assert mean == pytest.approx(0.2) and low == pytest.approx(0.1) and high == pytest.approx(0.3)


def test_a_fold_with_one_crawled_site_has_no_interval() -> None:
    rows = [_row(f"a{i}", "a.example", "html_text") for i in range(3)]
    groups = crawl_groups(rows)
    records = [
        {"fold": "f", "method": method, "id": row["id"], "token_f1": 0.5}
        for row in rows
        for method in ("model", "keep_all")
    ]
    assert paired_table(records, groups, page_sites(rows)).splitlines()[2] == "| f | 1 | – |"

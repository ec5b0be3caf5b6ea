"""Site evidence by site size: pages grouped by the size of their crawl, scores per fold and group."""

from __future__ import annotations

from storysplit.train.loso_sites import ALONE, CRAWLED, crawl_groups, site_size_table


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

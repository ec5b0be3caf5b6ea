"""Leave-one-source-out folds: nothing of the held-out source, nor of its sites, is trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from storysplit.config import TrainingConfig
from storysplit.errors import StorysplitError
from storysplit.sections import DecisionConfig
from storysplit.train.featurize import LabelledRows
from storysplit.train.fit import document_weights, training_documents, weigh_documents
from storysplit.train.loso import SavedFolds, comparison_tables, plan_folds

SOURCES = ["wcxb", "wcxb", "cleaneval", "news-fixtures", "news-fixtures", "cleaneval", "wcxb"]
DOMAINS = ["a.com", "shared.com", "c.org", "shared.com", "d.jp", "e.net", "f.de"]


def test_no_source_and_no_site_is_on_both_sides_of_a_fold() -> None:
    split = Dataset.from_dict({"source": SOURCES, "domain": DOMAINS})
    folds = plan_folds(split, ["wcxb", "cleaneval", "news-fixtures"])
    for fold in folds:
        trained_sources = {SOURCES[i] for i in fold.train_documents}
        trained_domains = {DOMAINS[i] for i in fold.train_documents}
        held_domains = {d for s, d in zip(SOURCES, DOMAINS, strict=True) if s == fold.source}
        assert fold.source not in trained_sources
        assert not trained_domains & held_domains
    news = next(fold for fold in folds if fold.source == "news-fixtures")
    # shared.com is also a WCXB site: that WCXB page is left out of the news-fixtures fold.
    assert news.train_documents.tolist() == [0, 2, 5, 6]


def test_scoring_saved_folds_needs_a_saved_model_for_each_fold(tmp_path: Path) -> None:
    fold = plan_folds(Dataset.from_dict({"source": SOURCES, "domain": DOMAINS}), ["wcxb"])[0]
    with pytest.raises(StorysplitError, match=r"no saved fold model in .*wcxb: --models names"):
        SavedFolds(tmp_path, DecisionConfig()).model(fold)


def _rows() -> LabelledRows:
    lengths = [2, 3, 1]
    n = sum(lengths)
    return LabelledRows(
        features=np.arange(n * 2, dtype=np.float32).reshape(n, 2),
        labels=np.array([1, 0, 1, 1, 0, 1]),
        weights=np.ones(n, dtype=np.float32),
        regions=np.arange(n, dtype=np.int8),
        offsets=np.array([0, 2, 5, 6]),
    )


def test_a_run_and_a_fold_choose_training_documents_by_one_rule() -> None:
    renderers = ["html_text", "lenient", "html_text", "html_text", "mixture", "html_text", "html_text"]
    config = TrainingConfig(source_weights={"cleaneval": 0.0}, renderers=["html_text", "mixture"])
    everything = training_documents(SOURCES, renderers, config)
    assert [SOURCES[i] for i in everything] == [
        s for s, r in zip(SOURCES, renderers, strict=True) if s != "cleaneval" and r != "lenient"
    ]
    fold = next(
        fold for fold in plan_folds(Dataset.from_dict({"source": SOURCES, "domain": DOMAINS}), ["wcxb"])
    )
    in_fold = training_documents(SOURCES, renderers, config, fold.train_documents)
    assert set(in_fold) == set(everything) & set(fold.train_documents.tolist())
    capped = TrainingConfig(max_train_documents=3, seed=5)
    drawn = training_documents(SOURCES, renderers, capped)
    assert len(drawn) == 3 and drawn.tolist() == sorted(drawn.tolist())
    assert drawn.tolist() == training_documents(SOURCES, renderers, capped).tolist()  # seeded
    uncapped = training_documents(SOURCES, renderers, TrainingConfig(max_train_documents=30))
    assert uncapped.tolist() == [0, 1, 3, 4, 6]  # the default leaves CleanEval out, caps nothing here


def test_select_documents_keeps_whole_documents_in_the_given_order() -> None:
    chosen = _rows().select_documents(np.array([2, 0]))
    assert chosen.offsets.tolist() == [0, 1, 3]
    assert chosen.regions.tolist() == [5, 0, 1]
    assert chosen.features[:, 0].tolist() == [10.0, 0.0, 2.0]


@pytest.mark.parametrize("weights", [{}, {"cleaneval": 0.5}])
def test_source_weights_scale_each_documents_rows(weights: dict[str, float]) -> None:
    per_document = document_weights(
        ["wcxb", "cleaneval", "wcxb"],
        ["en"] * 3,
        TrainingConfig(source_weights=weights, source_balance=0.0, language_balance=0.0),
    )
    weighed = weigh_documents(_rows(), per_document)
    expected = np.array([1, 1, 0.5, 0.5, 0.5, 1]) / (2.5 / 3) if weights else np.ones(6)
    np.testing.assert_allclose(weighed.weights, expected, rtol=1e-6)


def test_balancing_gives_each_set_and_language_the_same_total_weight_at_one() -> None:
    sources = ["dragnet"] * 8 + ["wcxb"] * 2
    languages = ["en"] * 9 + ["de"]
    flat = document_weights(sources, languages, TrainingConfig(source_balance=0.0, language_balance=0.0))
    assert flat.tolist() == [1.0] * 10
    by_set = document_weights(sources, languages, TrainingConfig(source_balance=1.0, language_balance=0.0))
    assert by_set[:8].sum() == pytest.approx(by_set[8:].sum()) and by_set.mean() == pytest.approx(1.0)
    half = document_weights(sources, languages, TrainingConfig(source_balance=0.5, language_balance=0.0))
    assert half[8] / half[0] == pytest.approx(2.0)  # (8 / 2) ** 0.5
    by_language = document_weights(
        sources, languages, TrainingConfig(source_balance=0.0, language_balance=1.0)
    )
    assert by_language[9] / by_language[0] == pytest.approx(9.0)
    rare = document_weights(
        ["a"] * 999 + ["b"], ["en"] * 1000, TrainingConfig(source_balance=1.0, language_balance=0.0)
    )
    assert rare[-1] / rare[0] == pytest.approx(10.0 / (500 / 999), rel=1e-5)  # b: 500, kept at 10


def _record(
    fold: str, method: str, f1: float, words: dict[str, list[int]] | None = None, page: str = "p1"
) -> dict[str, object]:
    scores = {"token_f1": f1, "token_precision": f1, "token_recall": f1}
    return {"fold": fold, "method": method, "id": page, "renderer": "html_text", **scores} | (
        {"boilerplate_words": words} if words else {}
    )


def test_two_runs_compare_side_by_side_with_kept_boilerplate_by_kind() -> None:
    before = [
        _record("wcxb", "model", 0.8, {"comments": [10, 100], "other": [5, 50]}),
        _record("wcxb", "trafilatura_html", 0.9),
        _record("dragnet", "model", 0.7),  # a fold only one run has is left out
    ]
    after = [
        _record("wcxb", "model", 0.9, {"comments": [1, 100], "other": [5, 50]}),
        _record("wcxb", "oracle", 0.99),
        _record("wcxb", "region_oracle", 0.98),
    ]
    table = comparison_tables(before, after, {})
    assert (
        "| wcxb | 1 | 0.800 (0.800, 0.800) | **0.900 (0.900, 0.900)** | – | 0.990 | 0.980 | 0.900 |" in table
    )
    assert "| wcxb | 0.100 (10) → 0.010 (1) | – → – | 0.100 (5) → 0.100 (5) |" in table
    assert "dragnet" not in table


def test_a_change_is_paired_page_by_page_with_an_interval_over_sites() -> None:
    before = [
        _record("nf", "model", f1, page=page) for page, f1 in (("a", 0.5), ("b", 0.5), ("c", 0.9), ("d", 0.7))
    ]
    # "d" only the run before scored; "e" only the run after: neither is paired.
    after = [
        _record("nf", "model", f1, page=page) for page, f1 in (("a", 0.7), ("b", 0.5), ("c", 0.8), ("e", 0.1))
    ]
    sites = {"a": "x.com", "b": "x.com", "c": "y.com"}
    row = next(
        line for line in comparison_tables(before, after, sites).splitlines() if line.startswith("| nf |")
    )
    paired = row.split(" | ")[4]
    mean, low, high = (
        float(value) for value in paired.replace("[", "").replace("]", "").replace(",", "").split()
    )
    assert mean == pytest.approx((0.2 + 0.0 - 0.1) / 3, abs=5e-4)  # printed to three places
    # Two sites: x.com (+0.1 a page over two pages) and y.com (-0.1); a draw holds one or both.
    assert low == pytest.approx(-0.1) and high == pytest.approx(0.1)


def test_pages_of_one_site_have_no_interval() -> None:
    before = [_record("nf", "model", 0.5, page=page) for page in ("a", "b")]
    after = [_record("nf", "model", 0.6, page=page) for page in ("a", "b")]
    table = comparison_tables(before, after, {"a": "x.com", "b": "x.com"})
    assert "| nf | 2 | 0.500 (0.500, 0.500) | **0.600 (0.600, 0.600)** | – |" in table


def test_the_gap_table_counts_failed_pages_and_what_they_cost() -> None:
    """Four pages: the oracle scores 1.0 on each; the model 0.9, 0.8, 0.3 and 0.0. The gap is 0.5
    a page; the two failed pages (under 0.5) cost 0.425 of it, the others 0.075."""
    from types import SimpleNamespace

    from storysplit.train.loso import Fold, FoldResult, gap_table

    def page(i: int, f1: float) -> SimpleNamespace:
        return SimpleNamespace(
            document=SimpleNamespace(id=f"p{i}", renderer="html_text"), tokens=SimpleNamespace(f1=f1)
        )

    methods = {
        "model": [page(i, f1) for i, f1 in enumerate([0.9, 0.8, 0.3, 0.0])],
        "oracle": [page(i, 1.0) for i in range(4)],
    }
    result = SimpleNamespace(method=lambda name: SimpleNamespace(documents=methods[name]))
    fold = FoldResult(Fold("wcxb", np.arange(0), frozenset()), result, 10, 0.0)  # type: ignore[arg-type]
    row = gap_table([fold]).splitlines()[-1]
    assert row == "| wcxb | 4 | 0.500 | 1.000 | 0.500 | 2 (50.0%) | 0.425 | 0.075 |"

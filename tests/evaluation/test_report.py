"""The report folder: Markdown, metrics.json and figures; logging it to MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storysplit.evaluation.baselines import KeepAll
from storysplit.evaluation.data import EvalSet, document_from_row
from storysplit.evaluation.figures import _zoomed, kind_recall_figure
from storysplit.evaluation.methods import ModelMethod
from storysplit.evaluation.report import headline_metrics, results_tables, slug, write_report
from storysplit.evaluation.runner import SetResult, evaluate_set
from storysplit.evaluation.summary import SiteInterval, Summary, operating_point, site_interval, summarize
from storysplit.evaluation.tracking import log_report_to_mlflow
from storysplit.labels import SegmentKind, SegmentLabel
from tests.evaluation.fakes import FakeModel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(rows: list[dict[str, Any]]) -> SetResult:
    eval_set = EvalSet("data/corpus:validation", tuple(document_from_row(r) for r in rows))
    return evaluate_set(eval_set, 1000, [ModelMethod(FakeModel()), KeepAll()])


def test_write_report_writes_markdown_metrics_and_figures(
    tmp_path: Path, story_rows: list[dict[str, Any]]
) -> None:
    report = write_report([run(story_rows)], tmp_path / "report", {"model": "fake"})
    names = sorted(p.name for p in report.figures)
    assert names == [
        "data_corpus_validation-calibration.png",
        "data_corpus_validation-kind-recall.png",
        "data_corpus_validation-threshold-curve.png",
    ]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in report.figures)
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "| model | text | 2 |" in markdown
    assert "Worst documents for model" in markdown
    assert "(data_corpus_validation-calibration.png)" in markdown
    record = json.loads(report.metrics.read_text(encoding="utf-8"))
    keep_all = record["data"]["data/corpus:validation"]["methods"]["keep_all"]
    assert keep_all["token_recall"] == 1.0
    assert set(keep_all["by_renderer"]) == {"html_text", "inscriptis"}


def test_tables_split_by_source_and_renderer(story_rows: list[dict[str, Any]]) -> None:
    tables = results_tables([run(story_rows)])
    assert "Token F1 (macro) by source:" in tables
    assert "| method | readability | wcxb |" in tables
    assert "| method | html_text | inscriptis |" in tables


def test_headline_metrics_are_flat_and_named(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    report = write_report([run(story_rows)], tmp_path, {})
    flat = headline_metrics(json.loads(report.metrics.read_text(encoding="utf-8")))
    assert flat["data_corpus_validation.keep_all.token_recall"] == 1.0
    assert "data_corpus_validation.model.segment_main_f1" in flat
    assert slug("../x y:test") == ".._x_y_test"


@pytest.mark.slow
def test_log_report_to_mlflow_only_with_an_active_run(
    tmp_path: Path, story_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    report = write_report([run(story_rows)], tmp_path / "report", {})
    assert log_report_to_mlflow(report.folder) is False
    with mlflow.start_run() as active:
        assert log_report_to_mlflow(report.folder) is True
    logged = mlflow.get_run(active.info.run_id)
    assert logged.data.metrics["data_corpus_validation.keep_all.token_recall"] == 1.0
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(active.info.run_id, "evaluation")]
    assert "evaluation/report.md" in artifacts


def test_baselines_are_drawn_where_their_decisions_land(story_rows: list[dict[str, Any]]) -> None:
    result = run(story_rows)
    keep_all = operating_point(result.method("keep_all"))
    assert keep_all.token_recall == keep_all.segment_recall == 1.0
    assert keep_all.token_precision == pytest.approx(
        summarize(result.method("keep_all").documents).token_precision
    )
    oracle = operating_point(result.method("oracle"))
    assert oracle.segment_precision == oracle.segment_recall == 1.0


def test_precision_recall_axes_are_zoomed_to_the_points() -> None:
    assert _zoomed([0.8, 0.95, 1.0]) == pytest.approx((0.77, 1.03))
    assert _zoomed([0.0, 1.0]) == pytest.approx((0.0, 1.03))
    assert _zoomed([float("nan"), 0.9]) == pytest.approx((0.87, 0.93))


def test_the_kind_recall_legend_lies_outside_the_bars() -> None:
    """Recall near 1 fills the top of the plot, where a legend inside the axes would cover bars."""
    kinds = [SegmentKind.MENU, SegmentKind.RELATED, SegmentKind.WIDGET, SegmentKind.PROMO]
    recall = {(SegmentLabel.BOILERPLATE, kind): 0.98 for kind in kinds} | {
        (SegmentLabel.MAIN, SegmentKind.BODY): 0.99
    }
    methods = ["model", "keep_all", "first_20_lines", "c4_lines", "gopher_lines", "justext_lines"]
    summaries = {name: Summary(1, 1.0, 1.0, 1.0, 1.0, 1.0, None, recall) for name in methods}
    figure = kind_recall_figure(summaries)
    figure.canvas.draw()
    [axis] = figure.axes
    [legend] = figure.legends
    renderer = figure.canvas.get_renderer()
    legend_box, axes_box = legend.get_window_extent(renderer), axis.get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1  # right of the axes, not over them
    assert figure.bbox.contains(legend_box.x1 - 1, legend_box.y0 + 1)  # and inside the image
    assert [text.get_text() for text in legend.get_texts()] == methods


def test_site_interval_draws_whole_sites() -> None:
    # Ten good pages of one site and one bad page of another: drawn page by page the interval would
    # be narrow; drawn by site, a quarter of the draws hold only the bad site.
    interval = site_interval(["a"] * 10 + ["b"], [1.0] * 10 + [0.0])
    assert interval is not None
    assert interval.sites == 2
    assert interval.mean == pytest.approx(10 / 11)
    assert (interval.low, interval.high) == (0.0, 1.0)


def test_site_interval_of_equal_scores_is_a_point_and_needs_two_sites() -> None:
    assert site_interval(["a", "b", "b"], [0.5, 0.5, 0.5]) == SiteInterval(2, 0.5, 0.5, 0.5)
    assert site_interval(["a", "a"], [0.2, 0.9]) is None
    with pytest.raises(ValueError, match="2 sites for 1 scores"):
        site_interval(["a", "b"], [0.5])


def test_interval_table_only_where_every_page_has_a_site(story_rows: list[dict[str, Any]]) -> None:
    other_site = {**story_rows[1], "domain": "example.net", "renderer": "html_text"}
    tables = results_tables([run([story_rows[0], other_site])])
    assert "95 % interval over sites" in tables
    assert "| keep_all | 2 |" in tables
    mixture = {**other_site, "renderer": "mixture"}  # composed documents belong to no site
    assert "interval over sites" not in results_tables([run([story_rows[0], mixture])])

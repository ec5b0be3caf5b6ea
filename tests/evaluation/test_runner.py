"""Running methods over documents, and macro/micro summaries with exact numbers."""

from __future__ import annotations

from typing import Any

import pytest

from storysplit.evaluation.baselines import KeepAll
from storysplit.evaluation.data import EvalSet, document_from_row
from storysplit.evaluation.methods import ModelMethod, SegmentMismatchError
from storysplit.evaluation.metrics import bag_of_words
from storysplit.evaluation.runner import SetResult, evaluate_set
from storysplit.evaluation.summary import by_source, summarize, summarize_by, threshold_sweep
from storysplit.labels import SegmentKind, SegmentLabel
from tests.evaluation.fakes import FakeModel


def run(rows: list[dict[str, Any]], model: FakeModel) -> SetResult:
    eval_set = EvalSet("handmade", tuple(document_from_row(r) for r in rows))
    return evaluate_set(eval_set, model.max_chars, [ModelMethod(model), KeepAll()])


def test_keep_all_scores_exactly(story_rows: list[dict[str, Any]], fake_model: FakeModel) -> None:
    result = run(story_rows, fake_model)
    main_words = bag_of_words(story_rows[0]["reference_text"]).total()
    extra_words = 10  # "home world sport", "related storm hits coast", "share this article"
    assert main_words == 65
    precision_a = 65 / 75
    summary = summarize(result.method("keep_all").documents)
    assert summary.token_recall == 1.0
    assert summary.token_precision == pytest.approx((precision_a + 1.0) / 2)
    assert summary.token_f1 == pytest.approx((2 * precision_a / (precision_a + 1) + 1.0) / 2)
    assert summary.token_f1_micro == pytest.approx(4 * main_words / (4 * main_words + extra_words))
    assert summary.good_share == 1.0  # story-a's F1 is 26/28
    assert summary.segments is not None
    assert summary.segments.boilerplate_recall == pytest.approx(0.5)  # macro: none dropped in a, vacuous in b


def test_model_segment_scores_and_kind_recall(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    summary = summarize(run(story_rows, fake_model).method("model").documents)
    # the fake keeps the two bodies and drops everything with fewer than 8 words, headline included
    assert summary.segments is not None
    assert summary.segments.main_precision == 1.0
    assert summary.segments.main_recall == pytest.approx(2 / 3)
    assert summary.segments.main_f1_micro == pytest.approx(0.8)
    assert summary.segments.accuracy_micro == pytest.approx(7 / 9)
    assert summary.kind_recall[(SegmentLabel.MAIN, SegmentKind.HEADLINE)] == 0.0
    assert summary.kind_recall[(SegmentLabel.BOILERPLATE, SegmentKind.RELATED)] == 1.0


def test_groups_by_source(story_rows: list[dict[str, Any]], fake_model: FakeModel) -> None:
    groups = summarize_by(run(story_rows, fake_model).method("keep_all"), by_source)
    assert list(groups) == ["readability", "wcxb"]
    assert groups["readability"].token_f1 == 1.0


def test_threshold_sweep_ends_match_keep_all_and_strict_cut(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    result = run(story_rows, fake_model)
    low, high = threshold_sweep(result.method("model"), [0.0, 1.0])
    keep_all = summarize(result.method("keep_all").documents)
    assert low.token_f1 == pytest.approx(keep_all.token_f1)
    assert high.token_f1 == pytest.approx(summarize(result.method("model").documents).token_f1)
    assert (high.segment_precision, high.segment_recall) == (1.0, pytest.approx(4 / 6))


def test_model_segmenting_differently_is_an_error(story_rows: list[dict[str, Any]]) -> None:
    class ShortModel(FakeModel):
        max_chars = 40

    eval_set = EvalSet("handmade", tuple(document_from_row(r) for r in story_rows))
    with pytest.raises(SegmentMismatchError, match="max_chars"):
        evaluate_set(eval_set, 1000, [ModelMethod(ShortModel())])


class _EchoHtml:
    """An HTML 'extractor' that returns the page as it is, counting its calls."""

    name = "echo_html"

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, html: str) -> str:
        self.calls += 1
        return html


def test_html_methods_skip_composed_documents(story_rows: list[dict[str, Any]], tmp_path) -> None:
    page = tmp_path / "page.html"
    page.write_text(story_rows[0]["reference_text"], encoding="utf-8")
    rows = [
        {**story_rows[0], "id": "rendered", "html_path": "page.html"},
        {**story_rows[0], "id": "again", "renderer": "dom_lines", "html_path": "page.html"},
        {**story_rows[1], "id": "composed", "renderer": "mixture", "html_path": "page.html"},
    ]
    eval_set = EvalSet("handmade", tuple(document_from_row(r) for r in rows))
    echo = _EchoHtml()
    result = evaluate_set(eval_set, 1000, [KeepAll()], [echo], tmp_path)
    scored = result.method("echo_html").documents
    assert [d.document.id for d in scored] == ["rendered", "again"]
    assert echo.calls == 1
    assert summarize(scored).token_f1 == pytest.approx(1.0)


def test_a_compacted_result_keeps_every_score_and_grouping(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    from storysplit.evaluation.report import group_table
    from storysplit.evaluation.runner import compact
    from storysplit.evaluation.summary import by_language, by_renderer

    result = run(story_rows, fake_model)
    light = compact(result)
    assert all(
        d.document.text == "" and d.prepared.segment_bags == () for m in light.methods for d in m.documents
    )
    for method in result.methods:
        assert summarize(light.method(method.name).documents) == summarize(method.documents)
        kept = [d.boilerplate_words for d in light.method(method.name).documents]
        assert kept == [d.boilerplate_words for d in method.documents] and kept[0]
    for key, title in ((by_renderer, "renderer"), (by_language, "language")):
        assert group_table(light, title, key) == group_table(result, title, key)

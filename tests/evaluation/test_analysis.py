"""Worst documents, error descriptions, kind confusion and the coloured document view."""

from __future__ import annotations

from typing import Any

from storysplit.evaluation.analysis import describe_errors, document_html, kind_confusion, worst_documents
from storysplit.evaluation.baselines import KeepAll
from storysplit.evaluation.data import EvalSet, document_from_row
from storysplit.evaluation.methods import ModelMethod
from storysplit.evaluation.runner import SetResult, evaluate_set
from storysplit.labels import SegmentKind, SegmentLabel
from tests.evaluation.fakes import FakeModel


def run(rows: list[dict[str, Any]], model: FakeModel) -> SetResult:
    eval_set = EvalSet("handmade", tuple(document_from_row(r) for r in rows))
    return evaluate_set(eval_set, model.max_chars, [ModelMethod(model), KeepAll()])


def test_worst_documents_are_ranked_and_explained(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    worst = worst_documents(run(story_rows, fake_model).method("keep_all"), count=1)
    assert [w.id for w in worst] == ["story-a"]
    assert worst[0].problems == "kept 1 menu, kept 1 related, kept 1 widget; 10 extra words, 0 missed"


def test_describe_errors_names_dropped_main_kinds(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    document = run(story_rows, fake_model).method("model").documents[1]
    assert describe_errors(document) == "dropped 1 headline; 0 extra words, 7 missed"


def test_kind_confusion_lists_main_kinds_first(
    story_rows: list[dict[str, Any]], fake_model: FakeModel
) -> None:
    table = kind_confusion(run(story_rows, fake_model).method("model"))
    assert [(c.label, c.kind) for c in table][:2] == [
        (SegmentLabel.MAIN, SegmentKind.BODY),
        (SegmentLabel.MAIN, SegmentKind.HEADLINE),
    ]
    headline = table[1]
    assert (headline.kept, headline.dropped, headline.right_share) == (0.0, 2.0, 0.0)


def test_document_html_colours_each_segment(story_rows: list[dict[str, Any]], fake_model: FakeModel) -> None:
    document = run(story_rows, fake_model).method("model").documents[0]
    page = document_html(document, max_segments=3)
    assert page.count("<tr style=") == 3
    assert "#fbe3a6" in page  # the dropped headline
    assert "3 more segments" in page

"""Keep-all, first-N-lines and jusText-on-lines baselines on small inputs."""

from __future__ import annotations

import pytest

from storysplit.evaluation.baselines import FirstLines, JustextLines, KeepAll, text_baselines
from storysplit.evaluation.methods import SegmentedText, line_groups
from storysplit.features.segmentation import split_document


def segmented(text: str, max_chars: int = 1000) -> SegmentedText:
    return SegmentedText(text, tuple(split_document(text, max_chars)))


def test_keep_all_keeps_every_segment() -> None:
    decisions = KeepAll().decide([segmented("a\n\nb\nc")])[0]
    assert decisions.keep.tolist() == [True, True, True]


def test_first_lines_counts_source_lines_not_sentences() -> None:
    text = "First sentence is here. Second sentence is here.\nsecond line\nthird line"
    document = segmented(text, max_chars=30)
    assert line_groups(document) == [[0, 1], [2], [3]]
    assert FirstLines(2).decide([document])[0].keep.tolist() == [True, True, True, False]


def test_first_lines_refuses_zero() -> None:
    with pytest.raises(ValueError, match="lines must be >= 1"):
        FirstLines(0)


def test_justext_lines_keeps_long_prose_and_drops_menus() -> None:
    prose = (
        "The people who live in the valley said that they had been waiting for help for more than "
        "two days, and that the water was still rising when they left their homes in the night. It "
        "was the third time in ten years that the river had come into the town."
    )
    text = f"Home\nWorld\nSport\n{prose}\n{prose}\nShare\nTweet\nCopyright 2024 News Ltd\n"
    decisions = JustextLines().decide([segmented(text)])[0]
    assert decisions.keep.tolist() == [False, False, False, True, True, False, False, False]


def test_every_baseline_answers_one_decision_per_segment() -> None:
    documents = [segmented("Home\nA sentence that ends well.\n"), segmented("")]
    for method in text_baselines(first_lines=1):
        decisions = method.decide(documents)
        assert [d.keep.shape for d in decisions] == [(2,), (0,)], method.name

"""C4 and Gopher line rules, one rule per case."""

from __future__ import annotations

import pytest

from storysplit.evaluation.line_rules import C4Lines, GopherLines, c4_keeps_line, gopher_keeps_line
from storysplit.evaluation.methods import SegmentedText
from storysplit.features.segmentation import split_document


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("The council approved the plan on Monday.", True),
        ('"We will rebuild," she said, "and soon."', True),
        ("Officials said the bridge had reopened[1].", True),
        ("Read more about the flood", False),  # no terminal punctuation
        ("Click here...", False),  # ellipsis
        ("Subscribe now!", False),  # fewer than three words
        ("Please enable JavaScript to view the comments.", False),
        ("Lorem ipsum dolor sit amet, consectetur.", False),
        ("var config = { page: 1 }; done.", False),
        ("This site uses cookies to improve your experience.", False),
        ("Read our terms of use before you post.", False),
    ],
)
def test_c4_line_rules(line: str, kept: bool) -> None:
    assert c4_keeps_line(line) is kept


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("Residents were told to leave their homes on Tuesday", True),
        ("Flood waters rise across the northern valley", True),
        ("• Residents were told to leave their homes", False),  # bullet
        ("Residents were told to leave their homes and…", False),  # ellipsis end
        ("#flood #valley #river #rain #storm news", False),  # symbol ratio
        ("Home World Sport", False),  # too few words
        ("2024 12 31 10 45 00 UTC today", False),  # alphabetic-word ratio
        ("Internationalisation notwithstanding, telecommunications underperformed", False),  # mean length
    ],
)
def test_gopher_line_rules(line: str, kept: bool) -> None:
    assert gopher_keeps_line(line) is kept


def test_rules_judge_a_whole_source_line_even_when_it_was_cut_into_sentences() -> None:
    long_line = " ".join(["The river rose again in the night and the roads were closed."] * 4)
    long_line += " Please enable javascript."
    text = f"{long_line}\nA short closing sentence is here."
    segments = tuple(split_document(text, 80))
    assert len(segments) > 2
    decisions = C4Lines().decide([SegmentedText(text, segments)])[0]
    assert decisions.keep.tolist() == [False] * (len(segments) - 1) + [True]


def test_gopher_method_gives_zero_one_probabilities() -> None:
    text = "Home\nResidents were told to leave their homes on Tuesday.\n"
    decisions = GopherLines().decide([SegmentedText(text, tuple(split_document(text)))])[0]
    assert decisions.probabilities.tolist() == [0.0, 1.0]

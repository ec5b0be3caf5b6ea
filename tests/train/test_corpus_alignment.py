"""Alignment labels on hand-made pages: partial lines, repeats, missing headlines, one-line text."""

from __future__ import annotations

from storysplit.features.segmentation import split_document
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus.alignment import (
    AlignmentRules,
    GoldInfo,
    LabelledSpan,
    align_document,
    is_meta_line,
    iso_date,
)

RULES = AlignmentRules(max_chars=200, min_match_ratio=0.8, max_boilerplate_ratio=0.2, ambiguous_weight=0.0)
PARAGRAPHS = [
    "The harbour bridge reopened to traffic on Thursday after eight months of repairs to its deck.",
    "Engineers replaced more than two hundred corroded bolts and repainted the main span.",
    "Local businesses welcomed the reopening, saying the detour had cost them customers all summer.",
]
GOLD = GoldInfo(
    main_text="\n".join(PARAGRAPHS),
    title="Harbour Bridge Reopens After Repairs | Coastal Times",
    author="Jane Doe",
    published="2025-09-04",
)


def _by_text(text: str, spans: list[LabelledSpan]) -> dict[str, LabelledSpan]:
    return {text[span.start : span.end]: span for span in spans}


def _assert_spans_are_segments(text: str, spans: list[LabelledSpan]) -> None:
    segments = split_document(text, RULES.max_chars)
    assert [(span.start, span.end) for span in spans] == [(s.start, s.end) for s in segments]


def test_story_lines_are_main_and_navigation_is_boilerplate() -> None:
    text = "Home\nWorld\nSport\n" + "\n".join(PARAGRAPHS) + "\nSubscribe to our newsletter today\n"
    alignment = align_document(text, GOLD, RULES)
    _assert_spans_are_segments(text, alignment.spans)
    labels = _by_text(text, alignment.spans)
    assert all(labels[p].label is SegmentLabel.MAIN and labels[p].weight == 1.0 for p in PARAGRAPHS)
    for line in ("Home", "World", "Sport", "Subscribe to our newsletter today"):
        assert labels[line].label is SegmentLabel.BOILERPLATE and labels[line].weight == 1.0
    assert alignment.gold_recall == 1.0


def test_partly_main_line_is_ambiguous_with_the_configured_weight() -> None:
    partial = PARAGRAPHS[1] + " Share this story on social media with friends and family now please"
    text = "\n".join([PARAGRAPHS[0], partial, PARAGRAPHS[2]])
    rules = AlignmentRules(max_chars=200, ambiguous_weight=0.25)
    span = _by_text(text, align_document(text, GOLD, rules).spans)[partial]
    assert span.ambiguous and span.weight == 0.25
    assert span.label is SegmentLabel.MAIN  # 13 of 24 words are gold: the majority decides


def test_repeated_paragraph_is_a_boilerplate_duplicate() -> None:
    text = "\n".join([*PARAGRAPHS, "Related stories", PARAGRAPHS[1]])
    spans = align_document(text, GOLD, RULES).spans
    first, second = (span for span in spans if text[span.start : span.end] == PARAGRAPHS[1])
    assert first.label is SegmentLabel.MAIN
    assert (second.label, second.kind, second.weight) == (
        SegmentLabel.BOILERPLATE,
        SegmentKind.DUPLICATE,
        1.0,
    )


def test_headline_missing_from_gold_is_main_once_near_the_story() -> None:
    headline = "Harbour Bridge Reopens After Repairs"
    page_title = "Harbour Bridge Reopens After Repairs | Coastal Times"
    text = "\n".join([page_title, "Home", "Sport", headline, *PARAGRAPHS, "More news", headline])
    spans = align_document(text, GOLD, RULES).spans
    titled = [
        (text[s.start : s.end], s.label, s.kind)
        for s in spans
        if s.kind in {SegmentKind.HEADLINE, SegmentKind.DUPLICATE}
    ]
    assert titled == [
        (page_title, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE),
        (headline, SegmentLabel.MAIN, SegmentKind.HEADLINE),
        (headline, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE),
    ]


def test_byline_and_date_lines_are_meta_even_when_gold_has_them() -> None:
    gold = GoldInfo("By Jane Doe\n" + GOLD.main_text, GOLD.title, GOLD.author, GOLD.published)
    text = "\n".join(["By Jane Doe", "September 4, 2025 5:50 am", *PARAGRAPHS])
    labels = _by_text(text, align_document(text, gold, RULES).spans)
    for line in ("By Jane Doe", "September 4, 2025 5:50 am"):
        assert (labels[line].label, labels[line].kind) == (SegmentLabel.BOILERPLATE, SegmentKind.META)
    assert not is_meta_line(
        "Jane Doe said the bridge had been closed for far too long", ["jane", "doe"], set()
    )


def test_text_without_newlines_is_labelled_by_sentence() -> None:
    text = (
        "Home World Sport Weather. "
        + " ".join(PARAGRAPHS)
        + " Subscribe to our newsletter for daily updates."
    )
    assert "\n" not in text
    alignment = align_document(text, GOLD, RULES)
    _assert_spans_are_segments(text, alignment.spans)
    labels = [(text[s.start : s.end], s.label) for s in alignment.spans]
    assert [line for line, label in labels if label is SegmentLabel.MAIN] == PARAGRAPHS
    assert labels[0][1] is SegmentLabel.BOILERPLATE and labels[-1][1] is SegmentLabel.BOILERPLATE


def test_word_less_lines_are_junk_and_lost_story_has_low_recall() -> None:
    text = "• • •\nHome\nSport\nContact us"
    alignment = align_document(text, GOLD, RULES)
    assert alignment.spans[0].kind is SegmentKind.JUNK
    assert all(span.label is SegmentLabel.BOILERPLATE for span in alignment.spans)
    assert alignment.gold_recall == 0.0


def test_iso_date_reads_the_first_date_and_refuses_impossible_months() -> None:
    """The one reading of `published` that the alignment and the mixer's bylines share."""
    assert iso_date("2025-09-04T08:30:00+02:00") == (2025, 9, 4)
    assert iso_date("Updated 2024-3-7") == (2024, 3, 7)
    assert iso_date("2024-13-01") is None
    assert iso_date("") is None

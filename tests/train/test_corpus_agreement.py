"""Agreement labels on a hand-made page: story main, menu/related/comments boilerplate, failures skipped."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from datasets import Dataset

from storysplit.features.segmentation import split_document
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus import agreement
from storysplit.train.corpus.agreement import (
    EXTRACTORS,
    PageSource,
    agreement_reference,
    agreement_rows,
    combine_votes,
    extract_page,
    page_rows,
)
from storysplit.train.corpus.alignment import AlignmentRules, LabelledSpan
from storysplit.train.corpus.schema import CORPUS_FEATURES

FIXTURE = Path(__file__).parent / "fixtures" / "agreement_article.html"
RULES = AlignmentRules(max_chars=400, ambiguous_weight=0.0)
RENDERERS = ("html_text", "dom_lines", "inscriptis", "single_line", "lenient")
STORY_STARTS = (
    "The harbour bridge reopened",
    "Engineers replaced more",
    "Local businesses welcomed",
    "The council's transport officer",
    "Residents who had campaigned",
)
MENU = ("Home", "World", "Sport", "Weather", "Opinion")
RELATED = (
    "Related stories",
    "Ferry timetable changes announced for winter",
    "Library extends weekend opening hours",
)
COMMENTS = ("3 Comments", "pete_r says: Still no cycle lane though.", "Leave a reply")
MENU_ONLY_PAGE = (
    "<html><head><title>Menu</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
    "<li><a href='/b'>Blog</a></li></ul></nav><div>Sign in</div></body></html>"
)


@pytest.fixture(scope="module")
def article() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _labelled_lines(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["text"][span["start"] : span["end"]]: span for span in row["spans"]}


def _assert_valid_spans(row: dict[str, Any]) -> None:
    """The checks every corpus row passes: spans are exactly the segments, each validly labelled."""
    text, spans = row["text"], row["spans"]
    segments = split_document(text, RULES.max_chars)
    assert [(span["start"], span["end"]) for span in spans] == [(s.start, s.end) for s in segments], row["id"]
    for span in spans:
        SegmentLabel(span["label"])
        SegmentKind(span["kind"])
        assert 0.0 <= span["weight"] <= 1.0
    assert any(span["label"] == "main" and span["weight"] == 1.0 for span in spans), row["id"]


def test_story_is_main_and_menu_related_and_comments_are_boilerplate(article: str) -> None:
    page = PageSource("coastal/bridge", "coastaltimes.co.uk", "coastal/bridge.html")
    rows, skipped = page_rows(article, page, ("html_text",), RULES)
    assert skipped == [] and len(rows) == 1
    lines = _labelled_lines(rows[0])
    story = [span for line, span in lines.items() if line.startswith(STORY_STARTS)]
    assert len(story) == len(STORY_STARTS)
    assert all(span["label"] == "main" and span["weight"] == 1.0 for span in story)
    headline = lines["Harbour Bridge Reopens After Eight Months of Repairs"]
    assert (headline["label"], headline["kind"]) == ("main", "headline")
    for line in (*MENU, *RELATED, *COMMENTS):
        assert (lines[line]["label"], lines[line]["weight"]) == ("boilerplate", 1.0), line


def test_reference_text_is_the_agreed_story_once(article: str) -> None:
    extraction = extract_page(article)
    assert set(extraction.texts) == set(EXTRACTORS) and extraction.failures == {}
    reference = agreement_reference(extraction.texts, RULES).splitlines()
    assert [line for line in reference if line.startswith(STORY_STARTS)] == reference
    assert len(reference) == len(STORY_STARTS)


def test_every_renderer_row_passes_the_corpus_span_checks(article: str) -> None:
    page = PageSource("bridge", "coastaltimes.co.uk", "bridge.html")
    rows, skipped = page_rows(article, page, RENDERERS, RULES)
    assert skipped == []
    assert [row["renderer"] for row in rows] == list(RENDERERS)
    for row in rows:
        _assert_valid_spans(row)
        assert row["id"] == f"agreement-bridge-{row['renderer']}"
    assert Dataset.from_list(rows, features=CORPUS_FEATURES).num_rows == len(RENDERERS)


def test_two_votes_make_main_one_vote_is_ambiguous_none_is_boilerplate() -> None:
    rules = AlignmentRules(max_chars=400, ambiguous_weight=0.25)
    main = LabelledSpan(0, 5, SegmentLabel.MAIN, SegmentKind.BODY)
    menu = LabelledSpan(0, 5, SegmentLabel.BOILERPLATE, SegmentKind.UNKNOWN)
    meta = LabelledSpan(0, 5, SegmentLabel.BOILERPLATE, SegmentKind.META)
    assert combine_votes([main, main, menu], rules) == main
    assert combine_votes([menu, meta, meta], rules) == meta
    one = combine_votes([main, menu, menu], rules)
    assert (one.label, one.weight, one.ambiguous) == (SegmentLabel.BOILERPLATE, 0.25, True)
    split = combine_votes([main, menu], rules)  # two extractors worked: both must keep it
    assert (split.label, split.weight, split.ambiguous) == (SegmentLabel.BOILERPLATE, 0.25, True)


def test_one_failing_extractor_is_tolerated_and_recorded(
    article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(html: str) -> str:
        raise RuntimeError("parser crashed")

    monkeypatch.setitem(agreement.EXTRACTOR_FUNCTIONS, "goose3", broken)
    extraction = extract_page(article)
    assert list(extraction.texts) == ["trafilatura", "readability"]
    assert extraction.failures == {"goose3": "RuntimeError: parser crashed"}
    rows, skipped = page_rows(article, PageSource("bridge", "x.com", ""), ("html_text",), RULES)
    assert skipped == [] and len(rows) == 1


def test_page_where_extractors_fail_is_skipped_with_a_reason() -> None:
    rows, skipped = page_rows(MENU_ONLY_PAGE, PageSource("menu", "x.com", ""), RENDERERS, RULES)
    assert rows == []
    assert len(skipped) == 1 and skipped[0][0] == "agreement-menu"
    assert "fewer than 2 extractors produced text" in skipped[0][1]
    assert "goose3: no text" in skipped[0][1]


def test_folder_pages_read_in_path_order_with_domains_and_skips(article: str, tmp_path: Path) -> None:
    html_dir = tmp_path / "crawl"
    (html_dir / "site").mkdir(parents=True)
    (html_dir / "site" / "b.html.gz").write_bytes(gzip.compress(article.encode("utf-8")))
    no_url = article.replace('<meta property="og:url"', '<meta property="og:other"')
    (html_dir / "a.html").write_text(no_url, encoding="utf-8")
    (html_dir / "site" / "menu.html").write_text(MENU_ONLY_PAGE, encoding="utf-8")
    (html_dir / "notes.txt").write_text("not a page", encoding="utf-8")
    (html_dir / "broken.html").write_bytes(b"\x00\x01binary" * 50)
    rows, skipped = agreement_rows(html_dir, ("html_text", "dom_lines"), RULES, data_dir=tmp_path)
    assert [row["id"] for row in rows] == [
        "agreement-a-html_text",
        "agreement-a-dom_lines",
        "agreement-site/b-html_text",
        "agreement-site/b-dom_lines",
    ]
    assert [row["domain"] for row in rows[::2]] == ["agreement:a", "coastaltimes.co.uk"]
    assert [row["html_path"] for row in rows[::2]] == ["crawl/a.html", "crawl/site/b.html.gz"]
    assert [page_id for page_id, _ in skipped] == ["agreement-broken", "agreement-site/menu"]
    assert "binary content" in skipped[0][1]
    for row in rows:
        _assert_valid_spans(row)


def test_reference_keeps_each_agreed_paragraph_once_however_it_is_cut() -> None:
    first = "The harbour bridge reopened to traffic on Thursday after eight months of repairs to its deck."
    second = "Engineers replaced more than two hundred corroded bolts and repainted the main span."
    junk = "Share this story with friends on social media and subscribe to our daily newsletter"
    texts = {
        "trafilatura": f"{first} {junk}\n{second}",  # junk glued on: this copy of `first` is not agreed
        "readability": f"{first}\n{second}",
    }
    assert agreement_reference(texts, RULES).splitlines() == [second, first]

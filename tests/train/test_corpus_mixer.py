"""Mixtures: reproducible from their seed, exactly labelled, built from other sites only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from storysplit.features.segmentation import split_document
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus.mixer import BoilerplatePool, MixerSettings, Story, compose_mixture


def _story(number: int, domain: str) -> Story:
    paragraphs = tuple(
        f"Story {number} paragraph {p} tells how the council of town {number} voted on item {p} today."
        for p in range(5)
    )
    return Story(
        doc_id=f"wcxb-{number:04d}",
        source="wcxb",
        domain=domain,
        html_path=f"wcxb-articles-dev/html/{number:04d}.html.gz",
        title=f"Council of town {number} votes on budget | Site {number}",
        author=f"Reporter{number} Surname",
        published="2025-06-07",
        site_name="",
        paragraphs=paragraphs,
        language="en",
        gold_origin="hand",
    )


def _mixtures(
    stories: list[Story], pool: BoilerplatePool, seed: int, index: int = 0
) -> list[tuple[Story, dict[str, Any]]]:
    """Each story with its mixture, where one is made (a one-line mixture can hold no main segment)."""
    rows = [
        (story, compose_mixture(story, index, stories, pool, MixerSettings(seed, 1000))) for story in stories
    ]
    return [(story, row) for story, row in rows if row is not None]


@pytest.fixture(scope="module")
def stories() -> list[Story]:
    return [_story(number, f"site{number % 6}.example.com") for number in range(24)]


@pytest.fixture(scope="module")
def pool() -> BoilerplatePool:
    pool = BoilerplatePool()
    for site in range(6):
        domain = f"site{site}.example.com"
        for line in ("Home", "World news", "Latest stories", "Sign up for our free newsletter today"):
            pool.add_line(domain, f"{line} {site}")
        pool.add_line(domain, f"Share this article with friends {site}")
        pool.add_tail(domain, [f"Tail comment header {site}", "Great piece, thanks!", "Reply", "Footer"])
    return pool


def test_same_seed_gives_identical_mixtures(stories: list[Story], pool: BoilerplatePool) -> None:
    settings = MixerSettings(seed=13, max_chars=1000)
    first = [compose_mixture(story, 0, stories, pool, settings) for story in stories]
    again = [compose_mixture(story, 0, stories, pool, settings) for story in stories]
    assert first == again


def test_a_story_lost_inside_boilerplate_segments_makes_no_mixture(
    stories: list[Story], pool: BoilerplatePool
) -> None:
    """On one line, a story of a few short lines sits inside segments that are mostly boilerplate."""
    stats = replace(stories[0], paragraphs=("TCKL", "6", "SCK"))
    rows = [compose_mixture(stats, 0, stories, pool, MixerSettings(seed, 1000)) for seed in range(200)]
    made = [row for row in rows if row is not None]
    assert len(made) < len(rows)
    assert all(any(span["label"] == "main" for span in row["spans"]) for row in made)


def test_other_seed_or_index_gives_other_mixtures(stories: list[Story], pool: BoilerplatePool) -> None:
    texts = {
        (seed, index): [row["text"] for _, row in _mixtures(stories, pool, seed, index)]
        for seed, index in ((13, 0), (14, 0), (13, 1))
    }
    assert texts[13, 0] != texts[14, 0]
    assert texts[13, 0] != texts[13, 1]


def test_mixture_spans_are_segments_with_known_labels(stories: list[Story], pool: BoilerplatePool) -> None:
    kinds: set[str] = set()
    for seed in range(10):
        for story, row in _mixtures(stories, pool, seed):
            segments = split_document(row["text"], 1000)
            assert [(s["start"], s["end"]) for s in row["spans"]] == [(g.start, g.end) for g in segments]
            for span in row["spans"]:
                SegmentLabel(span["label"])
                kinds.add(SegmentKind(span["kind"]).value)
            assert row["renderer"] == "mixture" and row["domain"] == story.domain
            main = [row["text"][s["start"] : s["end"]] for s in row["spans"] if s["label"] == "main"]
            if "\n" in row["text"]:  # single-line mixtures are cut into sentences, not paragraphs
                assert set(story.paragraphs) <= set(main)
    expected = {"headline", "body", "meta", "menu", "related", "widget", "promo", "duplicate", "comments"}
    assert expected <= kinds


def test_boilerplate_never_comes_from_the_story_own_site(stories: list[Story], pool: BoilerplatePool) -> None:
    for seed in range(10):
        for story, row in _mixtures(stories, pool, seed):
            text = row["text"]
            site = story.domain.split(".")[0].removeprefix("site")
            assert f"Home {site}" not in text and f"Share this article with friends {site}" not in text
            assert f"Tail comment header {site}" not in text
            same_site = [other for other in stories if other.domain == story.domain and other is not story]
            assert not any(other.title.split(" | ")[0] in text for other in same_site)
            assert not any(other.paragraphs[0][:20] in text for other in same_site)


def test_real_tails_and_comment_threads_appear_labelled_boilerplate(
    stories: list[Story], pool: BoilerplatePool
) -> None:
    tails = comments = 0
    for seed in range(20):
        for _, row in _mixtures(stories[:6], pool, seed):
            spans = {row["text"][s["start"] : s["end"]]: s for s in row["spans"]}
            tail = next((line for line in spans if line.startswith("Tail comment header")), None)
            if tail is not None:
                tails += 1
                assert (
                    spans[tail]["label"] == "boilerplate"
                    and spans["Great piece, thanks!"]["label"] == "boilerplate"
                )
            thread = [s for s in row["spans"] if s["kind"] == "comments"]
            comments += bool(thread)
            assert all(s["label"] == "boilerplate" for s in thread)
    assert tails > 0 and comments > 0


def test_a_tail_needs_three_lines_and_keeps_forty() -> None:
    pool = BoilerplatePool()
    pool.add_tail("a.com", ["one", "two"])
    pool.add_tail("b.com", [f"line {i}" for i in range(100)])
    assert [domain for domain, _ in pool.tails] == ["b.com"]
    assert len(pool.tails[0][1]) == 40


def test_pool_files_lines_by_shape() -> None:
    pool = BoilerplatePool()
    for line in (
        "Sport",
        "Related articles",
        "Subscribe to our newsletter now",
        "Share on Facebook and Twitter today",
        "x" * 120,
    ):
        pool.add_line("example.com", line)
    assert pool.menu == [("example.com", "Sport")]
    assert pool.header == [("example.com", "Related articles")]
    assert pool.promo == [("example.com", "Subscribe to our newsletter now")]
    assert pool.widget == [("example.com", "Share on Facebook and Twitter today")]

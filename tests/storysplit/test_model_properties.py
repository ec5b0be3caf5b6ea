"""Invariants of `segment` and `extract` on any string: hostile cases by name, then property-based."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit import StorySplitModel, load_model
from tests.conftest import REPO
from tests.hostile import hostile_texts
from tests.invariants import check_labelled, check_segments


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> StorySplitModel:
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def shipped() -> StorySplitModel:
    return load_model(REPO / "models" / "default")


def _prose_line(rng: random.Random, characters: int) -> str:
    words = ["the", "council", "met", "on", "monday", "to", "discuss", "a", "budget", "that", "was", "unfair"]
    sentences, size = [], 0
    while size < characters:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 24))).capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)[:characters]


STORY = "The council met on Monday to discuss the budget, which residents said was unfair to renters."
HOSTILE_DOCUMENTS = {
    "empty": "",
    "whitespace only": " \t\n\r\n\u3000\u2028 ",
    "NUL characters": "Headline\x00\nA story \x00 paragraph that reads like prose.\n\x00",
    "no newlines": " ".join([STORY] * 80),
    "CR only": f"Headline\r\r{STORY}\rMore | Menu\r",
    "CRLF": f"Headline\r\n\r\n{STORY}\r\n\r\nShare this\r\n",
    "mixed scripts": "مرحبا بالعالم، هذه قصة.\nবাংলা ভাষায় একটি খবর।\n日本語の記事です。中文新闻。\n😀🎉👍🏽\n"
    + STORY,
    "only boilerplate": "Home\nNews\nSport\nWeather\nSubscribe to our newsletter\nShare this\n© 2025\n",
    "only story": f"{STORY}\n\n" * 12,
    "lone surrogates": f"Headline \ud800\n{STORY} \udfff\n" + "word \ud83d " * 400,
}


@pytest.mark.parametrize("name", HOSTILE_DOCUMENTS)
def test_hostile_documents_keep_the_invariants(
    tiny: StorySplitModel, shipped: StorySplitModel, name: str
) -> None:
    for model in (tiny, shipped):
        check_labelled(model, HOSTILE_DOCUMENTS[name])


def test_empty_documents_have_no_segments(shipped: StorySplitModel) -> None:
    assert shipped.segment_many(["", " \n\r\n\t"]) == [[], []]
    assert shipped.extract("\n\n") == ""


@pytest.mark.slow
def test_a_one_megabyte_line_is_split_into_sentences(tiny: StorySplitModel) -> None:
    text = _prose_line(random.Random(0), 1_000_000)
    assert "\n" not in text
    labelled = tiny.segment(text)
    check_segments(tiny, text, labelled, tiny.threshold)
    assert len(labelled) > 10_000


def _documents() -> st.SearchStrategy[str]:
    """Page-like text: story, menu and widget lines and hostile pieces, with any line ends."""
    lines = st.one_of(
        st.sampled_from(
            [STORY, "Home | News | Sport", "Share this", "Most viewed", "By Jane Doe, 7 June 2025"]
        ),
        hostile_texts(max_pieces=12),
    )
    ends = st.sampled_from(["\n", "\r\n", "\r", "\n\n", " ", "\u2028"])
    return st.lists(st.tuples(lines, ends), max_size=25).map(lambda pairs: "".join(a + b for a, b in pairs))


@settings(max_examples=150, deadline=None)
@given(st.one_of(_documents(), hostile_texts()), st.sampled_from([None, 0.01, 0.5, 0.99]))
def test_any_string_keeps_the_invariants_tiny_model(
    tiny: StorySplitModel, text: str, threshold: float | None
) -> None:
    check_labelled(tiny, text, threshold)


@settings(max_examples=40, deadline=None)
@given(st.one_of(_documents(), hostile_texts()))
def test_any_string_keeps_the_invariants_shipped_model(shipped: StorySplitModel, text: str) -> None:
    check_labelled(shipped, text)

"""The batched shape features against a per-text reference written the obvious way."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features import shape
from storysplit.features.shape import (
    MAX_HEADER_WORDS,
    SHAPE_FEATURES,
    SHORT_WORD_CHARS,
    WIDGET_TERMS,
    shape_features,
    shape_features_and_words,
    widget_terms,
)
from storysplit.features.words import TOKEN, words

# The time, date and comment-cue patterns as first written, one alternation each; shape.py runs them as a few
# patterns that `re` can skip to, which must find a match in exactly the same texts.
REFERENCE_TIME = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2} ?h ?\d{2}\b|\b(ago|am|pm|gmt|utc|edt|est|ist|uhr|hace)\b|\d{1,2}時",
    re.IGNORECASE,
)
REFERENCE_COMMENT_CUE = re.compile(
    r"\b(says|said|wrote|writes|schrieb|a écrit|escribió|ha scritto|napisał)[ \t]*:[ \t]*$|"
    r"^(reply|antworten|répondre|responder|rispondi|odpowiedz|svara|svar|beantworten)$|"
    r"\b\d+[ \t]+(votes?|likes?|replies|points|stimmen)\b|\b(rating|bewertung)[ \t]*:|"
    r"^(report|report abuse|melden|signaler|flag)$|\b(commented|kommentierte|reply to)\b|"
    r"^@ ?\w|返信|いいね|通報|回复|답글",
    re.IGNORECASE,
)
REFERENCE_DATE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b\d{1,2}\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b\d{4}-\d{2}-\d{2}\b|"
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(19|20)\d{2}\b|\b\d{1,2}\.\d{1,2}\.(\d{2,4})?(?!\d)|\d{1,2}月\d{1,2}日",
    re.IGNORECASE,
)


def reference_shape(texts: list[str]) -> np.ndarray:
    """One text at a time, each pattern run on the text alone (the definition of every column)."""
    patterns = (shape._TERMINAL, shape._BULLET, shape._BYLINE, shape._COMMENT_HEADER)
    flags = {p: p.flags & ~re.MULTILINE for p in patterns}
    terminal, bullet, byline, header = (re.compile(p.pattern, f) for p, f in flags.items())
    cue = REFERENCE_COMMENT_CUE
    rows = np.zeros((len(texts), len(SHAPE_FEATURES)))
    for i, line in enumerate(texts):
        words = TOKEN.findall(line)
        n_words = len(words)
        letters = sum(ch.isalpha() for ch in line)
        chars = max(len(line), 1)
        rows[i] = (
            np.log1p(len(line)),
            np.log1p(n_words),
            (sum(len(w) for w in words) / n_words) if n_words else 0.0,
            bool(terminal.search(line)),
            line.endswith(":"),
            bool(bullet.match(line)),
            (sum(ch.isupper() for ch in line) / letters) if letters else 0.0,
            (sum(w[0].isupper() for w in words) / n_words) if n_words else 0.0,
            sum(ch.isdigit() for ch in line) / chars,
            sum(not ch.isalnum() and not ch.isspace() for ch in line) / chars,
            np.log1p(len(shape._SEPARATORS.findall(line))),
            bool(shape._URL.search(line)),
            bool(shape._EMAIL.search(line)),
            bool(REFERENCE_TIME.search(line)),
            bool(REFERENCE_DATE.search(line)),
            bool(byline.match(line)),
            np.log1p(len(shape.WIDGETS.pattern.findall(line))),
            (sum(len(w.lower()) <= SHORT_WORD_CHARS for w in words) / n_words) if n_words else 0.0,
            np.log1p(len(shape._SENTENCE_ENDS.findall(line))),
            bool(cue.search(line)),
            bool(header.search(line)) and n_words <= MAX_HEADER_WORDS,
        )
    return rows


HOSTILE = [
    "",
    "A full sentence ends here.",
    "• Latest",
    "Published On: 07 Jun 2025, 13:32",
    "By Jane Doe | Updated 10:30 am GMT",
    "Sign up for our newsletter — read more stories. © 2024 All rights reserved",
    "Contact: news@example.com or visit https://www.example.co.uk/about-us",
    "İstanbul ſhare ıst Kelvin 12 ſept 2020",  # characters re.IGNORECASE folds and str.lower() does not
    "ADVERTISEMENT — Advertisers: SIGNUP / LOGIN",
    "𝐁𝐨𝐥𝐝 maths, emoji 😀, ٣ ١٢ Arabic digits, ǅ titlecase, Ⅻ roman",
    "snake_case words and __dunder__ names",
    "\x00 NUL \t tabs\x00",
    "Jan\t12",
    "question? yes! 結論。",
    "thelastchargersfan says:",
    "12 Comments",
    "コメント (3)",
    "Rating: 36 Votes",
    "Teilen Sie diesen Artikel · Kommentare · 19.11.2019 um 14:30 Uhr",
    "関連記事：ランキング 11月19日 6時",
    "Reply",
    "REPORT ABUSE",
    "@maria you are right",
    "he commented on it",
    "返信する",
    "ſays:",
]

_LINE_CHARS = st.characters(blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_CUES = [
    "says",
    ":",
    "Reply",
    "votes",
    "rating",
    "Report abuse",
    "commented",
    "reply to",
    "返信",
    "답글",
    "flag",
]
_WORDISH = st.sampled_from(
    [
        "share",
        "Jan",
        "12",
        "10:30",
        "am",
        "by",
        "@",
        "www.",
        ".com",
        "İ",
        "ſ",
        "K",
        "|",
        ".",
        "read more",
        "Sept.",
        "2024-01-31",
        "1/31/24",
        "31.1.",
        "1月31日",
        "6時",
        "14h30",
        "12 votes",
        "x12 likes",
        "ago",
        "UTC",
        "hace",
        "x1999",
        "Werbung",
        "PAYLAŞ",
        "s'abonner",
        "mehr zum",
        "関連記事",
        "Datenschutz",
        "©",
        *_CUES,
        *(term.replace("*", "ing") for term in WIDGET_TERMS),
    ]
)
_LINES = st.lists(st.one_of(_WORDISH, st.text(_LINE_CHARS, max_size=6)), max_size=12).map(" ".join)


def test_batched_features_equal_the_reference_on_hostile_lines() -> None:
    np.testing.assert_array_equal(shape_features(HOSTILE), reference_shape(HOSTILE))
    ending_empty = [*HOSTILE, "12 Comments", ""]
    np.testing.assert_array_equal(shape_features(ending_empty), reference_shape(ending_empty))


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, max_size=8))
def test_batched_features_equal_the_reference_on_any_lines(texts: list[str]) -> None:
    np.testing.assert_array_equal(shape_features(texts), reference_shape(texts))


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, max_size=8))
def test_words_split_out_with_the_features_are_each_texts_words(texts: list[str]) -> None:
    rows, per_text = shape_features_and_words([*texts, *HOSTILE])
    assert per_text == [words(text) for text in [*texts, *HOSTILE]]
    np.testing.assert_array_equal(rows, shape_features([*texts, *HOSTILE]))


def test_columns_see_terminal_punctuation_bullets_and_dates() -> None:
    rows = shape_features(["A full sentence ends here.", "• Latest", "Published On: 07 Jun 2025, 13:32"])
    column = {name: rows[:, i] for i, name in enumerate(SHAPE_FEATURES)}
    assert column["ends_terminal"].tolist() == [1, 0, 0]
    assert column["starts_bullet"].tolist() == [0, 1, 0]
    assert column["has_date"].tolist() == [0, 0, 1]
    assert column["has_time"].tolist() == [0, 0, 1]


def test_words_of_any_script_count_and_comment_cues_show() -> None:
    rows = shape_features(
        ["東京で新しい駅が開業した。", "Reply", "12 Comments", "Kommentare (12)", "A long line."]
    )
    column = {name: rows[:, i] for i, name in enumerate(SHAPE_FEATURES)}
    assert np.expm1(column["log_words"][0]) == pytest.approx(12)  # one word per CJK character
    assert column["comment_cue"].tolist() == [0, 1, 0, 0, 0]
    assert column["comment_header"].tolist() == [0, 0, 1, 1, 0]


def test_no_texts_give_no_rows() -> None:
    assert shape_features([]).shape == (0, len(SHAPE_FEATURES))


WIDGET_COLUMN = SHAPE_FEATURES.index("log_widget_terms")
# Not in the shipped list: a word, a phrase, a "*" term, a word of another script, a CJK and a Hangul
# term, and one with an apostrophe.
# Scripts whose terms match inside longer words: CJK writes no spaces, Korean attaches particles.
_WRITTEN_WITHOUT_SPACES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
NEW_TERMS = ("zorblat", "frob nicate", "quux*", "żółwik", "ゾルブ", "솔솔", "l'zorb")


def _spelled(term: str) -> str:
    return term.replace("*", "ing")  # a "*" term with a rest of the word


def _widget_counts(texts: list[str]) -> np.ndarray:
    return np.expm1(shape_features(texts)[:, WIDGET_COLUMN]).round()


def _forms(term: str) -> list[str]:
    """The places a widget term shows up in: alone, in any case, between punctuation, in a line."""
    text = _spelled(term)
    return [
        text,
        text.capitalize(),
        text.title(),
        text.upper(),
        f"{text}!",
        f"» {text} (3)",
        f"Please {text} here.",
    ]


def _fires_where_it_should(term: str) -> None:
    assert _widget_counts(_forms(term)).tolist() == [1] * len(_forms(term)), term
    anywhere = not term[0].isalpha() or unicodedata.name(term[0]).startswith(_WRITTEN_WITHOUT_SPACES)
    assert _widget_counts([f"x{_spelled(term)}x"]).tolist() == [1 if anywhere else 0], term


def test_widget_terms_are_lowercase_and_listed_once() -> None:
    """The lowered texts are matched case-sensitively: a term with a capital would never match there."""
    assert all(term and term == term.lower().strip() for term in WIDGET_TERMS)
    assert len(set(WIDGET_TERMS)) == len(WIDGET_TERMS)


@pytest.mark.parametrize("term", WIDGET_TERMS)
def test_every_listed_widget_term_fires_in_each_form(term: str) -> None:
    _fires_where_it_should(term)


def test_a_term_added_to_the_list_fires_in_each_form(monkeypatch: pytest.MonkeyPatch) -> None:
    forms = [form for term in NEW_TERMS for form in _forms(term)]
    assert not _widget_counts(forms).any()
    monkeypatch.setattr(shape, "WIDGETS", widget_terms((*WIDGET_TERMS, *NEW_TERMS)))
    for term in NEW_TERMS:
        _fires_where_it_should(term)
    np.testing.assert_array_equal(shape_features(forms), reference_shape(forms))

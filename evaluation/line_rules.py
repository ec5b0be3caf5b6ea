"""C4 and Gopher quality heuristics applied line by line as plain-text boilerplate filters.

Both rule sets were written to clean web text for language-model pretraining; they are the
obvious thing to try before a model, so the model has to beat them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storysplit.evaluation.methods import SegmentDecisions, SegmentedText, line_texts

C4_END_MARKS = (".", "?", "!", '"')
C4_ELLIPSIS = "..."
C4_POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
C4_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")

GOPHER_BULLETS = ("•", "‣", "◦", "●", "▪", "■", "·", "-", "*")
GOPHER_ELLIPSES = ("...", "…")


def c4_keeps_line(line: str, min_words: int = 3, max_word_length: int = 1000) -> bool:
    """Whether C4's `clean_page` (T5 paper, tfds `c4_utils`) would keep this line.

    Line rules: citation markers removed first; keep only lines ending in `.`, `?`, `!` or `"`
    (not `...`) with at least `min_words` words, no word longer than `max_word_length`, no
    "javascript" and no cookie/terms-of-use phrase. The page rules become line rules here (a
    line with "lorem ipsum" or a curly brace is dropped, not the page), because the task is to
    pick lines within a page. The bad-words page filter and the five-sentence page minimum decide
    whether to keep a page at all, so they have no line-level counterpart and are left out.
    """
    line = C4_CITATION.sub("", line).strip()
    lower = line.lower()
    words = line.split()
    return (
        line.endswith(C4_END_MARKS)
        and not line.endswith(C4_ELLIPSIS)
        and len(words) >= min_words
        and "lorem ipsum" not in lower
        and "javascript" not in lower
        and "{" not in line
        and not any(phrase in lower for phrase in C4_POLICY_SUBSTRINGS)
        and all(len(word) <= max_word_length for word in words)
    )


@dataclass(frozen=True, slots=True)
class GopherThresholds:
    """Gopher (Rae et al. 2021, MassiveText) document thresholds, reused per line.

    The document rule's 50-word minimum would drop every line; `min_words` is set so that menu
    items and bylines fail and headlines pass.
    """

    min_words: int = 5
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_ratio: float = 0.1
    min_alphabetic_ratio: float = 0.8


def gopher_keeps_line(line: str, thresholds: GopherThresholds | None = None) -> bool:
    """Whether a line passes the line-level variants of the Gopher quality rules.

    Dropped: lines that start with a bullet or end with an ellipsis (the Gopher page rules
    count such lines), lines whose hash/ellipsis-to-word ratio exceeds 0.1, lines with fewer
    than `min_words` words or a mean word length outside [3, 10], and lines where fewer than 80%
    of words contain a letter. The stop-word rule (two of "the", "be", "to", ...) is left out:
    on single lines it drops most headlines, which are main text here.
    """
    limits = thresholds or GopherThresholds()
    stripped = line.strip()
    words = stripped.split()
    if not words:
        return False
    symbols = stripped.count("#") + sum(stripped.count(e) for e in GOPHER_ELLIPSES)
    mean_length = sum(len(w) for w in words) / len(words)
    alphabetic = sum(any(ch.isalpha() for ch in w) for w in words) / len(words)
    return (
        not stripped.startswith(GOPHER_BULLETS)
        and not stripped.endswith(GOPHER_ELLIPSES)
        and symbols / len(words) <= limits.max_symbol_ratio
        and len(words) >= limits.min_words
        and limits.min_mean_word_length <= mean_length <= limits.max_mean_word_length
        and alphabetic >= limits.min_alphabetic_ratio
    )


class C4Lines:
    """Keeps the lines C4's rules keep."""

    name = "c4_lines"
    graded = False

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return [_by_line(document, c4_keeps_line) for document in documents]


class GopherLines:
    """Keeps the lines that pass the Gopher rules."""

    name = "gopher_lines"
    graded = False

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return [_by_line(document, gopher_keeps_line) for document in documents]


def _by_line(document: SegmentedText, keeps_line: Callable[[str], bool]) -> SegmentDecisions:
    keep = [False] * len(document.segments)
    for group, line in line_texts(document):
        verdict = keeps_line(line)
        for index in group:
            keep[index] = verdict
    return SegmentDecisions.from_keep(keep)

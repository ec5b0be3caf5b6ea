"""Label every segment of a rendered page by aligning its words with the gold main content.

The gold is document-level text, so labels come from a monotonic alignment of two token
streams (lowercased words; CJK characters one token each): the page's and the gold's. A
segment's *match ratio* is the share of its tokens that the alignment pairs with gold tokens.

- ratio >= `min_match_ratio`: `main` (`body`).
- ratio <= `max_boilerplate_ratio`: `boilerplate`; `duplicate` when its words are gold words
  already matched elsewhere (a repeated paragraph), else `unknown`.
- in between: ambiguous, labelled by majority, weight `ambiguous_weight`. The same goes for
  gold text the alignment could only place out of order.
- The line matching the page title closest to the story start is `main`/`headline` (the gold
  often omits it); other title lines are `boilerplate`/`duplicate`.
- Short lines made of the author's name, the publication date or a time are `boilerplate`/`meta`.
- Segments with no word at all (bullets, separators) are `boilerplate`/`junk`.
- Boilerplate the gold marks as a finer class (`GoldInfo.kinds`: comments, related links,
  supplemental lines) takes that kind; a segment of text the annotators were uncertain about is
  `boilerplate`/`uncertain` and ambiguous, so training skips it.

Matching blocks of a single token are ignored: an isolated common word is chance, not alignment.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from storysplit.features.segmentation import Segment, split_document
from storysplit.features.words import TOKEN, words
from storysplit.labels import SegmentKind, SegmentLabel

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_META_WORD = re.compile(
    r"by|and|posted|published|updated|on|at|am|pm|gmt|utc|est|edt|bst|cet|ist|et|pt|last|modified|"
    r"written|reviewed|edited|staff|reporter|writer|correspondent|the|ago|mins?|minutes?|hours?|days?|read"
)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME_ONLY = re.compile(
    r"^\W*(\d{1,2}[:.]\d{2}(\s?[ap]\.?m\.?)?|\d+\s+(second|minute|hour|day|week|month|year)s?\s+ago)\W*$",
    re.IGNORECASE,
)
_TITLE_SEPARATORS = re.compile(r"\s+[|–—:-]\s+|\s*::\s*")
MIN_BLOCK_TOKENS = 2
HEADLINE_WINDOW = 12
MAX_META_TOKENS = 14
MAX_TITLE_EXTRA_WORDS = 5


@dataclass(frozen=True)
class GoldInfo:
    """What the source says about the page: main text and metadata (empty strings when unknown)."""

    main_text: str
    title: str = ""
    author: str = ""
    published: str = ""
    without: tuple[str, ...] = ()
    kinds: tuple[tuple[SegmentKind, tuple[str, ...]], ...] = ()
    """Text blocks the source marks as one kind of non-main text, by kind, in order of precedence."""


@dataclass(frozen=True)
class AlignmentRules:
    """Thresholds from `CorpusConfig` and the segmenter's `max_chars`."""

    max_chars: int
    min_match_ratio: float = 0.8
    max_boilerplate_ratio: float = 0.2
    ambiguous_weight: float = 0.0


@dataclass(frozen=True)
class LabelledSpan:
    """One segment with its label, kind and training weight (0 marks an ambiguous segment)."""

    start: int
    end: int
    label: SegmentLabel
    kind: SegmentKind
    weight: float = 1.0
    ambiguous: bool = False

    def to_row(self) -> dict[str, Any]:
        """The span as a `CORPUS_FEATURES` record."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label.value,
            "kind": self.kind.value,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class Alignment:
    """A labelled document plus how much of the gold the page text covers."""

    spans: list[LabelledSpan]
    gold_recall: float
    """Share of gold tokens matched in the page; low means the renderer lost the story."""


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Lowercased word tokens with their `[start, end)` offsets into `text`."""
    return [(match.group().lower(), match.start(), match.end()) for match in TOKEN.finditer(text)]


def align_document(text: str, gold: GoldInfo, rules: AlignmentRules) -> Alignment:
    """Label each segment of `split_document(text, rules.max_chars)` against `gold` (rules above)."""
    segments = split_document(text, rules.max_chars)
    doc_tokens = tokenize(text)
    gold_words = words(gold.main_text)
    doc_matched, gold_matched = _match_tokens([token for token, _, _ in doc_tokens], gold_words)
    starts = [start for _, start, _ in doc_tokens]
    matched_trigrams, unmatched_trigrams = _gold_trigrams(gold_words, gold_matched)
    without = [set(words(snippet)) for snippet in gold.without]
    spans = []
    for segment in segments:
        first = bisect_left(starts, segment.start)
        last = bisect_left(starts, segment.end)
        segment_words = [token for token, _, _ in doc_tokens[first:last]]
        matched = sum(doc_matched[first:last])
        spans.append(
            _label_by_ratio(segment, segment_words, matched, rules, matched_trigrams, unmatched_trigrams)
        )
        if spans[-1].ambiguous and any(
            snippet and snippet >= set(segment_words) for snippet in without if segment_words
        ):
            spans[-1] = LabelledSpan(
                segment.start, segment.end, SegmentLabel.BOILERPLATE, SegmentKind.UNKNOWN
            )
    _mark_word_less(spans, segments, rules)
    _mark_headline(spans, segments, gold.title)
    _mark_meta(spans, segments, gold)
    _mark_kinds(spans, segments, gold.kinds, rules)
    recall = sum(gold_matched) / len(gold_words) if gold_words else 0.0
    return Alignment(spans=spans, gold_recall=recall)


def _match_tokens(doc: list[str], gold: list[str]) -> tuple[list[bool], list[bool]]:
    """Which tokens of each stream a monotonic alignment pairs up (blocks of >= 2 tokens only)."""
    vocabulary: dict[str, int] = {}
    doc_ids = [vocabulary.setdefault(token, len(vocabulary)) for token in doc]
    gold_ids = [vocabulary.setdefault(token, len(vocabulary)) for token in gold]
    doc_matched = [False] * len(doc)
    gold_matched = [False] * len(gold)
    matcher = SequenceMatcher(None, doc_ids, gold_ids, autojunk=False)
    for block in matcher.get_matching_blocks():
        if block.size >= MIN_BLOCK_TOKENS:
            doc_matched[block.a : block.a + block.size] = [True] * block.size
            gold_matched[block.b : block.b + block.size] = [True] * block.size
    return doc_matched, gold_matched


def _gold_trigrams(gold: list[str], matched: list[bool]) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """Gold word trigrams split by whether the alignment used them (to tell repeats from reorderings)."""
    used: set[tuple[str, ...]] = set()
    unused: set[tuple[str, ...]] = set()
    for index in range(len(gold) - 2):
        gram = tuple(gold[index : index + 3])
        (used if all(matched[index : index + 3]) else unused).add(gram)
    return used, unused


def _label_by_ratio(
    segment: Segment,
    segment_words: list[str],
    matched: int,
    rules: AlignmentRules,
    matched_trigrams: set[tuple[str, ...]],
    unmatched_trigrams: set[tuple[str, ...]],
) -> LabelledSpan:
    start, end = segment.start, segment.end
    if not segment_words:
        return LabelledSpan(start, end, SegmentLabel.BOILERPLATE, SegmentKind.JUNK)
    ratio = matched / len(segment_words)
    if ratio >= rules.min_match_ratio:
        return LabelledSpan(start, end, SegmentLabel.MAIN, SegmentKind.BODY)
    if ratio > rules.max_boilerplate_ratio:
        label = SegmentLabel.MAIN if ratio >= 0.5 else SegmentLabel.BOILERPLATE
        kind = SegmentKind.BODY if label.is_main else SegmentKind.UNKNOWN
        return LabelledSpan(start, end, label, kind, rules.ambiguous_weight, ambiguous=True)
    grams = [tuple(segment_words[i : i + 3]) for i in range(len(segment_words) - 2)]
    if len(grams) >= 2:
        in_unmatched = sum(gram in unmatched_trigrams for gram in grams) / len(grams)
        in_matched = sum(gram in matched_trigrams for gram in grams) / len(grams)
        if in_unmatched >= rules.min_match_ratio:
            # Gold text the monotonic alignment could not place: reordered main text, or a copy.
            return LabelledSpan(start, end, SegmentLabel.MAIN, SegmentKind.BODY, rules.ambiguous_weight, True)
        if in_matched + in_unmatched >= rules.min_match_ratio:
            return LabelledSpan(start, end, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE)
    return LabelledSpan(start, end, SegmentLabel.BOILERPLATE, SegmentKind.UNKNOWN)


def _mark_word_less(spans: list[LabelledSpan], segments: list[Segment], rules: AlignmentRules) -> None:
    """A bullet or separator between two main segments is ambiguous rather than junk."""
    for index, span in enumerate(spans):
        if span.kind is not SegmentKind.JUNK:
            continue
        before = next((s for s in reversed(spans[:index]) if s.kind is not SegmentKind.JUNK), None)
        after = next((s for s in spans[index + 1 :] if s.kind is not SegmentKind.JUNK), None)
        if before and after and before.label.is_main and after.label.is_main:
            spans[index] = LabelledSpan(
                span.start, span.end, SegmentLabel.BOILERPLATE, SegmentKind.JUNK, rules.ambiguous_weight, True
            )


class _KindBlocks:
    """The word n-grams (1 to 3) of one kind's gold blocks, to find segments made of that kind's text.

    Unigrams come only from blocks of at most three words ("Reply", "West Brom"): a single common
    word of a long comment says nothing about a one-word segment.
    """

    def __init__(self, blocks: tuple[str, ...]) -> None:
        self.grams: dict[int, set[tuple[str, ...]]] = {1: set(), 2: set(), 3: set()}
        for block in blocks:
            block_words = words(block)
            for size in (2, 3) if len(block_words) > 3 else (1, 2, 3):
                self.grams[size].update(
                    tuple(block_words[i : i + size]) for i in range(len(block_words) - size + 1)
                )

    def share(self, segment_words: list[str]) -> float:
        """Share of the segment's n-grams (n = min(3, its words)) found in the blocks."""
        size = min(3, len(segment_words))
        grams = [tuple(segment_words[i : i + size]) for i in range(len(segment_words) - size + 1)]
        return sum(gram in self.grams[size] for gram in grams) / len(grams) if grams else 0.0


def _mark_kinds(
    spans: list[LabelledSpan],
    segments: list[Segment],
    kinds: tuple[tuple[SegmentKind, tuple[str, ...]], ...],
    rules: AlignmentRules,
) -> None:
    """Non-main segments made of a marked kind's text take that kind (the first kind that matches)."""
    if not kinds:
        return
    matchers = [(kind, _KindBlocks(blocks)) for kind, blocks in kinds]
    for index, segment in enumerate(segments):
        span = spans[index]
        if span.label.is_main and not span.ambiguous:
            continue
        if span.kind not in (SegmentKind.UNKNOWN, SegmentKind.BODY):
            continue
        segment_words = words(segment.text)
        kind = next((k for k, m in matchers if m.share(segment_words) >= rules.min_match_ratio), None)
        if kind is SegmentKind.UNCERTAIN:
            spans[index] = LabelledSpan(
                span.start, span.end, SegmentLabel.BOILERPLATE, kind, rules.ambiguous_weight, True
            )
        elif kind is not None:
            spans[index] = LabelledSpan(span.start, span.end, SegmentLabel.BOILERPLATE, kind)


def strip_site_name(title: str) -> str:
    """The title without a site-name part (`Story | Site` → `Story`) when the story part is >= 3 words."""
    parts = [part.strip() for part in _TITLE_SEPARATORS.split(title) if part.strip()]
    longest = max(parts, key=lambda part: len(words(part)), default="")
    return longest if len(words(longest)) >= 3 else title.strip()


def headline_words(title: str) -> list[str]:
    return words(strip_site_name(title))


def is_title_like(segment_words: list[str], title_words: list[str]) -> bool:
    """The segment is the title, possibly with a site name or section glued on (`Title | Site`)."""
    if not segment_words or not title_words:
        return False
    shared = set(segment_words) & set(title_words)
    jaccard = len(shared) / len(set(segment_words) | set(title_words))
    contains_title = len(shared) >= 0.9 * len(set(title_words))
    return jaccard >= 0.75 or (
        contains_title and len(segment_words) <= len(title_words) + MAX_TITLE_EXTRA_WORDS
    )


def _mark_headline(spans: list[LabelledSpan], segments: list[Segment], title: str) -> None:
    """The title line nearest the story start becomes main/headline; other title lines are repeats."""
    title_words = headline_words(title)
    if not title_words:
        return
    like = [i for i, segment in enumerate(segments) if is_title_like(words(segment.text), title_words)]
    if not like:
        return
    first_main = next((i for i, s in enumerate(spans) if s.label.is_main and s.weight > 0), None)
    chosen = None
    if first_main is not None:
        near = [i for i in like if first_main - HEADLINE_WINDOW <= i <= first_main + 3]
        chosen = min(near, key=lambda i: (abs(i - first_main), -i), default=None)
    for index in like:
        span = spans[index]
        if index == chosen:
            spans[index] = LabelledSpan(span.start, span.end, SegmentLabel.MAIN, SegmentKind.HEADLINE)
        elif not span.label.is_main or span.ambiguous:
            spans[index] = LabelledSpan(span.start, span.end, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE)


def _mark_meta(spans: list[LabelledSpan], segments: list[Segment], gold: GoldInfo) -> None:
    author = [word for word in words(gold.author) if word != "by"]
    date = _date_words(gold.published)
    for index, segment in enumerate(segments):
        span = spans[index]
        if span.kind is SegmentKind.HEADLINE:
            continue
        if is_meta_line(segment.text, author, date):
            spans[index] = LabelledSpan(span.start, span.end, SegmentLabel.BOILERPLATE, SegmentKind.META)


def is_meta_line(text: str, author: list[str], date: set[str]) -> bool:
    """A short line of byline/date/time words only (`By Jane Doe | Sept 4, 2025, 5:50 am`)."""
    if _TIME_ONLY.match(text):
        return True
    segment_words = words(text)
    if not segment_words or len(segment_words) > MAX_META_TOKENS:
        return False
    present = set(segment_words)
    has_author = bool(author) and len(present & set(author)) >= min(2, len(set(author)))
    has_date = _has_date(present, date)
    if not (has_author or has_date):
        return False
    rest = [
        word
        for word in segment_words
        if word not in author
        and word not in date
        and not _META_WORD.fullmatch(word)
        and not word.isdigit()
        and word[:3] not in {month[:3] for month in MONTHS}
    ]
    return len(rest) <= 2


def iso_date(published: str) -> tuple[int, int, int] | None:
    """Year, month and day of the first ISO date in `published` ("2024-03-07T10:00:00Z", "2024-3-7").

    None when there is none or its month is not 1 to 12. The one reading of a page's publication
    date, shared by the alignment (`_date_words`) and the mixer's bylines (`mixer._meta_lines`).
    """
    match = _ISO_DATE.search(published)
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    return (year, month, day) if 1 <= month <= 12 else None


def _date_words(published: str) -> set[str]:
    """Words a rendering of an ISO publication date may use: year, month number and names, day."""
    date = iso_date(published)
    if date is None:
        return set()
    year, month, day = date
    name = MONTHS[month - 1]
    return {f"{year:04d}", name, name[:3], name[:4], str(month), f"{month:02d}", str(day), f"{day:02d}"}


def _has_date(present: set[str], date: set[str]) -> bool:
    if not date:
        return False
    year = next(word for word in date if len(word) == 4 and word.isdigit())
    names = {word for word in date if word.isalpha()}
    numbers = date - names - {year}
    if year in present and (present & names or len(present & numbers) >= 1):
        return True
    return bool(present & names) and bool(present & numbers)

"""Compose seed-like documents: one story's main lines glued to boilerplate from other sites.

Real rendered pages teach what a whole page looks like; scraped user documents look more like
the seeds: mostly the story, with a headline list, related teasers, a menu, widget lines, a
byline or repeats of the story stuck before or after it; news pages also end in comment threads
(a user name, a date, a paragraph of prose, "Reply"), sidebars of categories with counts, and
whatever a real page had under its story (a *tail*: every boilerplate line after the story's
last line on another page, comments, sidebars and footers as they came). A mixture is built from pieces whose
label and kind are known, so every span of it is labelled exactly. All boilerplate comes from
pages of other domains in the same split (never from the seeds, which are evaluation data), and
each document draws from its own `random.Random` seeded by the config seed and the story id,
so a build is reproducible and one story's mixtures do not depend on the others.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import blingfire

from storysplit.features.segmentation import split_document
from storysplit.features.words import words
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus.alignment import MONTHS, iso_date, strip_site_name

_HEADER_WORDS = re.compile(
    r"\b(related|more|latest|popular|recommended|trending|top|also|read|stories|news|headlines|next)\b",
    re.IGNORECASE,
)
_PROMO_WORDS = re.compile(
    r"\b(subscribe|subscription|newsletter|sign ?up|download|app|offer|free|premium|deal|register|"
    r"join|trial|shop|buy|discount|membership|donate|support us)\b",
    re.IGNORECASE,
)
_MONTH_NAMES = tuple(month.title() for month in MONTHS)
STORY_PARAGRAPHS = (6, 30)
"""A mixture keeps the story's first N paragraphs, N drawn from this range: scraped news stories
are short (the seeds have 6 to 14 lines), many gold texts are long guides."""
MAX_POOL_LINES = 4000
"""Harvested lines kept per pool and split: plenty of variety, bounded memory."""
MAX_TAIL_LINES = 40
"""A harvested tail keeps at most this many lines (the start of what followed the story)."""
_COMMENT_HEADERS = (
    "{n} Comments",
    "{n} comments",
    "Comments ({n})",
    "Leave a Reply",
    "Join the discussion",
    "Show comments",
    "{n} Kommentare",
    "Kommentare",
    "Commentaires ({n})",
    "Comentarios",
    "コメント ({n})",
    "评论 ({n})",
)
_COMMENT_FOOTERS = (
    "Reply",
    "Reply ↓",
    "Like",
    "Report",
    "Antworten",
    "Répondre",
    "返信",
    "Rating: {n} Votes",
)
_USER_WORDS = (
    "the",
    "last",
    "chargers",
    "fan",
    "true",
    "blue",
    "reader",
    "old",
    "timer",
    "max",
    "mike",
    "anna",
    "jo",
    "dave",
    "sam",
    "kat",
    "lee",
    "bob",
    "sue",
    "ali",
    "nina",
    "leo",
    "tom",
    "kim",
    "ron",
    "eve",
    "ian",
    "zoe",
    "jan",
    "lars",
    "hans",
    "marie",
    "pierre",
    "yuki",
    "kenji",
)


@dataclass(frozen=True)
class Story:
    """A labelled page's story: its gold paragraphs and metadata."""

    doc_id: str
    source: str
    domain: str
    html_path: str
    title: str
    author: str
    published: str
    site_name: str
    paragraphs: tuple[str, ...]
    language: str
    gold_origin: str


@dataclass
class BoilerplatePool:
    """Short boilerplate lines harvested from real pages of one split, each with its domain."""

    menu: list[tuple[str, str]] = field(default_factory=list)
    widget: list[tuple[str, str]] = field(default_factory=list)
    promo: list[tuple[str, str]] = field(default_factory=list)
    header: list[tuple[str, str]] = field(default_factory=list)
    tails: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def add_line(self, domain: str, line: str) -> None:
        """File one boilerplate line under the pool its shape suggests (or drop it)."""
        text = " ".join(line.split())
        count = len(words(text))
        if count == 0 or len(text) > 90:
            return
        if count <= 5 and _HEADER_WORDS.search(text) and not text.endswith("."):
            target = self.header
        elif count <= 3 and len(text) <= 30 and not text.endswith("."):
            target = self.menu
        elif 3 <= count <= 14:
            target = self.promo if _PROMO_WORDS.search(text) else self.widget
        else:
            return
        if len(target) < MAX_POOL_LINES:
            target.append((domain, text))

    def add_tail(self, domain: str, lines: Sequence[str]) -> None:
        """Keep what followed a page's story (its first `MAX_TAIL_LINES` lines), if anything did."""
        kept = tuple(" ".join(line.split()) for line in lines[:MAX_TAIL_LINES] if line.strip())
        if len(kept) >= 3 and len(self.tails) < MAX_POOL_LINES:
            self.tails.append((domain, kept))


@dataclass(frozen=True)
class MixerSettings:
    """What shapes mixtures: the config seed, the segmenter and the ambiguous weight."""

    seed: int
    max_chars: int
    ambiguous_weight: float = 0.0


@dataclass(frozen=True)
class _Piece:
    text: str
    label: SegmentLabel
    kind: SegmentKind


def compose_mixture(
    story: Story,
    index: int,
    others: Sequence[Story],
    pool: BoilerplatePool,
    settings: MixerSettings,
) -> dict[str, Any] | None:
    """The `index`-th mixture of `story` as a corpus row (renderer `mixture`), or None without a main segment.

    Joined on one line, a story of short lines (a player's stats) can sit wholly inside segments that are
    mostly boilerplate: such a mixture holds no story to find and is not made.

    Args:
        story: The story whose paragraphs are the main content.
        index: Which mixture of this story (part of the id and the random seed).
        others: Stories of the same split; those from other domains give titles and teasers.
        pool: Boilerplate lines of the same split; lines from the story's own domain are skipped.
        settings: Seed, segmenter and ambiguous weight.
    """
    rng = random.Random(f"{settings.seed}:{story.doc_id}:{index}")
    foreign = [other for other in others if other.domain != story.domain]
    story = replace(story, paragraphs=story.paragraphs[: rng.randint(*STORY_PARAGRAPHS)])
    pieces = _story_pieces(story, rng, pool)
    blocks: list[Callable[[], list[_Piece]]] = [
        lambda: _headline_list(rng, foreign, pool, story.domain),
        lambda: _related_teasers(rng, foreign, pool, story.domain),
        lambda: _menu_block(rng, pool, story.domain),
        lambda: _widget_block(rng, pool, story.domain),
        lambda: _duplicate_block(rng, story, pool),
        lambda: _comment_thread(rng, foreign, pool, story.domain),
        lambda: _sidebar_block(rng, pool, story.domain),
        lambda: _real_tail(rng, pool, story.domain),
    ]
    chosen = rng.sample(blocks, k=rng.choice((1, 2, 2, 3, 3, 4)))
    if rng.random() < 0.25:
        pieces = _menu_block(rng, pool, story.domain) + pieces
    for make in chosen:
        pieces += make()
    if rng.random() < 0.1:
        pieces.append(_Piece(str(rng.randint(1, 99)), SegmentLabel.BOILERPLATE, SegmentKind.JUNK))
    separator = rng.choices(("\n", "\n\n", " "), weights=(0.5, 0.4, 0.1))[0]
    text, offsets = _join(pieces, separator)
    spans = _label_segments(text, pieces, offsets, settings)
    if not any(span["label"] == SegmentLabel.MAIN.value for span in spans):
        return None
    return {
        "id": f"mix-{story.doc_id}-{index}",
        "text": text,
        "source": story.source,
        "domain": story.domain,
        "renderer": "mixture",
        "reference_text": "\n".join(story.paragraphs),
        "html_path": story.html_path,
        "language": story.language,
        "gold_origin": story.gold_origin,
        "spans": spans,
    }


def _story_pieces(story: Story, rng: random.Random, pool: BoilerplatePool) -> list[_Piece]:
    """Headline, byline/date, the body (sometimes with a widget line inside), like a scraped story."""
    pieces: list[_Piece] = []
    headline = strip_site_name(story.title)
    if headline and rng.random() < 0.8:
        pieces.append(_Piece(headline, SegmentLabel.MAIN, SegmentKind.HEADLINE))
        if rng.random() < 0.15:
            pieces.append(_Piece(headline, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE))
    if rng.random() < 0.6:
        pieces += [
            _Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.META) for line in _meta_lines(rng, story)
        ]
    if rng.random() < 0.25:
        pieces += _widget_block(rng, pool, story.domain, most=1)
    body = [_Piece(p, SegmentLabel.MAIN, SegmentKind.BODY) for p in story.paragraphs]
    if len(body) > 3 and rng.random() < 0.2:
        body[rng.randrange(1, len(body)) : 0] = _widget_block(rng, pool, story.domain, most=1)
    return pieces + body


def _meta_lines(rng: random.Random, story: Story) -> list[str]:
    """A byline and/or a date in one of the formats news sites use."""
    lines = []
    author = story.author
    if author and rng.random() < 0.7:
        lines.append(rng.choice((author, f"By {author}", f"{author} |", f"Written by {author}")))
    date = iso_date(story.published)
    if date:
        year, month, day = date
        name = _MONTH_NAMES[month - 1]
        clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
        lines.append(
            rng.choice(
                (
                    f"{name} {day}, {year}",
                    f"{day:02d} {name[:3]} {year}, {clock}",
                    f"Updated {year}-{month:02d}-{day:02d}",
                    f"Posted on {name[:3]}. {day}, {year} at {clock}",
                    f"{day}/{month}/{year}",
                    f"{name} {day}, {year} · {rng.randint(2, 12)} min read",
                )
            )
        )
    if not lines and rng.random() < 0.5:
        lines.append(source_name(story))
    return lines


def source_name(story: Story) -> str:
    """How a teaser names a site: its site name, else its domain's main label capitalised."""
    if story.site_name:
        return story.site_name
    label = story.domain.split(":")[-1].split(".")[0]
    return label.replace("-", " ").title() if label else story.domain


def _relative_time(rng: random.Random) -> str:
    amount = rng.randint(1, 23)
    unit = rng.choice(("minutes", "hours", "days"))
    if amount == 1:
        return rng.choice(("a day ago", "an hour ago", "1 hour ago", "yesterday"))
    return f"{amount} {unit} ago"


def _first_sentence(story: Story) -> str:
    paragraph = next((p for p in story.paragraphs if len(words(p)) >= 8), story.paragraphs[0])
    sentences = blingfire.text_to_sentences(paragraph).split("\n")
    sentence = sentences[0] if sentences else paragraph
    return sentence if len(sentence) <= 240 else sentence[:237].rsplit(" ", 1)[0] + "..."


def _pick(rng: random.Random, lines: list[tuple[str, str]], domain: str, count: int) -> list[str]:
    """Up to `count` distinct lines from one other domain if it has enough, else from several."""
    candidates = [(d, line) for d, line in lines if d != domain]
    if not candidates:
        return []
    site = rng.choice(candidates)[0]
    from_site = list(dict.fromkeys(line for d, line in candidates if d == site))
    if len(from_site) >= count:
        start = rng.randrange(len(from_site) - count + 1)
        return from_site[start : start + count]
    sample = rng.sample(candidates, k=min(len(candidates), count * 2))
    return list(dict.fromkeys(line for _, line in sample))[:count]


def _header(rng: random.Random, pool: BoilerplatePool, domain: str) -> list[_Piece]:
    if rng.random() < 0.6:
        return [
            _Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.RELATED)
            for line in _pick(rng, pool.header, domain, 1)
        ]
    return []


def _headline_list(
    rng: random.Random, others: Sequence[Story], pool: BoilerplatePool, domain: str
) -> list[_Piece]:
    """Other pages' titles, one per line, as under a "latest" box."""
    titles = [strip_site_name(story.title) for story in others if story.title]
    picked = rng.sample(titles, k=min(len(titles), rng.randint(4, 12)))
    return _header(rng, pool, domain) + [
        _Piece(t, SegmentLabel.BOILERPLATE, SegmentKind.RELATED) for t in picked
    ]


def _related_teasers(
    rng: random.Random, others: Sequence[Story], pool: BoilerplatePool, domain: str
) -> list[_Piece]:
    """Teasers of other stories: title, source name, relative time and a snippet, in a few layouts.

    In the last layout the "snippet" is the other article's whole text on one line (sometimes
    behind a widget label), as scrapers keep it from related-article boxes: confident prose that
    is about something other than the story.
    """
    layout = rng.randrange(4)
    picked = rng.sample(
        list(others), k=min(len(others), rng.randint(1, 3) if layout == 3 else rng.randint(2, 6))
    )
    lines: list[str] = []
    for other in picked:
        name, when, title = source_name(other), _relative_time(rng), strip_site_name(other.title)
        if layout == 0:
            lines += [name, when, f"- {name}", title, _first_sentence(other)]
        elif layout == 1:
            lines += [title, f"{name} · {when}", _first_sentence(other)]
        elif layout == 2:
            lines += [f"{title} {_first_sentence(other)}", when]
        else:
            lines += [name, when, f"- {name}", title, _whole_text(rng, other, pool, domain)]
    pieces = [_Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.RELATED) for line in lines if line.strip()]
    return _header(rng, pool, domain) + pieces


def _whole_text(rng: random.Random, story: Story, pool: BoilerplatePool, domain: str) -> str:
    """A story's first paragraphs joined into one line, sometimes behind a widget label."""
    text = " ".join(story.paragraphs[: rng.randint(2, 12)])
    if rng.random() < 0.4:
        label = _pick(rng, pool.widget, domain, 1)
        text = f"{label[0]} {text}" if label else text
    return text


def _menu_block(rng: random.Random, pool: BoilerplatePool, domain: str) -> list[_Piece]:
    """Navigation lines from another site, sometimes bulleted."""
    bullet = rng.choice(("", "", "  • ", "• ", "- ", "* "))
    return [
        _Piece(f"{bullet}{line}", SegmentLabel.BOILERPLATE, SegmentKind.MENU)
        for line in _pick(rng, pool.menu, domain, rng.randint(2, 8))
    ]


def _widget_block(rng: random.Random, pool: BoilerplatePool, domain: str, most: int = 3) -> list[_Piece]:
    """Widget and promo lines (share buttons, sign-up boxes) from other sites."""
    pieces = []
    for _ in range(rng.randint(1, most)):
        promo = rng.random() < 0.4
        lines = _pick(rng, pool.promo if promo else pool.widget, domain, 1)
        kind = SegmentKind.PROMO if promo else SegmentKind.WIDGET
        pieces += [_Piece(line, SegmentLabel.BOILERPLATE, kind) for line in lines]
    return pieces


def _comment_thread(
    rng: random.Random, others: Sequence[Story], pool: BoilerplatePool, domain: str
) -> list[_Piece]:
    """A comment section: a header, then comments as a name, a date, prose and a button line.

    The prose comes from other stories' sentences: real comments are prose too, and what tells
    them from the story is their frame (names, "says:", dates, "Reply"), not their words.
    """
    header = rng.choice(_COMMENT_HEADERS).format(n=rng.randint(2, 240))
    pieces = [_Piece(header, SegmentLabel.BOILERPLATE, SegmentKind.COMMENTS)]
    writers = [story for story in others if story.paragraphs] or []
    for _ in range(rng.randint(2, 6) if writers else 0):
        name = "".join(rng.sample(_USER_WORDS, k=rng.randint(1, 3))) + rng.choice(
            ("", str(rng.randint(1, 99)))
        )
        when = rng.choice(
            (f"{_relative_time(rng)}", f"November {rng.randint(1, 28)}, 2019 at 6:{rng.randint(10, 59)} am")
        )
        comment = _first_sentence(rng.choice(writers))
        lines = rng.choice(
            ([f"{name} says:", when, comment], [name, when, comment], [f"{name} · {when}", comment])
        )
        if rng.random() < 0.6:
            lines.append(rng.choice(_COMMENT_FOOTERS).format(n=rng.randint(1, 60)))
        pieces += [_Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.COMMENTS) for line in lines]
    return pieces


def _sidebar_block(rng: random.Random, pool: BoilerplatePool, domain: str) -> list[_Piece]:
    """A sidebar of categories or archives with post counts, sometimes behind a marker."""
    marker = rng.choice(("", "► ", "» ", "- "))
    lines = _pick(rng, pool.menu, domain, rng.randint(3, 10))
    return [
        _Piece(f"{marker}{line} ({rng.randint(1, 120)})", SegmentLabel.BOILERPLATE, SegmentKind.MENU)
        for line in lines
    ]


def _real_tail(rng: random.Random, pool: BoilerplatePool, domain: str) -> list[_Piece]:
    """The lines that followed the story on another site's page, as they came."""
    tails = [lines for tail_domain, lines in pool.tails if tail_domain != domain]
    if not tails:
        return []
    lines = rng.choice(tails)
    return [_Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.UNKNOWN) for line in lines]


def _duplicate_block(rng: random.Random, story: Story, pool: BoilerplatePool) -> list[_Piece]:
    """A repeat of the headline and/or the story's own paragraphs, or the story listed as its own teaser."""
    headline = strip_site_name(story.title)
    if headline and rng.random() < 0.3:
        return [
            _Piece(line, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE)
            for line in (headline, _whole_text(rng, story, pool, story.domain))
        ]
    pieces = []
    if headline and rng.random() < 0.4:
        pieces.append(_Piece(headline, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE))
    count = min(len(story.paragraphs), rng.randint(1, 4))
    start = rng.randrange(len(story.paragraphs) - count + 1)
    pieces += [
        _Piece(p, SegmentLabel.BOILERPLATE, SegmentKind.DUPLICATE)
        for p in story.paragraphs[start : start + count]
    ]
    return pieces


def _join(pieces: list[_Piece], separator: str) -> tuple[str, list[tuple[int, int]]]:
    parts: list[str] = []
    offsets = []
    position = 0
    for piece in pieces:
        text = " ".join(piece.text.split())
        offsets.append((position, position + len(text)))
        parts.append(text)
        position += len(text) + len(separator)
    return separator.join(parts), offsets


def _label_segments(
    text: str, pieces: list[_Piece], offsets: list[tuple[int, int]], settings: MixerSettings
) -> list[dict[str, Any]]:
    """Each segment takes its piece's label; one straddling pieces (single-line text) is ambiguous."""
    starts = [start for start, _ in offsets]
    spans = []
    for segment in split_document(text, settings.max_chars):
        first = max(0, bisect_right(starts, segment.start) - 1)
        last = bisect_left(starts, segment.end)
        overlaps = {
            index: min(offsets[index][1], segment.end) - max(offsets[index][0], segment.start)
            for index in range(first, max(last, first + 1))
        }
        best = max(overlaps, key=overlaps.__getitem__)
        exact = overlaps[best] >= 0.8 * (segment.end - segment.start)
        spans.append(
            {
                "start": segment.start,
                "end": segment.end,
                "label": pieces[best].label.value,
                "kind": pieces[best].kind.value,
                "weight": 1.0 if exact else settings.ambiguous_weight,
            }
        )
    return spans

"""Turn one source page into labelled corpus rows, one per renderer (runs in worker processes).

Everything a worker needs travels in a small picklable `PageJob`, and everything it learns comes
back in a `PageResult`: rows, the page's story for the mixer, harvested boilerplate lines and
what had to be skipped. A failure affects only the page (or renderer) it happened on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storysplit.errors import StorysplitError
from storysplit.labels import SegmentKind
from storysplit.train.corpus.alignment import Alignment, AlignmentRules, GoldInfo, align_document
from storysplit.train.corpus.mixer import Story
from storysplit.train.corpus.renderers import render
from storysplit.train.corpus.sources import PageMeta, PageRef, SourcePage, read_page

HARVEST_RENDERERS = ("html_text", "dom_lines", "inscriptis", "lenient")
"""Boilerplate lines for mixtures come from the first of these renderings built (one line per block)."""


@dataclass(frozen=True)
class PageJob:
    """One page to render and label, with the settings that shape its rows."""

    data_dir: Path
    ref: PageRef
    meta: PageMeta
    renderers: tuple[str, ...]
    rules: AlignmentRules
    min_gold_recall: float


@dataclass
class PageResult:
    """What one page produced; `story` is None when the page itself could not be read."""

    ref: PageRef
    rows: list[dict[str, Any]] = field(default_factory=list)
    story: Story | None = None
    harvest: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    """Boilerplate lines after the story's last main line on the harvested rendering."""
    skipped: list[tuple[str, str]] = field(default_factory=list)


def process_page(job: PageJob) -> PageResult:
    """Read, render and label one page; never raises (problems land in `skipped`)."""
    result = PageResult(ref=job.ref)
    page = _read_usable_page(job, result.skipped)
    if page is None:
        return result
    gold = GoldInfo(
        page.gold_text, page.title, page.author, page.published, page.gold_without, page.gold_kinds
    )
    result.story = _story(page)
    harvest_from = next((name for name in HARVEST_RENDERERS if name in job.renderers), None)
    for renderer in job.renderers:
        labelled = _render_and_align(page, renderer, gold, job, result.skipped)
        if labelled is None:
            continue
        text, alignment = labelled
        result.rows.append(_row(page, renderer, text, alignment))
        if renderer == harvest_from:
            result.harvest, tail = _boilerplate_lines(text, alignment)
            if tail is not None:
                result.tail = tail
    return result


def _read_usable_page(job: PageJob, skipped: list[tuple[str, str]]) -> SourcePage | None:
    """The page, or None (with the reason added to `skipped`) when it cannot be read or is a fixture."""
    page_id = f"{job.ref.source}-{job.ref.page_id}"
    try:
        page = read_page(job.data_dir, job.ref, job.meta)
    except StorysplitError as error:
        skipped.append((page_id, str(error)))
        return None
    except Exception as error:  # a page must never stop the build; the reason is reported
        skipped.append((page_id, f"unexpected {error.__class__.__name__}: {error}"))
        return None
    if "lorem ipsum" in page.gold_text.lower():
        # Readability's unit-test fixtures: placeholder text, not a page anyone scrapes.
        skipped.append((page_id, "synthetic test page (lorem ipsum gold)"))
        return None
    return page


def _story(page: SourcePage) -> Story:
    """The page's gold story, for the mixer."""
    return Story(
        doc_id=page.doc_id,
        source=page.ref.source,
        domain=page.domain,
        html_path=page.ref.html_path,
        title=page.title,
        author=page.author,
        published=page.published,
        site_name=page.site_name,
        paragraphs=tuple(page.gold_text.splitlines()),
        language=page.language,
        gold_origin=page.gold_origin.value,
    )


def _render_and_align(
    page: SourcePage, renderer: str, gold: GoldInfo, job: PageJob, skipped: list[tuple[str, str]]
) -> tuple[str, Alignment] | None:
    """The page's text by `renderer` and its labels, or None (reason in `skipped`) when the
    rendering fails or lost the story."""
    doc_id = f"{page.doc_id}-{renderer}"
    try:
        text = render(page.html, renderer)
        alignment = align_document(text, gold, job.rules)
    except StorysplitError as error:
        skipped.append((doc_id, str(error)))
        return None
    except Exception as error:  # same as above: report, skip, go on
        skipped.append((doc_id, f"unexpected {error.__class__.__name__}: {error}"))
        return None
    if alignment.gold_recall < job.min_gold_recall:
        reason = f"story not found in the {renderer} text (gold recall {alignment.gold_recall:.2f})"
        skipped.append((doc_id, reason))
        return None
    return text, alignment


def _row(page: SourcePage, renderer: str, text: str, alignment: Alignment) -> dict[str, Any]:
    """One corpus row (`train.corpus.schema.CORPUS_FEATURES`)."""
    return {
        "id": f"{page.doc_id}-{renderer}",
        "text": text,
        "source": page.ref.source,
        "domain": page.domain,
        "renderer": renderer,
        "reference_text": page.gold_text,
        "html_path": page.ref.html_path,
        "language": page.language,
        "gold_origin": page.gold_origin.value,
        "spans": [span.to_row() for span in alignment.spans],
    }


def _boilerplate_lines(text: str, alignment: Alignment) -> tuple[list[str], list[str] | None]:
    """Confident boilerplate lines of unknown kind (to harvest), and those after the story's last
    main line (the page's tail; None when no line is main)."""
    spans = alignment.spans
    harvest = [
        text[span.start : span.end]
        for span in spans
        if span.kind is SegmentKind.UNKNOWN and not span.ambiguous
    ]
    last_main = max((i for i, s in enumerate(spans) if s.label.is_main), default=None)
    if last_main is None:
        return harvest, None
    tail = [
        text[span.start : span.end]
        for span in spans[last_main + 1 :]
        if not span.label.is_main and not span.ambiguous
    ]
    return harvest, tail

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
from storysplit.train.corpus.alignment import AlignmentRules, GoldInfo, align_document
from storysplit.train.corpus.mixer import Story
from storysplit.train.corpus.renderers import render
from storysplit.train.corpus.sources import PageMeta, PageRef, read_page

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
    page_id = f"{job.ref.source}-{job.ref.page_id}"
    try:
        page = read_page(job.data_dir, job.ref, job.meta)
    except StorysplitError as error:
        result.skipped.append((page_id, str(error)))
        return result
    except Exception as error:  # a page must never stop the build; the reason is reported
        result.skipped.append((page_id, f"unexpected {error.__class__.__name__}: {error}"))
        return result
    if "lorem ipsum" in page.gold_text.lower():
        # Readability's unit-test fixtures: placeholder text, not a page anyone scrapes.
        result.skipped.append((page_id, "synthetic test page (lorem ipsum gold)"))
        return result
    gold = GoldInfo(page.gold_text, page.title, page.author, page.published, page.gold_without)
    result.story = Story(
        doc_id=page.doc_id,
        source=job.ref.source,
        domain=page.domain,
        html_path=job.ref.html_path,
        title=page.title,
        author=page.author,
        published=page.published,
        site_name=page.site_name,
        paragraphs=tuple(page.gold_text.splitlines()),
        language=page.language,
        gold_origin=page.gold_origin.value,
    )
    harvest_from = next((name for name in HARVEST_RENDERERS if name in job.renderers), None)
    for renderer in job.renderers:
        doc_id = f"{page.doc_id}-{renderer}"
        try:
            text = render(page.html, renderer)
            alignment = align_document(text, gold, job.rules)
        except StorysplitError as error:
            result.skipped.append((doc_id, str(error)))
            continue
        except Exception as error:  # same as above: report, skip, go on
            result.skipped.append((doc_id, f"unexpected {error.__class__.__name__}: {error}"))
            continue
        if alignment.gold_recall < job.min_gold_recall:
            reason = f"story not found in the {renderer} text (gold recall {alignment.gold_recall:.2f})"
            result.skipped.append((doc_id, reason))
            continue
        result.rows.append(
            {
                "id": doc_id,
                "text": text,
                "source": job.ref.source,
                "domain": page.domain,
                "renderer": renderer,
                "reference_text": page.gold_text,
                "html_path": job.ref.html_path,
                "language": page.language,
                "gold_origin": page.gold_origin.value,
                "spans": [span.to_row() for span in alignment.spans],
            }
        )
        if renderer == harvest_from:
            result.harvest = [
                text[span.start : span.end]
                for span in alignment.spans
                if span.kind is SegmentKind.UNKNOWN and not span.ambiguous
            ]
            last_main = max((i for i, s in enumerate(alignment.spans) if s.label.is_main), default=None)
            if last_main is not None:
                result.tail = [
                    text[span.start : span.end]
                    for span in alignment.spans[last_main + 1 :]
                    if not span.label.is_main and not span.ambiguous
                ]
    return result

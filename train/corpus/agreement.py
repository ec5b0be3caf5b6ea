"""Label pages that have no gold by the agreement of three HTML extractors.

A user who crawls their own sites has raw HTML but no gold main content. Three article
extractors that work in different ways (trafilatura in precision mode, readability-lxml and
goose3) each say what the story is; where they agree we trust them:

- Each extractor's output is aligned with the rendered text exactly as gold is
  (`alignment.align_document`): a segment is *kept* by an extractor when the alignment makes it
  `main` outright (most of its words found, in order, in that output; the page title line
  nearest the story is the headline), and *dropped* when it is plainly `boilerplate`.
- Kept by at least two extractors: `main`. Dropped by every extractor that produced text:
  `boilerplate`, with the kind the alignments agree on (`junk`, `meta`, `duplicate`,
  `unknown`). Anything else is ambiguous: labelled by majority, weight `rules.ambiguous_weight`.
- `reference_text` is the paragraphs that at least two extractors keep (paragraph level, the
  same alignment test), for the token-level metrics: trafilatura's agreed paragraphs in its
  order, then those of readability and goose3 that the text gathered so far does not hold.

Rows look like every other corpus row (`schema.CORPUS_FEATURES`): `source` is `agreement` (or
the caller's), `domain` the registrable domain of the page's canonical/og:url, else
`agreement:<page id>` so that each such page is its own site for the domain splits; `gold_origin` is
`agreement` and `language` is detected on the agreed text.

An extractor that raises or returns fewer than `MIN_WORDS` words is tolerated and recorded; a
page where fewer than two produced text cannot be labelled by agreement and is skipped with the
reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import html_text
import trafilatura
from trafilatura.utils import decode_file

from storysplit.features.segmentation import split_document
from storysplit.features.words import words
from storysplit.labels import SegmentKind, SegmentLabel
from storysplit.train.corpus.alignment import AlignmentRules, GoldInfo, LabelledSpan, align_document
from storysplit.train.corpus.renderers import render
from storysplit.train.corpus.sources import GoldOrigin, detect_language, readability_domain

EXTRACTORS = ("trafilatura", "readability", "goose3")
"""Extractor names in the order their paragraphs go into `reference_text`."""
MIN_AGREEING = 2
"""Extractors that must keep a segment for it to be main (and produce text for a page to count)."""
MIN_WORDS = 10
"""An output with fewer words is no article: what extractors return on menus and error pages."""
SOURCE = "agreement"
HTML_SUFFIXES = (".html.gz", ".html")
_PARAGRAPH_CHARS = 10**9
"""`max_chars` that keeps every line whole, so reference agreement is decided per paragraph."""


@dataclass(frozen=True)
class Extraction:
    """What the extractors made of one page.

    `texts` maps each extractor that produced text to it (in `EXTRACTORS` order); `failures`
    maps each other extractor to why it gave nothing. `title`, `author` and `published` (ISO
    date) come from the page's metadata, empty when unknown; the alignment uses them to find
    the headline and byline lines.
    """

    texts: dict[str, str]
    failures: dict[str, str]
    title: str = ""
    author: str = ""
    published: str = ""

    @property
    def usable(self) -> bool:
        return len(self.texts) >= MIN_AGREEING

    def gold_for(self, extractor: str) -> GoldInfo:
        """One extractor's output shaped as gold, so `align_document` can label against it."""
        return GoldInfo(self.texts[extractor], self.title, self.author, self.published)


def extract_trafilatura(html: str) -> str:
    """trafilatura tuned for precision: comments off, so what it keeps is very likely the story."""
    text = trafilatura.extract(
        html,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        with_metadata=False,
    )
    return str(text or "")


def extract_readability(html: str) -> str:
    """readability-lxml's article HTML turned into text with one block per line."""
    from readability import Document

    article = Document(html).summary(html_partial=True)
    return str(html_text.extract_text(article, guess_layout=True)) if article.strip() else ""


def extract_goose(html: str) -> str:
    """goose3's `cleaned_text` (no network: images are not fetched, the HTML is given)."""
    from goose3 import Goose

    with Goose({"enable_image_fetching": False, "use_meta_language": True}) as goose:
        return str(goose.extract(raw_html=html).cleaned_text or "")


EXTRACTOR_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "trafilatura": extract_trafilatura,
    "readability": extract_readability,
    "goose3": extract_goose,
}


def extract_page(html: str) -> Extraction:
    """Run every extractor on `html`; failures and empty outputs are recorded, never raised."""
    texts: dict[str, str] = {}
    failures: dict[str, str] = {}
    for name in EXTRACTORS:
        try:
            text = _clean_lines(EXTRACTOR_FUNCTIONS[name](html))
        except Exception as error:  # a third-party extractor may raise anything; one page, one tool
            failures[name] = f"{error.__class__.__name__}: {error}"[:200]
            continue
        count = len(words(text))
        if count >= MIN_WORDS:
            texts[name] = text
        else:
            failures[name] = f"{count} words" if count else "no text"
    title, author, published = _page_metadata(html)
    return Extraction(texts, failures, title, author, published)


def _page_metadata(html: str) -> tuple[str, str, str]:
    """Title, author and ISO publication date from the page's metadata ('' when unknown)."""
    try:
        metadata = trafilatura.extract_metadata(html, extensive=False)
    except Exception:  # metadata only sharpens headline/byline labels; the page is usable without it
        return "", "", ""
    return (metadata.title or "", metadata.author or "", metadata.date or "")


def _clean_lines(text: str) -> str:
    """One paragraph per line, whitespace inside lines collapsed, blank lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _kept(span: LabelledSpan) -> bool:
    return span.label.is_main and not span.ambiguous


def _dropped(span: LabelledSpan) -> bool:
    return not span.label.is_main and not span.ambiguous


def combine_votes(votes: Sequence[LabelledSpan], rules: AlignmentRules) -> LabelledSpan:
    """One segment's label from its per-extractor labels (same offsets; rules in the module docstring).

    Args:
        votes: The segment as labelled against each extractor that produced text, shape (n,), n >= 1.
        rules: Gives the weight of ambiguous segments.
    """
    start, end = votes[0].start, votes[0].end
    kept = [vote for vote in votes if _kept(vote)]
    if len(kept) >= MIN_AGREEING:
        headline = any(vote.kind is SegmentKind.HEADLINE for vote in kept)
        return LabelledSpan(
            start, end, SegmentLabel.MAIN, SegmentKind.HEADLINE if headline else SegmentKind.BODY
        )
    if all(_dropped(vote) for vote in votes):
        kind = Counter(vote.kind for vote in votes).most_common(1)[0][0]
        return LabelledSpan(start, end, SegmentLabel.BOILERPLATE, kind)
    leaning_main = sum(vote.label.is_main for vote in votes)
    label = SegmentLabel.MAIN if 2 * leaning_main > len(votes) else SegmentLabel.BOILERPLATE
    kind = SegmentKind.BODY if label.is_main else SegmentKind.UNKNOWN
    return LabelledSpan(start, end, label, kind, rules.ambiguous_weight, ambiguous=True)


@dataclass(frozen=True)
class AgreementLabels:
    """A rendered page labelled by agreement, and how much of each extractor's text it holds."""

    spans: list[LabelledSpan]
    recall: dict[str, float]
    """Extractor → share of its words found in the rendered text (the alignment's `gold_recall`)."""

    def found_in_text(self, min_recall: float) -> int:
        """How many extractors' outputs the rendered text holds (recall >= `min_recall`)."""
        return sum(value >= min_recall for value in self.recall.values())


def label_by_agreement(text: str, extraction: Extraction, rules: AlignmentRules) -> AgreementLabels:
    """Label each segment of `split_document(text, rules.max_chars)` by the extractors' votes.

    Args:
        text: The page rendered as plain text.
        extraction: The page's extractor outputs; needs at least one text.
        rules: Alignment thresholds and the segmenter's `max_chars`.
    """
    alignments = {name: align_document(text, extraction.gold_for(name), rules) for name in extraction.texts}
    per_segment = zip(*(alignment.spans for alignment in alignments.values()), strict=True)
    spans = [combine_votes(votes, rules) for votes in per_segment]
    recall = {name: alignment.gold_recall for name, alignment in alignments.items()}
    return AgreementLabels(spans, recall)


def agreement_reference(texts: dict[str, str], rules: AlignmentRules) -> str:
    """The paragraphs at least two extractors keep, one per line (empty when they agree on none).

    Each paragraph of each output is aligned with every other output; one that another output
    keeps is agreed. Outputs are read in `texts` order, and an agreed paragraph that the text
    gathered so far already holds is not added again, so text the extractors share appears once
    even when they cut it into paragraphs differently.
    """
    paragraph_rules = replace(rules, max_chars=_PARAGRAPH_CHARS)
    agreed: list[str] = []
    for name, text in texts.items():
        votes = [
            align_document(text, GoldInfo(other), paragraph_rules).spans
            for other_name, other in texts.items()
            if other_name != name
        ]
        gathered = align_document(text, GoldInfo("\n".join(agreed)), paragraph_rules).spans if agreed else []
        for position, segment in enumerate(split_document(text, _PARAGRAPH_CHARS)):
            is_agreed = any(_kept(spans[position]) for spans in votes)
            if is_agreed and not (gathered and _kept(gathered[position])):
                agreed.append(segment.text)
    return "\n".join(agreed)


@dataclass(frozen=True)
class PageSource:
    """Where a page's rows say they come from: id, site and HTML path (relative to the data dir)."""

    page_id: str
    domain: str
    html_path: str
    source: str = SOURCE


def page_rows(
    html: str,
    page: PageSource,
    renderers: Iterable[str],
    rules: AlignmentRules,
    min_recall: float = 0.5,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Corpus rows (`CORPUS_FEATURES`) of one page, one per renderer, plus what was skipped and why.

    A rendering is skipped when it holds fewer than two extractors' texts (word recall below
    `min_recall`: the renderer lost the story) or when no segment is main. Never raises.
    """
    extraction = extract_page(html)
    doc_id = f"{page.source}-{page.page_id}"
    if not extraction.usable:
        failed = "; ".join(f"{name}: {reason}" for name, reason in extraction.failures.items())
        return [], [(doc_id, f"fewer than {MIN_AGREEING} extractors produced text ({failed})")]
    reference = agreement_reference(extraction.texts, rules)
    if not reference:
        return [], [(doc_id, f"the extractors ({', '.join(extraction.texts)}) agree on no paragraph")]
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for renderer in renderers:
        row_id = f"{doc_id}-{renderer}"
        try:
            text = render(html, renderer)
            labels = label_by_agreement(text, extraction, rules)
        except Exception as error:  # one rendering must never stop the build; the reason is reported
            skipped.append((row_id, f"{error.__class__.__name__}: {error}"))
            continue
        if labels.found_in_text(min_recall) < MIN_AGREEING:
            found = ", ".join(f"{name} {value:.2f}" for name, value in labels.recall.items())
            skipped.append((row_id, f"extractors' text not found in the {renderer} text (recall {found})"))
            continue
        if not any(span.label.is_main and not span.ambiguous for span in labels.spans):
            skipped.append(
                (row_id, f"no segment of the {renderer} text is kept by {MIN_AGREEING} extractors")
            )
            continue
        rows.append(_row(row_id, text, renderer, reference, page, labels.spans))
    return rows, skipped


def _row(
    row_id: str, text: str, renderer: str, reference: str, page: PageSource, spans: list[LabelledSpan]
) -> dict[str, Any]:
    return {
        "id": row_id,
        "text": text,
        "source": page.source,
        "domain": page.domain,
        "renderer": renderer,
        "reference_text": reference,
        "html_path": page.html_path,
        "language": detect_language(reference),
        "gold_origin": GoldOrigin.AGREEMENT.value,
        "spans": [span.to_row() for span in spans],
    }


def list_html_files(html_dir: Path) -> list[Path]:
    """Every `*.html` and `*.html.gz` file under `html_dir`, recursively, sorted by relative path."""
    files = {path for suffix in HTML_SUFFIXES for path in html_dir.rglob(f"*{suffix}") if path.is_file()}
    return sorted(files, key=lambda path: path.relative_to(html_dir).as_posix())


def page_id_for(path: Path, html_dir: Path) -> str:
    """The file's path under `html_dir` without its HTML suffix (`site/story.html.gz` → `site/story`)."""
    relative = path.relative_to(html_dir).as_posix()
    return next(relative.removesuffix(suffix) for suffix in HTML_SUFFIXES if relative.endswith(suffix))


def page_domain(html: str, page_id: str) -> str:
    """The page's site from its canonical or og:url link, else its file name (each such page its own site)."""
    domain = readability_domain(html, "")
    return domain if "." in domain else f"{SOURCE}:{page_id}"


def read_html(path: Path) -> str:
    """A page's HTML decoded: gunzipped when compressed, UTF-8 else the declared or guessed charset.

    Raises:
        ValueError: the file holds binary data, not HTML.
    """
    data = path.read_bytes()
    text = decode_file(data)
    if "\x00" in text[:4096]:
        raise ValueError("binary content, not HTML")
    return text


def agreement_rows(
    html_dir: Path,
    renderers: Sequence[str],
    rules: AlignmentRules,
    *,
    data_dir: Path | None = None,
    source: str = SOURCE,
    min_recall: float = 0.5,
    max_pages: int | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Corpus rows for every HTML page under `html_dir`, labelled by extractor agreement.

    Args:
        html_dir: Folder of `*.html` / `*.html.gz` pages, searched recursively, read in path order.
        renderers: `CorpusConfig.renderers` names; one row per page and renderer.
        rules: Alignment thresholds and the segmenter's `max_chars` (as for gold-labelled pages).
        data_dir: `html_path` is relative to this (default `html_dir`).
        source: The rows' `source`; row ids are `{source}-{page_id}-{renderer}`.
        min_recall: A rendering must hold at least this share of two extractors' words.
        max_pages: Only the first this many pages (all when None).

    Returns:
        The rows, in page then renderer order, and `(id, reason)` for each skipped page or rendering.
    """
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in list_html_files(html_dir)[:max_pages]:
        page_id = page_id_for(path, html_dir)
        if page_id in seen:
            skipped.append(
                (f"{source}-{page_id}", f"duplicate page id: {path.name} (keep .html or .html.gz)")
            )
            continue
        seen.add(page_id)
        page_result = file_rows(
            path, html_dir, renderers, rules, data_dir=data_dir, source=source, min_recall=min_recall
        )
        rows += page_result[0]
        skipped += page_result[1]
    return rows, skipped


def file_rows(
    path: Path,
    html_dir: Path,
    renderers: Sequence[str],
    rules: AlignmentRules,
    *,
    data_dir: Path | None = None,
    source: str = SOURCE,
    min_recall: float = 0.5,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """One page file's rows and skips (what `agreement_rows` does per file; a unit for worker processes).

    Never raises: an unreadable file is a skip like any other.
    """
    page_id = page_id_for(path, html_dir)
    try:
        html = read_html(path)
    except (OSError, ValueError, EOFError) as error:
        return [], [(f"{source}-{page_id}", f"{error.__class__.__name__}: {error}")]
    base = data_dir if data_dir is not None else html_dir
    page = PageSource(page_id, page_domain(html, page_id), _relative(path, base), source)
    return page_rows(html, page, renderers, rules, min_recall)


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()

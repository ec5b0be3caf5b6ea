"""An audit page: each document's text with its kept and removed segments marked, as one HTML file.

Like spaCy's displaCy, the page is rendered from small templates with inline CSS, so it works
offline (no CDN, no JavaScript): kept (main) segments are green, removed (boilerplate) ones red
with a dotted underline (a cue that does not rely on colour), each segment's probability of being
main text shows on hover (its `title`), and each document says how many segments and characters
were kept. A CSS-only checkbox hides the kept
segments ("removed only"), which is where the model's mistakes are cheapest to spot.

Every piece of text reaches the page through `_escape` (`html.escape`), and only there. The same
renderer serves `storysplit segment --html-report` (`AuditPageWriter`, which streams one document
at a time so a long run does not hold every text in memory) and notebooks (`AuditView`, whose
`_repr_html_` Jupyter displays).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from types import TracebackType
from typing import IO

from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment, StorySplitModel, join_segments

COLOURS = {SegmentLabel.MAIN: "#c6efce", SegmentLabel.BOILERPLATE: "#ffc7ce"}
DESCRIPTIONS = {SegmentLabel.MAIN: "kept (main)", SegmentLabel.BOILERPLATE: "removed (boilerplate)"}

# Fonts for the scripts a Latin UI or monospace font lacks (Bengali, Devanagari, Tamil, Arabic,
# CJK, ...), named after each stack's Latin fonts, so Latin text keeps them: the page embeds no
# font, and a browser whose own fallback finds none draws boxes. Noto on Linux, Nirmala UI on
# Windows, Kohinoor on macOS.
SCRIPT_FONTS = (
    '"Noto Sans Bengali", "Noto Sans Devanagari", "Noto Sans Tamil", "Noto Sans Arabic", "Noto Sans CJK SC", '
    '"Nirmala UI", "Kohinoor Bangla", "Lohit Bengali", "Arial Unicode MS"'
)

# Scoped under .storysplit-audit so that a notebook's own styles and ours leave each other alone.
_STYLE = """
.storysplit-audit { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans",
  $script_fonts, sans-serif; color: #1a1a1a; }
.storysplit-audit .controls { margin: 0.5em 0 1em; padding: 0.5em 0.75em; background: #f4f4f4;
  border-radius: 4px; }
.storysplit-audit .legend span.seg { margin-right: 1em; padding: 0.1em 0.4em; }
.storysplit-audit section { margin: 0 0 2em; border-top: 1px solid #ccc; }
.storysplit-audit h2 { font-size: 1.05em; margin: 0.75em 0 0.25em; overflow-wrap: anywhere; }
.storysplit-audit .counts { color: #555; font-size: 0.9em; margin: 0 0 0.5em; }
.storysplit-audit .text { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 60em;
  font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, "Noto Sans Mono", $script_fonts,
  monospace; font-size: 13px; }
.storysplit-audit .seg { border-radius: 2px; }
$label_styles
.storysplit-audit .seg.boilerplate { color: #6b1020; text-decoration: underline dotted #9c0006; }
.storysplit-audit:has(input.removed-only:checked) .unit.main { display: none; }
.storysplit-audit:has(input.removed-only:checked) .doc.all-kept { display: none; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { margin: 1.5em auto; max-width: 64em; padding: 0 1em; }
$style
</style>
</head>
<body>
<div class="storysplit-audit">
<h1>$title</h1>
$controls
"""

_CONTROLS = """<div class="controls">
<p class="legend">$legend</p>
<label><input type="checkbox" class="removed-only"> show removed text only</label>
</div>"""

_DOCUMENT = """<section class="doc$extra_class">
<h2>$doc_id</h2>
<p class="counts">$counts</p>
<div class="text">$text</div>
</section>
"""

_SUMMARY = """<p class="counts summary">$summary</p>
</div>
</body>
</html>
"""

_SEGMENT = '<span class="unit $label"><span class="seg $label" title="$title">$text</span>$gap</span>'


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _fill(template: str, **values: str) -> str:
    """`template` with each `$name` replaced by its value, which must already be escaped HTML.

    One pass (`string.Template`): a `$` in a value is never read as a placeholder.
    """
    return Template(template).substitute(values)


def _style() -> str:
    rules = [
        f".storysplit-audit .seg.{label.value} {{ background: {colour}; }}"
        for label, colour in COLOURS.items()
    ]
    return _fill(_STYLE, label_styles="\n".join(rules), script_fonts=SCRIPT_FONTS)


def _controls() -> str:
    legend = " ".join(
        f'<span class="seg {label.value}">{_escape(DESCRIPTIONS[label])}</span>' for label in COLOURS
    )
    return _fill(_CONTROLS, legend=legend)


@dataclass
class Counts:
    """Segments and characters kept and removed, for one document or a whole report."""

    documents: int = 0
    kept_segments: int = 0
    removed_segments: int = 0
    kept_chars: int = 0
    removed_chars: int = 0

    def add(self, other: Counts) -> None:
        self.documents += other.documents
        self.kept_segments += other.kept_segments
        self.removed_segments += other.removed_segments
        self.kept_chars += other.kept_chars
        self.removed_chars += other.removed_chars

    def describe(self) -> str:
        total = self.kept_chars + self.removed_chars
        share = f" ({self.kept_chars / total:.0%})" if total else ""
        return (
            f"{self.kept_segments:,} segments kept, {self.removed_segments:,} removed; "
            f"{self.kept_chars:,} of {total:,} characters kept{share}"
        )


def count_segments(segments: Sequence[LabelledSegment]) -> Counts:
    """What `segments` keep and remove (characters counted over the segments, not the gaps)."""
    counts = Counts(documents=1)
    for segment in segments:
        length = segment.end - segment.start
        if segment.label is SegmentLabel.MAIN:
            counts.kept_segments += 1
            counts.kept_chars += length
        else:
            counts.removed_segments += 1
            counts.removed_chars += length
    return counts


def render_document(doc_id: str, text: str, segments: Sequence[LabelledSegment]) -> str:
    """One document as an HTML `<section>`: its name, counts and its text with segments marked.

    Text between segments (line breaks, blank lines) is kept as it is; it belongs to the segment
    before it, so that hiding kept segments hides their line breaks too.
    """
    ordered = sorted(segments, key=lambda s: s.start)
    parts = [_escape(text[: ordered[0].start] if ordered else text)]
    for index, segment in enumerate(ordered):
        gap_end = ordered[index + 1].start if index + 1 < len(ordered) else len(text)
        parts.append(
            _fill(
                _SEGMENT,
                label=segment.label.value,
                title=_escape(f"p(main) = {segment.probability:.3f}"),
                text=_escape(text[segment.start : segment.end]),
                gap=_escape(text[segment.end : gap_end]),
            )
        )
    counts = count_segments(ordered)
    return _fill(
        _DOCUMENT,
        extra_class=" all-kept" if not counts.removed_segments else "",
        doc_id=_escape(doc_id),
        counts=_escape(counts.describe()),
        text="".join(parts),
    )


def render_page(documents: Sequence[tuple[str, str, Sequence[LabelledSegment]]], title: str) -> str:
    """A whole self-contained page for `(id, text, segments)` documents."""
    buffer = io.StringIO()
    writer = AuditPageWriter(buffer, title)
    for doc_id, text, segments in documents:
        writer.add(doc_id, text, segments)
    writer.close()
    return buffer.getvalue()


class AuditPageWriter:
    """Writes an audit page to `handle` one document at a time; `close()` writes the totals."""

    def __init__(self, handle: IO[str], title: str = "storysplit audit") -> None:
        self.handle = handle
        self.totals = Counts()
        handle.write(_fill(_PAGE, title=_escape(title), style=_style(), controls=_controls()))

    def add(self, doc_id: str, text: str, segments: Sequence[LabelledSegment]) -> None:
        self.handle.write(render_document(doc_id, text, segments))
        self.totals.add(count_segments(segments))

    def close(self) -> None:
        summary = f"{self.totals.documents:,} document(s): {self.totals.describe()}"
        self.handle.write(_fill(_SUMMARY, summary=_escape(summary)))
        self.handle.flush()


class AuditReport:
    """`AuditPageWriter` on a file: `with AuditReport(path) as report: report.add(...)`."""

    def __init__(self, path: Path, title: str = "storysplit audit") -> None:
        self.path = path
        self.title = title
        self._handle: IO[str] | None = None
        self._writer: AuditPageWriter | None = None

    def __enter__(self) -> AuditPageWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("w", encoding="utf-8")
        self._writer = AuditPageWriter(self._handle, self.title)
        return self._writer

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._handle is not None and self._writer is not None
        try:
            self._writer.close()
        finally:
            self._handle.close()


@dataclass(frozen=True)
class AuditView:
    """One document's segments, shown marked in a notebook (Jupyter calls `_repr_html_`).

    `AuditView.of(model, text)` labels `text` with `model`; `str(view)` is the kept text.
    """

    text: str
    segments: tuple[LabelledSegment, ...]
    doc_id: str = "document"

    @classmethod
    def of(
        cls, model: StorySplitModel, text: str, threshold: float | None = None, doc_id: str = "document"
    ) -> AuditView:
        """Label `text` with `model` and wrap the result for display."""
        return cls(text, tuple(model.segment(text, threshold)), doc_id)

    def _repr_html_(self) -> str:
        return (
            f'<style>{_style()}</style>\n<div class="storysplit-audit">\n{_controls()}\n'
            f"{render_document(self.doc_id, self.text, self.segments)}</div>"
        )

    def __str__(self) -> str:
        return join_segments(self.text, [s for s in self.segments if s.label is SegmentLabel.MAIN])

"""The audit page: escaping, marks, counts, the CLI flag, and what a real browser draws."""

from __future__ import annotations

import html.parser
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from storysplit import load_model
from storysplit.audit_page import COLOURS, AuditView, count_segments, render_document, render_page
from storysplit.cli import main
from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment

MAIN, BOILERPLATE = SegmentLabel.MAIN, SegmentLabel.BOILERPLATE
CHROMIUM = Path("/usr/bin/chromium")


def _segments(text: str, labels: list[tuple[str, SegmentLabel, float]]) -> list[LabelledSegment]:
    """Segments of `text` found by their content, in order."""
    found, position = [], 0
    for piece, label, probability in labels:
        start = text.index(piece, position)
        found.append(LabelledSegment(start, start + len(piece), label, probability))
        position = start + len(piece)
    return found


class _Spans(html.parser.HTMLParser):
    """Collects every `<span class="seg ...">` with its title and text, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[dict[str, Any]] = []
        self.tags: list[str] = []
        self._open: dict[str, Any] | None = None
        self.data = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "span" and (values.get("class") or "").startswith("seg "):
            label = (values["class"] or "").split()[1]
            self._open = {"label": label, "title": values.get("title"), "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.segments.append(self._open)
            self._open = None

    def handle_data(self, data: str) -> None:
        self.data += data
        if self._open is not None:
            self._open["text"] += data


def _parse(page: str) -> _Spans:
    parser = _Spans()
    parser.feed(page)
    parser.close()
    return parser


TEXT = (
    "Home | News | Sport\n\n"
    "Council <script>alert('x')</script> approves the budget & more.\n"
    "The vote was 7 to 2 on Monday. Costs rise $gap by 3%.\n\n"
    'Share this: "click" here\n'
)
SEGMENTS = _segments(
    TEXT,
    [
        ("Home | News | Sport", BOILERPLATE, 0.0412),
        ("Council <script>alert('x')</script> approves the budget & more.", MAIN, 0.9),
        ("The vote was 7 to 2 on Monday.", MAIN, 0.81234),
        ("Costs rise $gap by 3%.", MAIN, 0.77),
        ('Share this: "click" here', BOILERPLATE, 0.1),
    ],
)


def test_text_is_escaped_and_every_segment_is_marked_with_its_probability() -> None:
    fragment = render_document("<b>doc</b>", TEXT, SEGMENTS)
    assert "<script>" not in fragment and "<b>doc</b>" not in fragment
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in fragment
    parsed = _parse(fragment)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert [(s["label"], s["text"]) for s in parsed.segments] == [
        (s.label.value, TEXT[s.start : s.end]) for s in SEGMENTS
    ]
    assert [s["title"] for s in parsed.segments] == [
        "p(main) = 0.041",
        "p(main) = 0.900",
        "p(main) = 0.812",
        "p(main) = 0.770",
        "p(main) = 0.100",
    ]
    # The text reads back exactly, line breaks and blank lines included, after the heading and counts.
    assert parsed.data.endswith(TEXT + "\n\n")


def test_counts_per_document_and_in_total() -> None:
    counts = count_segments(SEGMENTS)
    kept_chars = sum(s.end - s.start for s in SEGMENTS if s.label is MAIN)
    assert (counts.kept_segments, counts.removed_segments, counts.kept_chars) == (3, 2, kept_chars)
    fragment = render_document("d", TEXT, SEGMENTS)
    assert f"3 segments kept, 2 removed; {kept_chars} of {kept_chars + 43} characters kept" in fragment
    page = render_page([("a", TEXT, SEGMENTS), ("b", TEXT, SEGMENTS[:2])], title="t")
    second_kept = SEGMENTS[1].end - SEGMENTS[1].start
    assert f"2 document(s): 4 segments kept, 3 removed; {kept_chars + second_kept:,} of" in page


def test_page_is_self_contained_with_legend_and_a_filter_that_needs_no_script() -> None:
    page = render_page([("a", TEXT, SEGMENTS)], title="Audit <of> run")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Audit &lt;of&gt; run</title>" in page
    parsed = _parse(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert "http://" not in page and "https://" not in page
    assert "kept (main)" in page and "removed (boilerplate)" in page
    for label, colour in COLOURS.items():
        assert f".seg.{label.value} {{ background: {colour}; }}" in page
    assert 'type="checkbox" class="removed-only"' in page
    assert ":has(input.removed-only:checked) .unit.main { display: none; }" in page


def _font_families(page: str) -> list[list[str]]:
    """Each font-family list of the page's style (from `font:` and `font-family:`), font by font."""
    stacks = re.findall(r"font(?:-family)?:\s*([^;]*?(?:serif|monospace))\s*;", page)
    return [
        [font.strip().strip('"') for font in re.sub(r"^\d+px/[\d.]+\s+", "", stack).split(",")]
        for stack in stacks
    ]


def test_both_font_stacks_name_fonts_for_other_scripts_after_their_latin_fonts() -> None:
    """Bengali digits drew as boxes: the stacks named Latin fonts and a generic family only."""
    body, text = _font_families(render_page([("a", TEXT, SEGMENTS)], title="t"))
    for stack, latin, generic in ((body, "Segoe UI", "sans-serif"), (text, "Consolas", "monospace")):
        assert stack[-1] == generic
        scripts = stack.index("Noto Sans Bengali")
        assert stack.index(latin) < scripts < len(stack) - 1
        assert {"Noto Sans Devanagari", "Noto Sans Arabic", "Nirmala UI", "Kohinoor Bangla"} <= set(stack)


def test_a_document_without_segments_is_shown_as_plain_text() -> None:
    parsed = _parse(render_document("empty", "just <text>", []))
    assert parsed.segments == [] and "just <text>" in parsed.data


def test_notebook_view_renders_the_same_document(tiny_model_dir: Path, seed_rows) -> None:
    model = load_model(tiny_model_dir)
    text = seed_rows[0]["text"]
    view = AuditView.of(model, text, doc_id="seed 0")
    rendered = view._repr_html_()
    assert render_document("seed 0", text, model.segment(text)) in rendered
    assert "<style>" in rendered and "removed-only" in rendered
    assert str(view) == model.extract(text)


def test_cli_writes_the_report_beside_the_text(
    tiny_model_dir: Path, seed_rows, tmp_path: Path, capsys
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for number in range(3):
        (inputs / f"{number}.txt").write_text(seed_rows[number]["text"], encoding="utf-8")
    (inputs / "bad.txt").write_bytes(b"")
    report = tmp_path / "reports" / "report.html"
    code = main(["segment", str(inputs), "--model", str(tiny_model_dir), "--html-report", str(report)])
    out = capsys.readouterr().out
    assert code == 1  # the empty file is skipped, and the report still lists the others
    page = report.read_text(encoding="utf-8")
    parsed = _parse(page)
    assert [s for s in parsed.segments if s["label"] == "main"]
    assert [s for s in parsed.segments if s["label"] == "boilerplate"]
    for number in range(3):
        assert f"<h2>{inputs / f'{number}.txt'}</h2>" in page
    assert "3 document(s):" in page and "bad.txt" not in page
    assert "Interpol said" in out  # the text output is unchanged


def _png_pixels(path: Path) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unsupported PNG layout"
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(chunks)
    stride = width * channels
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for row in range(height):
        offset = row * (stride + 1)
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        colours.update(tuple(line[i : i + 3]) for i in range(0, stride, channels))  # type: ignore[misc]
        previous = line
    return colours


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_a_browser_draws_kept_and_removed_segments_in_their_colours(seed_rows, tmp_path: Path) -> None:
    text = seed_rows[0]["text"]
    lines = [line for line in text.splitlines() if line.strip()]
    segments = _segments(text, [(line, MAIN if len(line) > 60 else BOILERPLATE, 0.5) for line in lines])
    report = tmp_path / "report.html"
    report.write_text(render_page([("seed 0", text, segments)], title="storysplit audit"), encoding="utf-8")
    screenshot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp(dir=tmp_path)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={screenshot}",
        "--window-size=1200,900",
        report.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=120, cwd=tmp_path)
    assert screenshot.exists(), result.stderr.decode(errors="replace")[-2000:]
    keep = Path(__file__).resolve().parent.parent.parent / "runs" / "audit-screenshot.png"
    if keep.parent.exists():  # for a person to look at; runs/ is git-ignored
        shutil.copy(screenshot, keep)
    colours = _png_pixels(screenshot)
    for label, colour in COLOURS.items():
        assert _rgb(colour) in colours, f"no pixel of the {label.value} colour {colour} in the screenshot"

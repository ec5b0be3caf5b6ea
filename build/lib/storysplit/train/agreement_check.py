"""How good are extractor-agreement labels? Measure them on pages that do have gold.

`python -m storysplit.train.agreement_check ../shared/data/news-fixtures [--renderer html_text] [--limit N]`

The folder is laid out like `news-fixtures/`: `html/NNNN.html.gz`, `ground-truth/NNNN.json` with
`ground_truth.main_content`, and optionally `metadata.json` naming each page's gold source. It
prints macro averages over pages, for all pages and per gold source, of:

- (a) bag-of-words token F1 against the gold main text of the segments agreement labels `main`
  (weight > 0), and of the agreement `reference_text`;
- (b) token F1 of each extractor alone (a failed or empty extractor scores as empty text);
- (c) segment label agreement with the gold-aligned labels that the corpus would build
  (`align_document`), over segments neither side calls ambiguous, with main precision/recall.

Pages the agreement labeller skips, or whose rendering holds too little of the gold, are counted.
It lives in `train/` because it uses the corpus code (evaluation never imports `train`).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from storysplit.evaluation.metrics import Counts, bag_of_words, token_counts
from storysplit.train.corpus.agreement import (
    EXTRACTORS,
    MIN_AGREEING,
    AgreementLabels,
    Extraction,
    agreement_reference,
    extract_page,
    label_by_agreement,
    read_html,
)
from storysplit.train.corpus.alignment import AlignmentRules, GoldInfo, LabelledSpan, align_document
from storysplit.train.corpus.renderers import render

AGREEMENT = "agreement main"
REFERENCE = "agreement reference_text"


@dataclass(frozen=True)
class GoldPage:
    """One page with gold: its id, HTML path, gold text and metadata, and which tool made the gold."""

    page_id: str
    html_path: Path
    gold: GoldInfo
    gold_source: str


@dataclass
class PageScores:
    """One page's scores; `tokens` maps a method to its token counts against the gold."""

    page: GoldPage
    tokens: dict[str, Counts] = field(default_factory=dict)
    agreement_rate: float | None = None
    main_precision: float | None = None
    main_recall: float | None = None
    coverage: float | None = None
    skipped: str = ""


def list_gold_pages(folder: Path) -> list[GoldPage]:
    """Every page of a news-fixtures-like folder, in id order."""
    metadata_path = folder / "metadata.json"
    metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else {}
    files = metadata.get("files", {})
    pages = []
    for html_path in sorted((folder / "html").glob("*.html.gz")):
        page_id = html_path.name.removesuffix(".html.gz")
        record = json.loads((folder / "ground-truth" / f"{page_id}.json").read_text(encoding="utf-8"))
        truth = record["ground_truth"]
        gold = GoldInfo(
            str(truth.get("main_content") or ""),
            str(truth.get("title") or ""),
            str(truth.get("author") or ""),
            str(truth.get("publish_date") or ""),
        )
        source = str(files.get(page_id, {}).get("source", "")).split("/")[0] or "unknown"
        pages.append(GoldPage(page_id, html_path, gold, source))
    return pages


def score_page(page: GoldPage, renderer: str, rules: AlignmentRules, min_gold_recall: float) -> PageScores:
    """Extract, label by agreement and compare with the gold; never raises (problems go to `skipped`)."""
    scores = PageScores(page)
    reference = bag_of_words(page.gold.main_text)
    try:
        html = read_html(page.html_path)
        extraction = extract_page(html)
    except (OSError, ValueError, EOFError) as error:
        scores.skipped = f"unreadable: {error}"
        return scores
    for name in EXTRACTORS:
        scores.tokens[name] = token_counts(bag_of_words(extraction.texts.get(name, "")), reference)
    if not extraction.usable:
        scores.skipped = f"fewer than {MIN_AGREEING} extractors produced text"
        return scores
    try:
        text = render(html, renderer)
        labels = label_by_agreement(text, extraction, rules)
        gold_alignment = align_document(text, page.gold, rules)
    except Exception as error:  # one page must not stop the measurement
        scores.skipped = f"{error.__class__.__name__}: {error}"
        return scores
    _score_labels(scores, text, extraction, labels, rules, reference)
    if labels.found_in_text(min_gold_recall) < MIN_AGREEING:
        scores.skipped = "extractors' text not found in the rendering"
    elif not any(span.label.is_main and span.weight > 0 for span in labels.spans):
        scores.skipped = "no segment kept by two extractors"
    elif gold_alignment.gold_recall < min_gold_recall:
        scores.skipped = f"gold not found in the rendering (recall {gold_alignment.gold_recall:.2f})"
    _score_segments(scores, labels.spans, gold_alignment.spans)
    return scores


def _score_labels(
    scores: PageScores,
    text: str,
    extraction: Extraction,
    labels: AgreementLabels,
    rules: AlignmentRules,
    reference: Counter[str],
) -> None:
    main_text = "\n".join(text[s.start : s.end] for s in labels.spans if s.label.is_main and s.weight > 0)
    scores.tokens[AGREEMENT] = token_counts(bag_of_words(main_text), reference)
    agreed = agreement_reference(extraction.texts, rules)
    scores.tokens[REFERENCE] = token_counts(bag_of_words(agreed), reference)


def _score_segments(scores: PageScores, ours: list[LabelledSpan], gold: list[LabelledSpan]) -> None:
    """Label agreement over segments that are unambiguous on both sides (the same segments, same order)."""
    if not ours:
        return
    scores.coverage = sum(not span.ambiguous for span in ours) / len(ours)
    pairs = [
        (mine.label.is_main, theirs.label.is_main)
        for mine, theirs in zip(ours, gold, strict=True)
        if not mine.ambiguous and not theirs.ambiguous
    ]
    if not pairs:
        return
    scores.agreement_rate = sum(ours == theirs for ours, theirs in pairs) / len(pairs)
    main = Counts(
        tp=sum(ours and theirs for ours, theirs in pairs),
        fp=sum(ours and not theirs for ours, theirs in pairs),
        fn=sum(theirs and not ours for ours, theirs in pairs),
    )
    scores.main_precision, scores.main_recall = main.precision, main.recall


def _mean(values: list[float | None]) -> str:
    present = [value for value in values if value is not None]
    return f"{statistics.fmean(present):.3f} (n={len(present)})" if present else "n/a"


def summarize(results: list[PageScores], label: str) -> list[str]:
    """The report lines for one group of pages: macro means and skip counts."""
    used = [result for result in results if not result.skipped]
    lines = [f"{label}: {len(results)} pages, {len(used)} labelled, {len(results) - len(used)} skipped"]
    lines.append("  token F1 / P / R vs gold (macro over pages)")
    for name, group in ((AGREEMENT, used), (REFERENCE, used), *((name, results) for name in EXTRACTORS)):
        counts = [result.tokens[name] for result in group if name in result.tokens]
        f1 = _mean([c.f1 for c in counts])
        precision = _mean([c.precision for c in counts])
        recall = _mean([c.recall for c in counts])
        lines.append(f"    {name:30} F1 {f1}  P {precision}  R {recall}")
    for name in EXTRACTORS:
        on_used = _mean([result.tokens[name].f1 for result in used])
        lines.append(f"    {name + ' (labelled pages)':30} F1 {on_used}")
    lines.append("  segments vs gold-aligned labels (both unambiguous; macro over labelled pages)")
    lines.append(f"    agreement rate {_mean([r.agreement_rate for r in used])}")
    lines.append(f"    main precision {_mean([r.main_precision for r in used])}")
    lines.append(f"    main recall    {_mean([r.main_recall for r in used])}")
    lines.append(f"    share of segments agreement labels unambiguously {_mean([r.coverage for r in used])}")
    return lines


def report(results: list[PageScores]) -> str:
    """All pages, then each gold source, then why pages were skipped and which extractors failed."""
    lines = summarize(results, "all")
    for source in sorted({result.page.gold_source for result in results}):
        lines += summarize([r for r in results if r.page.gold_source == source], f"gold by {source}")
    reasons = Counter(result.skipped.split(" (")[0] for result in results if result.skipped)
    lines.append(
        "skipped: " + (", ".join(f"{reason} ×{count}" for reason, count in reasons.items()) or "none")
    )
    failed = Counter(
        name for r in results for name in EXTRACTORS if r.tokens.get(name, Counts(0, 0, 1)).tp == 0
    )
    lines.append("extractor with no gold word (failed, empty or off target): " + str(dict(failed)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Score agreement labels on every page of a folder with gold and print the report."""
    parser = argparse.ArgumentParser(
        prog="python -m storysplit.train.agreement_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "folder", type=Path, help="folder with html/ and ground-truth/ (news-fixtures layout)"
    )
    parser.add_argument(
        "--renderer", default="html_text", help="renderer of the plain text (default html_text)"
    )
    parser.add_argument("--max-chars", type=int, default=1000, help="segmenter max_chars (default 1000)")
    parser.add_argument("--min-gold-recall", type=float, default=0.5, help="as corpus.min_gold_recall")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # readability logs a traceback for every page it cannot parse
    rules = AlignmentRules(max_chars=args.max_chars)
    pages = list_gold_pages(args.folder)[: args.limit]
    results = [score_page(page, args.renderer, rules, args.min_gold_recall) for page in pages]
    print(f"{args.folder} renderer={args.renderer} max_chars={args.max_chars}")
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Error analysis: the worst documents and what went wrong, kind confusion, and coloured documents.

The notebook `notebooks/01-error-analysis.ipynb` and the report both call these, so what a person
reads in either comes from the same code.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from storysplit.evaluation.runner import DocumentResult, MethodResult
from storysplit.labels import SegmentKind, SegmentLabel

WORST_COUNT = 10
PALETTE = {
    (True, True): "#d9f2d9",  # main kept: right
    (False, False): "#eeeeee",  # boilerplate dropped: right
    (False, True): "#f8d0d0",  # boilerplate kept: wrong
    (True, False): "#fbe3a6",  # main dropped: wrong
}


@dataclass(frozen=True, slots=True)
class WorstDocument:
    """A document the method handled badly, and a short account of why."""

    id: str
    source: str
    renderer: str
    token_f1: float
    problems: str


def worst_documents(result: MethodResult, count: int = WORST_COUNT) -> list[WorstDocument]:
    """The `count` documents with the lowest token F1, each with what went wrong."""
    ranked = sorted(result.documents, key=lambda d: (d.tokens.f1, d.document.id))[:count]
    return [
        WorstDocument(d.document.id, d.document.source, d.document.renderer, d.tokens.f1, describe_errors(d))
        for d in ranked
    ]


def describe_errors(result: DocumentResult) -> str:
    """E.g. "kept 12 related, kept 3 menu, dropped 1 headline; 240 extra words, 12 missed".

    Counts are of segments (weight > 0) per gold kind; the word counts come from the token
    comparison, so HTML methods get them too.
    """
    parts = []
    if result.decisions is not None:
        errors: dict[tuple[bool, SegmentKind], int] = {}
        for gold, kept in zip(result.prepared.gold, result.decisions.keep, strict=True):
            if gold.weight > 0 and bool(kept) != (gold.label is SegmentLabel.MAIN):
                key = (bool(kept), gold.kind)
                errors[key] = errors.get(key, 0) + 1
        for (kept, kind), number in sorted(errors.items(), key=lambda item: (-item[1], item[0][1].value)):
            parts.append(f"{'kept' if kept else 'dropped'} {number} {kind.value}")
    words = f"{int(result.tokens.fp)} extra words, {int(result.tokens.fn)} missed"
    return f"{', '.join(parts)}; {words}" if parts else words


@dataclass(frozen=True, slots=True)
class KindConfusion:
    """How the segments of one gold (label, kind) were decided, by weight."""

    label: SegmentLabel
    kind: SegmentKind
    kept: float
    dropped: float

    @property
    def right_share(self) -> float:
        right = self.kept if self.label is SegmentLabel.MAIN else self.dropped
        total = self.kept + self.dropped
        return right / total if total else 0.0


def kind_confusion(result: MethodResult) -> list[KindConfusion]:
    """Kept and dropped weight per gold (label, kind), main kinds first."""
    table: dict[tuple[SegmentLabel, SegmentKind], list[float]] = {}
    for document in result.documents:
        if document.decisions is None:
            raise ValueError(f"{result.name} reads HTML; it has no segment decisions")
        for gold, kept in zip(document.prepared.gold, document.decisions.keep, strict=True):
            if gold.weight <= 0:
                continue
            cell = table.setdefault((gold.label, gold.kind), [0.0, 0.0])
            cell[0 if kept else 1] += gold.weight
    order = sorted(table, key=lambda key: (key[0] is not SegmentLabel.MAIN, key[1].value))
    return [KindConfusion(label, kind, *table[(label, kind)]) for label, kind in order]


def document_html(result: DocumentResult, max_segments: int | None = None) -> str:
    """One document as HTML, each segment coloured by decision against gold, with p(main) and kind.

    Green: main kept; grey: boilerplate dropped; red: boilerplate kept; amber: main dropped.
    """
    if result.decisions is None:
        raise ValueError("only text methods have per-segment decisions to show")
    rows = []
    items = zip(result.prepared.segmented.segments, result.prepared.gold, result.decisions.keep, strict=True)
    probabilities = result.decisions.probabilities
    for index, (segment, gold, kept) in enumerate(items):
        if max_segments is not None and index >= max_segments:
            rows.append(f"<tr><td colspan='4'>… {len(probabilities) - index} more segments</td></tr>")
            break
        colour = PALETTE[(gold.label is SegmentLabel.MAIN, bool(kept))]
        rows.append(
            f"<tr style='background:{colour}'><td>{probabilities[index]:.2f}</td>"
            f"<td>{gold.label.value}</td><td>{gold.kind.value}</td>"
            f"<td>{html.escape(segment.text[:300])}</td></tr>"
        )
    header = (
        f"<h4>{html.escape(result.document.id)} ({html.escape(result.document.renderer)}): "
        f"token F1 {result.tokens.f1:.3f}</h4>"
    )
    table = "<tr><th>p(main)</th><th>gold</th><th>kind</th><th>text</th></tr>" + "".join(rows)
    return f"{header}<table style='font-size:small'>{table}</table>"


def documents_by_id(result: MethodResult, ids: Sequence[str]) -> list[DocumentResult]:
    """The results for `ids`, in that order (e.g. the worst documents, to display)."""
    index = {d.document.id: d for d in result.documents}
    return [index[i] for i in ids]

"""Plain-text baselines that need no training: keep everything, keep the top, jusText on lines.

With C4 and Gopher (`evaluation.line_rules`) they bound the model from below: a model that does
not beat them on token F1 is not worth its embedding cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from storysplit.evaluation.line_rules import C4Lines, GopherLines
from storysplit.evaluation.methods import SegmentDecisions, SegmentedText, TextMethod, line_groups, line_texts


class KeepAll:
    """Keeps every segment: the score of doing nothing, and the upper bound on recall."""

    name = "keep_all"
    graded = False

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return [SegmentDecisions.from_keep([True] * len(d.segments)) for d in documents]


class FirstLines:
    """Keeps the first `lines` source lines: stories usually come before the page's tail.

    Args:
        lines: How many lines from the top to keep.
    """

    graded = False

    def __init__(self, lines: int = 20) -> None:
        if lines < 1:
            raise ValueError(f"lines must be >= 1, got {lines}")
        self.lines = lines
        self.name = f"first_{lines}_lines"

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        decisions = []
        for document in documents:
            keep = [False] * len(document.segments)
            for group in line_groups(document)[: self.lines]:
                for index in group:
                    keep[index] = True
            decisions.append(SegmentDecisions.from_keep(keep))
        return decisions


class JustextLines:
    """jusText's paragraph classifier and its context revision, with each text line as a paragraph.

    Plain text has no links or headings, so link density is 0 and no paragraph is a heading; the
    length and stop-word density rules and the short/near-good revision by neighbours carry the
    decision, as in jusText's published algorithm with its default thresholds.

    Args:
        language: A stoplist name known to `justext.get_stoplist`.
    """

    name = "justext_lines"
    graded = False

    def __init__(self, language: str = "English") -> None:
        import justext

        self.stoplist = justext.get_stoplist(language)

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return [self._decide_one(document) for document in documents]

    def _decide_one(self, document: SegmentedText) -> SegmentDecisions:
        from justext.core import PathInfo, classify_paragraphs, revise_paragraph_classification
        from justext.paragraph import Paragraph

        lines = line_texts(document)
        paragraphs = []
        for _, text in lines:
            paragraph = Paragraph(PathInfo().append("body").append("p"))
            paragraph.append_text(text)
            paragraphs.append(paragraph)
        classify_paragraphs(paragraphs, self.stoplist)
        revise_paragraph_classification(paragraphs)
        keep = [False] * len(document.segments)
        for (group, _), paragraph in zip(lines, paragraphs, strict=True):
            for index in group:
                keep[index] = not paragraph.is_boilerplate
        return SegmentDecisions.from_keep(keep)


def text_baselines(first_lines: int = 20) -> list[TextMethod]:
    """Every plain-text baseline, in table order."""
    return [KeepAll(), FirstLines(first_lines), C4Lines(), GopherLines(), JustextLines()]

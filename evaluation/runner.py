"""Run methods over an evaluation set and keep every per-document score, for tables, plots and gates.

Documents are segmented and tokenised once; each text method then only supplies decisions, so the
model and the baselines are scored by exactly the same code.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

import numpy as np

from storysplit.evaluation.baselines import text_baselines
from storysplit.evaluation.data import (
    EvalDocument,
    EvalSet,
    SegmentGold,
    load_eval_set,
    segment_gold,
    segments_of,
)
from storysplit.evaluation.html_baselines import read_html
from storysplit.evaluation.methods import (
    HtmlMethod,
    ModelMethod,
    SegmentDecisions,
    SegmentedText,
    SegmentingModel,
    TextMethod,
)
from storysplit.evaluation.metrics import (
    Counts,
    SegmentCounts,
    bag_of_words,
    kept_boilerplate_words,
    kind_outcomes,
    segment_counts,
    token_counts,
)
from storysplit.labels import SegmentKind, SegmentLabel, SegmentRegion, story_regions

COMPOSED_RENDERER = "mixture"
ORACLE_METHOD_NAME = "oracle"
REGION_ORACLE_METHOD_NAME = "region_oracle"
WITHOUT_SITES_METHOD_NAME = "model_without_sites"


class MethodKind(str, Enum):
    """What a method reads: the plain text (like the model) or the original HTML."""

    TEXT = "text"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document segmented and tokenised once for all methods."""

    document: EvalDocument
    segmented: SegmentedText
    gold: tuple[SegmentGold, ...]
    segment_bags: tuple[Counter[str], ...]
    reference_bag: Counter[str]

    def kept_bag(self, keep: np.ndarray) -> Counter[str]:
        """Tokens of the kept segments (tokens never cross segments, so bags add up)."""
        bag: Counter[str] = Counter()
        for segment_bag, kept in zip(self.segment_bags, keep, strict=True):
            if kept:
                bag.update(segment_bag)
        return bag


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """One method's scores on one document; decision and segment fields are None for HTML methods."""

    prepared: PreparedDocument
    tokens: Counts
    decisions: SegmentDecisions | None
    segments: SegmentCounts | None
    kinds: dict[tuple[SegmentLabel, SegmentKind], tuple[float, float]] | None
    boilerplate_words: dict[str, tuple[int, int]] | None = None
    """Per group of boilerplate kinds, (words kept, words in all) (`metrics.kept_boilerplate_words`)."""

    @property
    def document(self) -> EvalDocument:
        return self.prepared.document


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One method's results over one evaluation set."""

    name: str
    kind: MethodKind
    graded: bool
    documents: tuple[DocumentResult, ...]


@dataclass(frozen=True, slots=True)
class SetResult:
    """All methods' results over one data spec."""

    spec: str
    fingerprint: str
    documents: int
    methods: tuple[MethodResult, ...]

    def method(self, name: str) -> MethodResult:
        """The result of the method called `name`."""
        for result in self.methods:
            if result.name == name:
                return result
        names = [m.name for m in self.methods]
        raise KeyError(f"no method {name!r} in results for {self.spec!r}; have {names}")


def prepare(eval_set: EvalSet, max_chars: int) -> list[PreparedDocument]:
    """Segment every document with the model's setting and tokenise segments and references."""
    prepared = []
    for document in eval_set.documents:
        segments = tuple(segments_of(document, max_chars))
        prepared.append(
            PreparedDocument(
                document=document,
                segmented=SegmentedText(document.text, segments, document.site),
                gold=tuple(segment_gold(document, segments)),
                segment_bags=tuple(bag_of_words(s.text) for s in segments),
                reference_bag=bag_of_words(document.reference_text),
            )
        )
    return prepared


def evaluate_set(
    eval_set: EvalSet,
    max_chars: int,
    text_methods: Sequence[TextMethod],
    html_methods: Sequence[HtmlMethod] = (),
    data_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SetResult:
    """Score every method on every document of `eval_set`, and the oracle beside them.

    HTML methods run only on documents with an `html_path`, and only when `data_dir` is given.
    `progress` is told each method's name, documents and seconds as it finishes: an HTML
    extractor can take minutes on a large set.
    """
    prepared = prepare(eval_set, max_chars)
    with_html = [p for p in prepared if p.document.html_path] if data_dir is not None else []
    scored: list[TextMethod] = [*text_methods, GoldOracle(prepared), RegionOracle(prepared)]
    total = len(scored) + (len(html_methods) if with_html else 0)
    results: list[MethodResult] = []

    def record(result: MethodResult, started: float) -> None:
        results.append(result)
        if progress is not None:
            seconds = time.perf_counter() - started
            progress(
                f"{eval_set.spec} [{len(results)}/{total}] {result.name}: "
                f"{len(result.documents)} documents in {seconds:.1f} s"
            )

    for method in scored:
        started = time.perf_counter()
        record(run_text_method(method, prepared), started)
    if data_dir is not None and with_html:
        for html_method in html_methods:
            started = time.perf_counter()
            record(run_html_method(html_method, with_html, data_dir), started)
    return SetResult(eval_set.spec, eval_set.fingerprint, len(prepared), tuple(results))


class GoldOracle:
    """Keeps exactly the segments whose words are mostly gold: the most any segment labeller reaches.

    A segment's gold label is the majority of its aligned tokens (ambiguous segments included), so
    what this misses is what our segmentation cannot separate: a line that is half story, a gold
    text that the page does not hold, words the renderer changed.
    """

    name = ORACLE_METHOD_NAME
    graded = False

    def __init__(self, prepared: Sequence[PreparedDocument]) -> None:
        self._gold = {id(item.segmented): item.gold for item in prepared}

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return [
            SegmentDecisions.from_keep([g.label is SegmentLabel.MAIN for g in self._gold[id(document)]])
            for document in documents
        ]


class RegionOracle(GoldOracle):
    """Keeps the mostly-gold segments of the page's story region only (`storysplit.labels.story_regions`).

    Beside `GoldOracle`, it measures what assuming the page's structure costs: one story region,
    boilerplate inside it dropped line by line, everything before and after it dropped, even the
    main text there (a headline above a long menu, a line a loose gold keeps under the comments).
    """

    name = REGION_ORACLE_METHOD_NAME

    def __init__(self, prepared: Sequence[PreparedDocument]) -> None:
        super().__init__(prepared)
        self._sizes = {
            id(item.segmented): [sum(bag.values()) for bag in item.segment_bags] for item in prepared
        }

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        decisions = []
        for document in documents:
            main = [g.label is SegmentLabel.MAIN for g in self._gold[id(document)]]
            regions = story_regions(main, self._sizes[id(document)])
            decisions.append(
                SegmentDecisions.from_keep([region is SegmentRegion.STORY for region in regions])
            )
        return decisions


def compact(result: SetResult) -> SetResult:
    """`result` without the documents' texts, segments and word bags: scores, ids and groupings stay.

    A leave-one-source-out run holds every fold's results until its report; the texts are most of
    their memory and no table needs them.
    """
    light: dict[int, PreparedDocument] = {}

    def lighter(prepared: PreparedDocument) -> PreparedDocument:
        if id(prepared) not in light:
            document = replace(prepared.document, text="", reference_text="", spans=())
            light[id(prepared)] = PreparedDocument(
                document, SegmentedText("", (), document.site), prepared.gold, (), Counter()
            )
        return light[id(prepared)]

    methods = tuple(
        replace(method, documents=tuple(replace(d, prepared=lighter(d.prepared)) for d in method.documents))
        for method in result.methods
    )
    return replace(result, methods=methods)


def run_text_method(method: TextMethod, prepared: Sequence[PreparedDocument]) -> MethodResult:
    """Decisions of a text method on every document, scored on tokens, segments and kinds."""
    decisions = method.decide([p.segmented for p in prepared])
    if len(decisions) != len(prepared):
        raise ValueError(f"{method.name} answered {len(decisions)} documents for {len(prepared)}")
    documents = []
    for item, decision in zip(prepared, decisions, strict=True):
        if decision.keep.shape != (len(item.gold),):
            raise ValueError(
                f"{method.name} gave {decision.keep.shape} decisions for {len(item.gold)} segments "
                f"of {item.document.id}"
            )
        documents.append(
            DocumentResult(
                prepared=item,
                tokens=token_counts(item.kept_bag(decision.keep), item.reference_bag),
                decisions=decision,
                segments=segment_counts(item.gold, decision.keep),
                kinds=kind_outcomes(item.gold, decision.keep),
                boilerplate_words=kept_boilerplate_words(item.gold, item.segment_bags, decision.keep),
            )
        )
    return MethodResult(method.name, MethodKind.TEXT, method.graded, tuple(documents))


def run_html_method(method: HtmlMethod, prepared: Sequence[PreparedDocument], data_dir: Path) -> MethodResult:
    """Token scores of an HTML extractor on the documents rendered from HTML.

    Rows rendered from the same page share its HTML, so each page is extracted once. Composed
    (`mixture`) rows are skipped: their reference is a cut story glued to other pages' text, which
    the page's HTML does not hold, so scoring an HTML tool on them would measure the mixing.
    """
    extracted_by_page: dict[str, str] = {}
    documents = []
    for item in prepared:
        if item.document.renderer == COMPOSED_RENDERER:
            continue
        page = item.document.html_path
        if page not in extracted_by_page:
            extracted_by_page[page] = method.extract(read_html(data_dir, page))
        extracted = extracted_by_page[page]
        documents.append(
            DocumentResult(
                prepared=item,
                tokens=token_counts(bag_of_words(extracted), item.reference_bag),
                decisions=None,
                segments=None,
                kinds=None,
            )
        )
    return MethodResult(method.name, MethodKind.HTML, False, tuple(documents))


def evaluate_all(
    model: SegmentingModel,
    specs: Sequence[str],
    seeds_dir: Path,
    data_dir: Path,
    first_lines: int = 20,
    html_methods: Sequence[HtmlMethod] = (),
    progress: Callable[[str], None] | None = None,
) -> list[SetResult]:
    """The model and every plain-text baseline (and the HTML extractors) on each data spec.

    Where a spec's documents belong to crawls (`EvalDocument.site`), the model reads their site
    evidence, and is scored once more on each page alone (`model_without_sites`) to show its worth.
    """
    results = []
    for spec in specs:
        eval_set = load_eval_set(spec, seeds_dir)
        methods: list[TextMethod] = [ModelMethod(model)]
        if any(document.site is not None for document in eval_set.documents):
            methods.append(ModelMethod(model, WITHOUT_SITES_METHOD_NAME, sites=False))
        methods += text_baselines(first_lines)
        results.append(evaluate_set(eval_set, model.max_chars, methods, html_methods, data_dir, progress))
    return results

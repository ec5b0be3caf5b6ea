"""Labelled documents to evaluate on: data specs, corpus rows, gold per segment and fingerprints.

A *data spec* names one set of documents on the command line:

- `seeds`: the five hand-labelled seed documents (`evaluation.seeds.load_seed_rows`);
- `PATH.jsonl`: one corpus row per line (see `train.corpus.schema`);
- `DIR:SPLIT`: a split of a `DatasetDict` saved with `save_to_disk` (e.g. `data/corpus:validation`);
- `DIR`: a single `Dataset` saved with `save_to_disk`;
- `crawl:DIR:SPLIT`: synthetic crawls made from that split (`evaluation.synthetic_crawl`): one
  site's template wrapped around stories of other sites, page after page.

Rows are checked once here, so metrics and methods can trust them.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.errors import StorysplitError
from storysplit.evaluation.seeds import load_seed_rows
from storysplit.evaluation.synthetic_crawl import CRAWL_SPEC_PREFIX, crawl_rows
from storysplit.features.segmentation import Segment, best_overlaps, split_document
from storysplit.labels import SegmentKind, SegmentLabel

SEEDS_SPEC = "seeds"
# Seeds are read with whole-line spans (gold.jsonl labels lines) whatever the model's max_chars, so
# their fingerprint does not depend on it; `segment_gold` projects lines onto any segmentation.
SEED_SPAN_MAX_CHARS = 1_000_000_000
REQUIRED_FIELDS = ("id", "text", "source", "renderer", "reference_text", "spans")


class DataSpecError(StorysplitError):
    """A data spec names nothing readable, or its rows are not in the corpus format."""


@dataclass(frozen=True, slots=True)
class GoldSpan:
    """A labelled character span of a document, as the corpus row gives it."""

    start: int
    end: int
    label: SegmentLabel
    kind: SegmentKind
    weight: float


@dataclass(frozen=True, slots=True)
class EvalDocument:
    """One labelled document: the text a scraper left and the gold that goes with it."""

    id: str
    text: str
    source: str
    renderer: str
    reference_text: str
    html_path: str
    spans: tuple[GoldSpan, ...]
    language: str = ""
    """ISO 639-1 code of the story's language ("" where the row does not say)."""
    site: str | None = None
    """The crawl the page belongs to (`document_site`): its pages give each other site evidence."""


@dataclass(frozen=True, slots=True)
class EvalSet:
    """The documents a data spec names, with the fingerprint that identifies their content."""

    spec: str
    documents: tuple[EvalDocument, ...]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.documents)


@dataclass(frozen=True, slots=True)
class SegmentGold:
    """Gold for one segment: the label, kind and weight of the span it overlaps most (weight 0 if none)."""

    label: SegmentLabel
    kind: SegmentKind
    weight: float


def load_eval_set(spec: str, seeds_dir: Path) -> EvalSet:
    """Read the documents a data spec names.

    Args:
        spec: A data spec (see the module docstring).
        seeds_dir: Folder with the seed texts and `gold.jsonl`, used for the `seeds` spec.

    Raises:
        DataSpecError: the spec names nothing readable or a row is malformed.
    """
    rows = read_rows(spec, seeds_dir)
    documents = tuple(document_from_row(row, f"{spec} row {i}") for i, row in enumerate(rows))
    if not documents:
        raise DataSpecError(f"data spec {spec!r} holds no documents")
    return EvalSet(spec, documents)


def sample_eval_set(eval_set: EvalSet, size: int, seed: int = 0) -> EvalSet:
    """A fixed random subset of `size` documents (all of them if fewer), in their original order.

    The spec gets a suffix so that floors set on the full data are never compared with a sample.
    """
    if size >= len(eval_set.documents):
        return eval_set
    chosen = sorted(random.Random(seed).sample(range(len(eval_set.documents)), size))
    return EvalSet(f"{eval_set.spec}#sample{size}", tuple(eval_set.documents[i] for i in chosen))


def document_from_row(row: Mapping[str, Any], where: str = "row") -> EvalDocument:
    """An `EvalDocument` from a corpus row; unknown labels or kinds are errors, not guesses."""
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        raise DataSpecError(f"{where} lacks field(s) {', '.join(missing)}; expected corpus rows")
    try:
        spans = tuple(
            GoldSpan(
                int(span["start"]),
                int(span["end"]),
                SegmentLabel(span["label"]),
                SegmentKind(span.get("kind") or SegmentKind.UNKNOWN.value),
                float(span.get("weight", 1.0)),
            )
            for span in row["spans"]
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataSpecError(f"{where} ({row['id']}) has an invalid span: {error}") from None
    return EvalDocument(
        id=str(row["id"]),
        text=str(row["text"]),
        source=str(row["source"]),
        renderer=str(row["renderer"]),
        reference_text=str(row["reference_text"]),
        html_path=str(row.get("html_path") or ""),
        spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
        language=str(row.get("language") or ""),
        site=document_site(row),
    )


SITELESS_RENDERERS = frozenset({"mixture", "scraped"})
"""Renderers of documents that belong to no crawl: composed mixtures and the single scraped seeds."""


def document_site(row: Mapping[str, Any]) -> str | None:
    """The crawl a corpus row's page belongs to: its site as rendered by its renderer, or None.

    A crawl is rendered by one scraper, so a page's other renderings are other crawls: grouped by
    site alone, they would hold every story line twice. Mixtures and the seeds belong to none.
    """
    renderer, domain = str(row.get("renderer") or ""), str(row.get("domain") or "")
    if renderer in SITELESS_RENDERERS or not domain:
        return None
    return f"{domain} {renderer}"


def fingerprint(documents: Iterable[EvalDocument]) -> str:
    """SHA-256 over ids, texts and spans, so a floor is only compared against the data it was set on."""
    digest = hashlib.sha256()
    for document in documents:
        spans = [[s.start, s.end, s.label.value, s.kind.value, round(s.weight, 6)] for s in document.spans]
        record = json.dumps([document.id, document.text, spans], ensure_ascii=False, separators=(",", ":"))
        digest.update(record.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def segment_gold(document: EvalDocument, segments: Sequence[Segment]) -> list[SegmentGold]:
    """Gold per segment: each takes the span it overlaps most, so any `max_chars` can be scored."""
    spans = document.spans
    unlabelled = SegmentGold(SegmentLabel.BOILERPLATE, SegmentKind.UNKNOWN, 0.0)
    return [
        unlabelled if best is None else SegmentGold(spans[best].label, spans[best].kind, spans[best].weight)
        for best in best_overlaps([(span.start, span.end) for span in spans], segments)
    ]


def segments_of(document: EvalDocument, max_chars: int) -> list[Segment]:
    """The segments every text method labels (the model's own segmenter setting)."""
    return split_document(document.text, max_chars)


def read_rows(spec: str, seeds_dir: Path) -> list[Mapping[str, Any]]:
    """The corpus rows a data spec names, before they become `EvalDocument`s (`load_eval_set`).

    Raises:
        DataSpecError: the spec names no readable data.
    """
    if spec == SEEDS_SPEC:
        if not (seeds_dir / "gold.jsonl").is_file():
            raise DataSpecError(f"no gold.jsonl in seeds folder {seeds_dir}; pass --seeds-dir")
        return list(load_seed_rows(seeds_dir, SEED_SPAN_MAX_CHARS))
    if spec.endswith(".jsonl"):
        return _read_jsonl(Path(spec))
    if spec.startswith(CRAWL_SPEC_PREFIX):
        return list(crawl_rows(read_rows(spec.removeprefix(CRAWL_SPEC_PREFIX), seeds_dir)))
    path, _, split = spec.rpartition(":") if ":" in spec else (spec, "", "")
    folder = Path(path)
    if not folder.is_dir():
        raise DataSpecError(
            f"unknown data spec {spec!r}: expected 'seeds', a .jsonl file or a saved dataset "
            f"folder as DIR or DIR:SPLIT (no folder {folder})"
        )
    return _read_saved_dataset(folder, split, spec)


def _read_jsonl(path: Path) -> list[Mapping[str, Any]]:
    if not path.is_file():
        raise DataSpecError(f"no such JSONL file: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise DataSpecError(f"{path}:{number} is not JSON: {error.msg}") from None
    return rows


def _read_saved_dataset(folder: Path, split: str, spec: str) -> list[Mapping[str, Any]]:
    from datasets import Dataset, DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(folder))
    except FileNotFoundError as error:
        raise DataSpecError(f"{folder} is not a dataset saved with save_to_disk: {error}") from None
    if isinstance(loaded, DatasetDict):
        if not split:
            raise DataSpecError(
                f"{folder} is a DatasetDict with splits {sorted(loaded)}; name one, e.g. {folder}:validation"
            )
        if split not in loaded:
            raise DataSpecError(f"{spec!r}: no split {split!r}; {folder} has splits {sorted(loaded)}")
        dataset: Dataset = loaded[split]
    else:
        if split:
            raise DataSpecError(f"{spec!r}: {folder} is a single Dataset, it has no splits")
        dataset = loaded
    return list(dataset)

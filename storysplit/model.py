"""Load a trained model folder and label the segments of documents.

The inference path is: segment → embed (one batch across all documents) → context features →
the page-level sequence labeller over each document's rows (`storysplit.sequence_head`) →
repeats of kept segments dropped → threshold. `StorySplitModel` holds only what that path needs;
training code builds the same object from the same pieces.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.artifact import MANIFEST, load_labeller, manifest_digest, read_manifest
from storysplit.bundled import DEFAULT_MODEL, MODELS_DIR, bundled_encoder
from storysplit.errors import ModelLoadError
from storysplit.features.batch import FeaturizedDocuments, featurize_documents
from storysplit.features.context import FEATURE_VERSION, segment_words, site_columns
from storysplit.features.encoders import HASHING, SegmentEncoder, build_encoder, resolve_model_path
from storysplit.features.model_folder import model_fingerprint
from storysplit.features.repeats import drop_repeats
from storysplit.features.segmentation import LINE_BREAK, Segment, encodable_text
from storysplit.features.site_evidence import SiteTable, template_rows
from storysplit.labels import SegmentLabel
from storysplit.sections import (
    DecisionConfig,
    EncoderConfig,
    FeatureConfig,
    SegmenterConfig,
    section_from_dict,
)

# A model folder's own copy of its encoder, found before any other (`locate_encoder`).
ENCODER_FOLDER = "encoder"
MODEL_ENV = "STORYSPLIT_MODEL"
"""Names the model folder commands load unless `--model` names another (default: the shipped one)."""
# Allocations between collections of young objects once a labelling process is set up (default 700).
YOUNG_COLLECTION_THRESHOLD = 50_000


@dataclass(frozen=True, slots=True)
class LabelledSegment:
    """A segment of the input with its label and posterior probability of being main text."""

    start: int
    end: int
    label: SegmentLabel
    probability: float


class StorySplitModel:
    """A page-level segment labeller: every segment of a document judged with the whole page in view.

    Args:
        labeller: Fitted sequence labeller with `predict_proba(documents)` (a list of per-document
            feature rows → (total segments, 2), class 1 main): a `SequenceHead` when loaded from a
            folder, and during training too (made from the torch labeller's arrays).
        encoder: Embeds segment texts.
        segmenter: How documents are split.
        features: Context feature settings.
        decision: Threshold and repeat dropping.
        manifest: What the model folder says about itself (empty for an unsaved model).
        manifest_sha256: SHA-256 of the folder's manifest.json, which names the model (None for an
            unsaved model); `storysplit serve` reports it on /health.
    """

    def __init__(
        self,
        labeller: Any,
        encoder: SegmentEncoder,
        segmenter: SegmenterConfig,
        features: FeatureConfig,
        decision: DecisionConfig,
        manifest: dict[str, Any] | None = None,
        manifest_sha256: str | None = None,
    ) -> None:
        self.labeller = labeller
        self.encoder = encoder
        self.segmenter = segmenter
        self.features = features
        self.decision = decision
        self.manifest = manifest or {}
        self.manifest_sha256 = manifest_sha256

    def with_decision(self, **changes: Any) -> StorySplitModel:
        """The same model with other decision settings (`DecisionConfig` fields), e.g. to score
        the labeller without one of its rules; the labeller and encoder are shared, not copied."""
        return StorySplitModel(
            self.labeller,
            self.encoder,
            self.segmenter,
            self.features,
            replace(self.decision, **changes),
            self.manifest,
            self.manifest_sha256,
        )

    @property
    def max_chars(self) -> int:
        return self.segmenter.max_chars

    @property
    def threshold(self) -> float:
        return self.decision.threshold

    def featurize(
        self,
        texts: Sequence[str],
        sites: Sequence[str | None] | None = None,
        site_table: SiteTable | None = None,
    ) -> FeaturizedDocuments:
        """Segments and feature rows for `texts` (exposed for training and analysis).

        Args:
            texts: The documents.
            sites: Per document, the site (crawl) it belongs to, or None; its other pages give it
                site evidence: the share of them that hold each of its lines. None: each page alone.
            site_table: The sites' line counts over a whole corpus, these documents included
                (`features.site_evidence.SiteLineCounter`); None counts the pages of this call.

        Raises:
            TypeError: `texts` is one string, or holds something other than strings (bytes: decode
                them first, e.g. with `storysplit.documents.decode_document`).
        """
        if isinstance(texts, str):
            raise TypeError("expected a list of documents, got one str; use segment(text) or extract(text)")
        for number, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"document {number} is {type(text).__name__}, not str; decode it first")
        return featurize_documents(
            [encodable_text(text) for text in texts],
            self.encoder,
            self.max_chars,
            self.features.window,
            self.features.lead_segments,
            sites,
            site_table,
        )

    def labeller_probabilities(self, features: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """p(main) per feature row, before repeats are dropped. Shape (n_rows,).

        Args:
            features: (n_rows, n_features) rows of many documents, concatenated.
            offsets: (n_documents + 1,) rows `offsets[i]:offsets[i + 1]` belong to document i.
        """
        documents = [features[a:b] for a, b in pairwise(offsets)]
        if features.shape[0] == 0:
            return np.zeros(0)
        return np.asarray(self.labeller.predict_proba(documents)[:, 1], dtype=np.float64)

    def predict_proba(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: SiteTable | None = None,
    ) -> list[np.ndarray]:
        """Per document, the final p(main) of each segment, shape (n_segments,).

        `threshold` matters only for repeat dropping: a repeat of a segment kept at that threshold
        gets probability 0, as does a line of its site's template (`decision.drop_site_template`).
        `sites` and `site_table` as for `featurize`.
        """
        cut = self.threshold if threshold is None else threshold
        return self._probabilities(self.featurize(texts, sites, site_table), cut)[1]

    def segment_many(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: SiteTable | None = None,
    ) -> list[list[LabelledSegment]]:
        """Per document, its segments with labels and probabilities, all documents in one batch.

        Pages of one site (`sites`) judge each other's recurring lines: menus, footers and widgets
        recur across a site's pages, stories do not. `site_table` as for `featurize`.
        """
        cut = self.threshold if threshold is None else threshold
        batch = self.featurize(texts, sites, site_table)
        segments, probabilities = self._probabilities(batch, cut)
        words = segment_words(batch.features)
        return [
            [
                LabelledSegment(seg.start, seg.end, label, p)
                for seg, label, p in zip(
                    doc_segments,
                    self._labels(doc_probs, words[batch.rows(i)], cut),
                    doc_probs.tolist(),
                    strict=True,
                )
            ]
            for i, (doc_segments, doc_probs) in enumerate(zip(segments, probabilities, strict=True))
        ]

    def segment(self, text: str, threshold: float | None = None) -> list[LabelledSegment]:
        """One document's segments with labels and probabilities."""
        return self.segment_many([text], threshold)[0]

    def extract_many(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: SiteTable | None = None,
    ) -> list[str]:
        """Per document, the kept segments' text joined with newlines (`sites` as for `segment_many`)."""
        labelled = self.segment_many(texts, threshold, sites, site_table)
        return [
            join_segments(text, [s for s in doc if s.label is SegmentLabel.MAIN])
            for text, doc in zip(texts, labelled, strict=True)
        ]

    def extract(self, text: str, threshold: float | None = None) -> str:
        """The main story of one document as text: one kept segment per line, paragraphs apart."""
        return self.extract_many([text], threshold)[0]

    def _labels(self, probabilities: np.ndarray, words: np.ndarray, threshold: float) -> list[SegmentLabel]:
        """Main where p >= threshold, boilerplate elsewhere (one comparison for the whole document).

        A page has a story (`decision.fallback`): where the segments kept hold fewer than
        `decision.fallback_words` words, the segments with at least `decision.fallback_share` of
        the best p(main) are main instead, when that threshold is the lower (none where every
        segment is at 0: dropped as its site's template or as repeats). A page whose model ranked
        a short block (a sign-in box, teasers) above a lukewarm story gets the story back; one
        with a story of its own is untouched (docs/results.md).
        """
        keep = probabilities >= threshold
        decision = self.decision
        best = float(probabilities.max()) if probabilities.size else 0.0
        if decision.fallback and best > 0 and words[keep].sum() < decision.fallback_words:
            keep = probabilities >= min(threshold, decision.fallback_share * best)
        return [_LABELS[kept] for kept in keep.tolist()]

    def _probabilities(
        self, batch: FeaturizedDocuments, threshold: float
    ) -> tuple[list[list[Segment]], list[np.ndarray]]:
        probabilities = self.labeller_probabilities(batch.features, batch.offsets)
        if self.decision.drop_site_template:
            probabilities = np.where(template_rows(site_columns(batch.features)), 0.0, probabilities)
        per_document = [probabilities[batch.rows(i)] for i in range(len(batch.segments))]
        if self.decision.drop_repeats:
            per_document = [
                drop_repeats(keys, document, threshold)
                for keys, document in zip(batch.repeat_keys, per_document, strict=True)
            ]
        return batch.segments, per_document


def join_segments(text: str, segments: Sequence[LabelledSegment]) -> str:
    """The text of `segments`, one per line, with a blank line where the input has one between them.

    Sentences of one source line stay on one line. Two segments get a blank line between them when
    the input between them holds a blank (whitespace-only) line, so paragraphs stay paragraphs;
    lines that were merely adjacent stay adjacent.
    """
    lines: list[list[str]] = []  # each output line's pieces, joined once at the end (linear time)
    previous_end: int | None = None
    for segment in segments:
        piece = text[segment.start : segment.end]
        if previous_end is None:
            lines.append([piece])
        elif not LINE_BREAK.search(text, previous_end, segment.start):
            lines[-1].append(piece)
        else:
            if _has_blank_line(text[previous_end : segment.start]):
                lines.append([])
            lines.append([piece])
        previous_end = segment.end
    return "\n".join(" ".join(line) for line in lines)


def _has_blank_line(gap: str) -> bool:
    """Whether `gap` (text from one segment's end to a later one's start) holds a whole blank line.

    `str.splitlines` breaks where `LINE_BREAK` matches; the first piece is the end of the earlier
    segment's line and a last piece without a break is the start of the later one's, so only the
    pieces in between are whole lines.
    """
    lines = gap.splitlines(keepends=True)[1:]
    return any(not line.strip() and LINE_BREAK.match(line[-1]) for line in lines)


def load_model(name_or_path: str | Path | None = None) -> StorySplitModel:
    """Load a model folder written by training; refuses tampered, foreign or mismatched folders.

    Args:
        name_or_path: A model folder, or the name of a model shipped with the package
            (`default`); None loads the shipped default model, from any working folder.

    Raises:
        ModelLoadError: missing folder or files, bad checksums, a labeller whose arrays are not
            plain numbers of the expected layout, a feature version or encoder other than the one
            the labeller was trained with, or a folder of another model schema.
    """
    folder = model_folder(name_or_path)
    manifest = read_manifest(folder)
    if manifest.get("feature_version") != FEATURE_VERSION:
        raise ModelLoadError(
            f"{folder} was trained on feature version {manifest.get('feature_version')!r}, this "
            f"storysplit computes version {FEATURE_VERSION!r}; retrain the model"
        )
    try:
        segmenter = section_from_dict(SegmenterConfig, manifest["segmenter"])
        encoder_config = section_from_dict(EncoderConfig, manifest["encoder"]["config"])
        features = section_from_dict(FeatureConfig, manifest["features"])
        decision = section_from_dict(DecisionConfig, manifest["decision"])
        expected_fingerprint = str(manifest["encoder"]["fingerprint"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{folder}/manifest.json is incomplete or invalid: {error}") from None
    located = locate_encoder(folder, encoder_config.model, expected_fingerprint)
    if located is not None:
        encoder_config = replace(encoder_config, model=str(located))
    encoder = encoder_from_config(encoder_config)
    if located is None and encoder.fingerprint != expected_fingerprint:
        raise ModelLoadError(
            _wrong_encoder(encoder_config.model, [encoder.fingerprint], expected_fingerprint)
        )
    labeller = load_labeller(folder, manifest)
    return StorySplitModel(
        labeller, encoder, segmenter, features, decision, manifest, manifest_digest(folder)
    )


def tune_gc_for_labelling() -> None:
    """Take every object alive now (modules, a loaded model) out of the garbage collector's walks,
    and collect young objects less often.

    For a process that loads a model and then labels until it ends (the commands, their workers):
    otherwise the collector walks these long-lived objects again and again as labelling
    allocates, and forked workers share them without copying. Labelling allocates a few objects
    per segment and almost no cycles, yet at the default threshold the collector still ran
    over and over in every bench pass; at `YOUNG_COLLECTION_THRESHOLD`, hardly at all (docs/speed.md).
    `load_model` does not do this itself: frozen objects are never collected, which is the process
    owner's call, not a library's.
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def model_folder(name_or_path: str | Path | None) -> Path:
    """The folder `load_model` reads: a path that exists, else the shipped model of that name.

    Raises:
        ModelLoadError: neither a folder nor the name of a shipped model.
    """
    if name_or_path is None:
        return DEFAULT_MODEL
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = MODELS_DIR / path.name
    if path.name == str(name_or_path) and (shipped / MANIFEST).is_file():
        return shipped
    raise ModelLoadError(
        f"model folder not found: {path} (and no model of that name ships with storysplit; "
        f"load_model() with no argument loads the shipped default)"
    )


def locate_encoder(folder: Path, model: str, fingerprint: str) -> Path | None:
    """Where the encoder that the labeller in model folder `folder` was trained with is.

    Looked for in order: the folder's own `encoder/` subfolder (a self-contained folder, as MLflow
    logs it); `model` as the manifest names it (a path from the working folder or, below
    `models/`, from the shipped models' folder: `features.encoders.resolve_model_path`); the
    encoder of the same folder name shipped with the package (`storysplit.bundled`). The first
    whose fingerprint matches wins, so a stale or foreign encoder is skipped, never used.

    Returns:
        The encoder folder; None when `model` names no local folder (`hashing`, a hub name), whose
        encoder's own fingerprint the caller then checks.

    Raises:
        ModelLoadError: encoder folders exist, but none is the one the labeller was trained with.
    """
    if model == HASHING or model.startswith(HASHING + ":"):
        return None
    candidates = (
        Path(folder) / ENCODER_FOLDER,
        Path(resolve_model_path(model)),
        bundled_encoder(Path(model).name),
    )
    found: list[str] = []
    for path in dict.fromkeys(str(c) for c in candidates if c.is_dir()):
        found.append(model_fingerprint(path))
        if found[-1] == fingerprint:
            return Path(path)
    if found:
        raise ModelLoadError(_wrong_encoder(model, found, fingerprint))
    return None


def _wrong_encoder(model: str, found: list[str], expected: str) -> str:
    shown = ", ".join(digest[:12] for digest in found)
    return (
        f"encoder {model!r} is not the one this labeller was trained with (fingerprint {shown} != "
        f"{expected[:12]}); put the matching encoder in the model folder's {ENCODER_FOLDER}/ or retrain"
    )


def encoder_from_config(config: EncoderConfig) -> SegmentEncoder:
    """The encoder an `EncoderConfig` describes."""
    return build_encoder(
        config.model,
        backend=config.backend,
        max_seq_length=config.max_seq_length,
        batch_size=config.batch_size,
        normalize=config.normalize,
        cache_size=config.cache_size,
    )


_LABELS = (SegmentLabel.BOILERPLATE, SegmentLabel.MAIN)

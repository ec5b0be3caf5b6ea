"""Fit the page-level sequence labeller from featurised, labelled documents.

The labeller is fitted in torch (`train.sequence.SequenceLabeller`), then turned into the numpy
runtime that ships (`storysplit.sequence_head`), checked equal on training documents, so the
model that training evaluates is exactly the one a user loads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storysplit.config import Config, LabellerConfig, TrainingConfig
from storysplit.features.encoders import SegmentEncoder
from storysplit.model import StorySplitModel
from storysplit.sequence_head import head_from_arrays
from storysplit.train.featurize import LabelledRows
from storysplit.train.sequence import SequenceLabeller, check_same_probabilities

BALANCE_LIMITS = (0.1, 10.0)
"""Bounds of a balancing factor: a language with two pages must not outweigh one with thousands."""
CHECKED_DOCUMENTS = 64
"""Training documents on which the numpy runtime is checked against torch after fitting."""


def training_documents(
    sources: Sequence[str] | np.ndarray,
    renderers: Sequence[str] | np.ndarray,
    config: TrainingConfig,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Sorted indices of the documents that train, among `candidates` (every document if None).

    A document trains when the config trains on its source (`TrainingConfig.trains_on`) and on
    its renderer; past `max_train_documents`, that many are drawn with the config's seed. A
    training run and each leave-one-source-out fold choose by this one rule, so a fold trains as
    the run would on the sources it keeps.
    """
    chosen = np.arange(len(sources)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    source_array = np.asarray(sources)[chosen]
    trained = [source for source in np.unique(source_array).tolist() if config.trains_on(source)]
    chosen = chosen[np.isin(source_array, trained)]
    if config.renderers is not None:
        chosen = chosen[np.isin(np.asarray(renderers)[chosen], list(config.renderers))]
    cap = config.max_train_documents
    if cap is not None and cap < len(chosen):
        chosen = np.sort(np.random.default_rng(config.seed).choice(chosen, size=cap, replace=False))
    return chosen


def document_weights(sources: Sequence[str], languages: Sequence[str], config: TrainingConfig) -> np.ndarray:
    """(n_documents,) training weight of each document: its source's weight times its set's and its
    language's balancing factor, scaled to a mean of 1.

    The sets' gold was made differently and each draws "main" a little differently, and the sets
    differ in size (dragnet alone is a third of the pages, almost all English): balancing lets a
    small set or a rare language teach without being outvoted. A group's factor is
    (mean documents per group / its documents) ** balance, kept within `BALANCE_LIMITS`.
    """
    weights = np.array([config.source_weights.get(source, 1.0) for source in sources], dtype=np.float64)
    for groups, balance in ((sources, config.source_balance), (languages, config.language_balance)):
        if balance > 0 and len(groups):
            _, index, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
            factors = np.clip((counts.mean() / counts) ** balance, *BALANCE_LIMITS)
            weights *= factors[index]
    mean = weights.mean() if len(weights) else 1.0
    return (weights / mean if mean > 0 else weights).astype(np.float32)


def weigh_documents(rows: LabelledRows, per_document: np.ndarray) -> LabelledRows:
    """`rows` with each document's training weights scaled by its weight."""
    per_row = np.repeat(per_document.astype(np.float32), np.diff(rows.offsets))
    return LabelledRows(rows.features, rows.labels, rows.weights * per_row, rows.regions, rows.offsets)


def build_labeller(config: LabellerConfig, seed: int, verbose: bool = True) -> SequenceLabeller:
    """The unfitted labeller a config describes."""
    return SequenceLabeller(**config.model_dump(), seed=seed, verbose=verbose)


def fit_model(
    rows: LabelledRows, encoder: SegmentEncoder, config: Config, verbose: bool = True
) -> StorySplitModel:
    """The whole inference model: the labeller fitted on `rows`, as the numpy runtime that ships.

    Raises:
        ValueError: the numpy runtime differs from the fitted torch labeller (it never should).
    """
    labeller = build_labeller(config.labeller, config.training.seed, verbose).fit(
        rows.documents(),
        rows.documents(rows.labels),
        sample_weight=rows.documents(rows.weights),
        regions=rows.documents(rows.regions),
    )
    head = head_from_arrays(labeller.to_arrays())
    check_same_probabilities(labeller, head, rows.documents()[:CHECKED_DOCUMENTS])
    return StorySplitModel(head, encoder, config.segmenter, config.features, config.decision)

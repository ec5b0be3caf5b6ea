"""Fit the page-level sequence labeller from featurised, labelled documents.

The labeller is fitted in torch (`train.sequence.SequenceLabeller`), then turned into the numpy
runtime that ships (`storysplit.sequence_head`), checked equal on training documents, so the
model that training evaluates is exactly the one a user loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from storysplit.config import Config, LabellerConfig
from storysplit.features.encoders import SegmentEncoder
from storysplit.model import StorySplitModel
from storysplit.sequence_head import head_from_arrays
from storysplit.train.featurize import LabelledRows
from storysplit.train.sequence import SequenceLabeller, check_same_probabilities

CHECKED_DOCUMENTS = 64
"""Training documents on which the numpy runtime is checked against torch after fitting."""


def weigh_sources(rows: LabelledRows, sources: Sequence[str], weights: Mapping[str, float]) -> LabelledRows:
    """Scale each document's training weights by its source's weight (sources not named keep 1.0).

    The sets' gold was made differently and each draws "main" a little differently (cleaneval keeps
    far more of a page); a weight below 1 lets a set teach without outvoting the others.
    """
    if not weights:
        return rows
    per_document = np.array([weights.get(source, 1.0) for source in sources], dtype=np.float32)
    per_row = np.repeat(per_document, np.diff(rows.offsets))
    return LabelledRows(
        rows.features, rows.labels, rows.weights * per_row, rows.regions, rows.groups, rows.offsets
    )


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

"""Fit the classifier head and the HMM transitions from featurised, labelled documents.

Calibration uses documents from held-out domains (a grouped split of the training data), so the
probabilities the HMM consumes are honest about pages the head has not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.segmentation import Segment
from storysplit.config import ClassifierConfig
from storysplit.decoding import TransitionModel, fit_transitions
from storysplit.labels import SegmentLabel

CALIBRATION_SHARE = 0.2


@dataclass(frozen=True)
class LabelledRows:
    """Training arrays for a featurised set of documents.

    Attributes:
        features: (n_rows, n_features).
        labels: (n_rows,) 1 for main, 0 for boilerplate.
        weights: (n_rows,) sample weights (0 for ambiguous segments).
        groups: (n_rows,) domain of each row's document, for grouped splits.
        offsets: (n_documents + 1,) row ranges of the documents.
    """

    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    groups: np.ndarray
    offsets: np.ndarray

    def document_labels(self) -> list[np.ndarray]:
        return [self.labels[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]


def project_spans(
    spans: Sequence[dict[str, Any]], segments: Sequence[Segment]
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and weights for `segments` from gold spans: each takes the span it overlaps most.

    The corpus is built with the same segmenter, so spans usually equal segments; this also
    serves a model whose `max_chars` differs from the corpus's. A segment no span overlaps
    gets weight 0.

    Returns:
        (labels, weights): int64 (n,) with 1 for main, float32 (n,).
    """
    labels = np.zeros(len(segments), dtype=np.int64)
    weights = np.zeros(len(segments), dtype=np.float32)
    j = 0
    for i, segment in enumerate(segments):
        while j < len(spans) and spans[j]["end"] <= segment.start:
            j += 1
        best, best_overlap = None, 0
        k = j
        while k < len(spans) and spans[k]["start"] < segment.end:
            overlap = min(spans[k]["end"], segment.end) - max(spans[k]["start"], segment.start)
            if overlap > best_overlap:
                best, best_overlap = spans[k], overlap
            k += 1
        if best is not None:
            labels[i] = best["label"] == SegmentLabel.MAIN.value
            weights[i] = best["weight"]
    return labels, weights


def build_head(config: ClassifierConfig, seed: int) -> Any:
    """The unfitted scikit-learn estimator a config names."""
    class_weight = "balanced" if config.class_weight == "balanced" else None
    if config.kind == "logistic_regression":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "classify",
                    LogisticRegression(
                        C=config.C, max_iter=config.max_iter, class_weight=class_weight, random_state=seed
                    ),
                ),
            ]
        )
    return HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        class_weight=class_weight,
        early_stopping=False,
        random_state=seed,
    )


def fit_head(rows: LabelledRows, config: ClassifierConfig, seed: int) -> Any:
    """Fit the head on most training domains and calibrate it on the rest."""
    usable = rows.weights > 0
    features, labels, weights, groups = (
        rows.features[usable],
        rows.labels[usable],
        rows.weights[usable],
        rows.groups[usable],
    )
    head = build_head(config, seed)
    if config.calibration == "none":
        return _fit_weighted(head, features, labels, weights)
    splitter = GroupShuffleSplit(n_splits=1, test_size=CALIBRATION_SHARE, random_state=seed)
    fit_idx, cal_idx = next(splitter.split(features, labels, groups))
    _fit_weighted(head, features[fit_idx], labels[fit_idx], weights[fit_idx])
    calibrated = CalibratedClassifierCV(FrozenEstimator(head), method=config.calibration)
    calibrated.fit(features[cal_idx], labels[cal_idx], sample_weight=weights[cal_idx])
    return calibrated


def fit_decoder(rows: LabelledRows, emission_weight: float) -> TransitionModel:
    """HMM transitions from the training documents' label sequences."""
    return fit_transitions(rows.document_labels(), emission_weight=emission_weight)


def _fit_weighted(head: Any, features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Any:
    if isinstance(head, Pipeline):
        return head.fit(features, labels, classify__sample_weight=weights)
    return head.fit(features, labels, sample_weight=weights)

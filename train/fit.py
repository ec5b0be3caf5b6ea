"""Fit the classifier head and the HMM transitions from featurised, labelled documents.

Calibration uses documents from held-out domains (a grouped split of the training data), so the
probabilities the HMM consumes are honest about pages the head has not seen.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from storysplit.config import ClassifierConfig, Config, ReviserConfig
from storysplit.decoding import TransitionModel, fit_transitions
from storysplit.features.context import SCALAR_WIDTH
from storysplit.features.encoders import SegmentEncoder
from storysplit.features.revision import revision_matrix
from storysplit.features.segmentation import Segment, best_overlaps
from storysplit.labels import SegmentLabel
from storysplit.model import StorySplitModel

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

    def select_documents(self, documents: np.ndarray) -> LabelledRows:
        """The rows of the given documents (indices, in the order given)."""
        starts, stops = self.offsets[documents], self.offsets[np.asarray(documents) + 1]
        ranges = [np.arange(a, b, dtype=np.int64) for a, b in zip(starts, stops, strict=True)]
        index = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
        return LabelledRows(
            features=self.features[index],
            labels=self.labels[index],
            weights=self.weights[index],
            groups=self.groups[index],
            offsets=np.concatenate([[0], np.cumsum(stops - starts)]).astype(np.int64),
        )


def weigh_sources(rows: LabelledRows, sources: Sequence[str], weights: Mapping[str, float]) -> LabelledRows:
    """Scale each document's training weights by its source's weight (sources not named keep 1.0).

    The sets' gold was made differently and each draws "main" a little differently (cleaneval keeps
    far more of a page); a weight below 1 lets a set teach without outvoting the others.
    """
    if not weights:
        return rows
    per_document = np.array([weights.get(source, 1.0) for source in sources], dtype=np.float32)
    per_row = np.repeat(per_document, np.diff(rows.offsets))
    return LabelledRows(rows.features, rows.labels, rows.weights * per_row, rows.groups, rows.offsets)


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
    for i, best in enumerate(best_overlaps([(s["start"], s["end"]) for s in spans], segments)):
        if best is not None:
            labels[i] = spans[best]["label"] == SegmentLabel.MAIN.value
            weights[i] = spans[best]["weight"]
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


@dataclass(frozen=True)
class Heads:
    """The fitted stages: `head` scores rows, `reviser` (optional) rescores them in context."""

    head: Any
    reviser: Any | None


def fit_heads(rows: LabelledRows, config: Config) -> Heads:
    """Fit the first stage and, when enabled, the reviser on out-of-fold first-stage probabilities.

    The reviser must learn from probabilities like those it will see on new pages, so it is
    trained on predictions for documents the first stage was not fitted on (domain-grouped folds).
    The final stage's output is calibrated on held-out domains.
    """
    seed = config.training.seed
    if not config.reviser.enabled:
        return Heads(
            _fit_calibrated(build_head(config.classifier, seed), rows.features, rows, config, seed), None
        )
    out_of_fold = out_of_fold_probabilities(rows, config)
    usable = rows.weights > 0
    head = _fit_weighted(
        build_head(config.classifier, seed), rows.features[usable], rows.labels[usable], rows.weights[usable]
    )
    revised = revision_matrix(rows.features, out_of_fold, rows.offsets, SCALAR_WIDTH)
    return Heads(head, _fit_calibrated(build_reviser(config.reviser, seed), revised, rows, config, seed))


def out_of_fold_probabilities(rows: LabelledRows, config: Config) -> np.ndarray:
    """(n_rows,) first-stage p(main) of every row from a head fitted without the row's domain.

    Domain-grouped folds (`reviser.folds`, fewer when there are fewer domains); each fold's head is
    fitted on the other folds' usable (weight > 0) rows and scores every row of its own fold.
    """
    usable = rows.weights > 0
    out_of_fold = np.zeros(len(rows.labels))
    folds = GroupKFold(n_splits=min(config.reviser.folds, len(np.unique(rows.groups))))
    for fit_idx, held_idx in folds.split(rows.features, rows.labels, rows.groups):
        fit_idx = fit_idx[usable[fit_idx]]
        stage = _fit_weighted(
            build_head(config.classifier, config.training.seed),
            rows.features[fit_idx],
            rows.labels[fit_idx],
            rows.weights[fit_idx],
        )
        out_of_fold[held_idx] = stage.predict_proba(rows.features[held_idx])[:, 1]
    return out_of_fold


def build_reviser(config: ReviserConfig, seed: int) -> HistGradientBoostingClassifier:
    """The unfitted second-stage estimator."""
    return HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        early_stopping=False,
        random_state=seed,
    )


def _fit_calibrated(
    estimator: Any, features: np.ndarray, rows: LabelledRows, config: Config, seed: int
) -> Any:
    """Fit on most training domains and calibrate on the rest (or fit on all without calibration)."""
    usable = rows.weights > 0
    features, labels, weights, groups = (
        features[usable],
        rows.labels[usable],
        rows.weights[usable],
        rows.groups[usable],
    )
    method = config.classifier.calibration
    if method == "none":
        return _fit_weighted(estimator, features, labels, weights)
    splitter = GroupShuffleSplit(n_splits=1, test_size=CALIBRATION_SHARE, random_state=seed)
    fit_idx, cal_idx = next(splitter.split(features, labels, groups))
    _fit_weighted(estimator, features[fit_idx], labels[fit_idx], weights[fit_idx])
    calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method=method)
    with warnings.catch_warnings():
        # The frozen head needs no weights; they apply to the calibrator, which is what we want.
        warnings.filterwarnings("ignore", message="Since FrozenEstimator does not appear to accept")
        calibrated.fit(features[cal_idx], labels[cal_idx], sample_weight=weights[cal_idx])
    return calibrated


def fit_model(rows: LabelledRows, encoder: SegmentEncoder, config: Config) -> StorySplitModel:
    """The whole inference model fitted on `rows`: both stages and the HMM transitions."""
    heads = fit_heads(rows, config)
    return StorySplitModel(
        heads.head,
        heads.reviser,
        encoder,
        config.segmenter,
        config.features,
        config.decoder,
        fit_decoder(rows, config.decoder.emission_weight),
    )


def fit_decoder(rows: LabelledRows, emission_weight: float) -> TransitionModel:
    """HMM transitions from the training documents' label sequences."""
    return fit_transitions(rows.document_labels(), emission_weight=emission_weight)


def _fit_weighted(head: Any, features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Any:
    if isinstance(head, Pipeline):
        return head.fit(features, labels, classify__sample_weight=weights)
    return head.fit(features, labels, sample_weight=weights)

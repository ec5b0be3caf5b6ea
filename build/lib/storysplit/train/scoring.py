"""Scores of a trained head on a featurised split, with document-level decoding on and off."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from storysplit.model import StorySplitModel
from storysplit.train.fit import LabelledRows


def decoded_probabilities(model: StorySplitModel, rows: LabelledRows, decode: bool) -> np.ndarray:
    """p(main) for every row of `rows`, decoded per document when `decode` is set. Shape (n_rows,)."""
    raw = model.head_probabilities(rows.features, rows.offsets)
    if not decode:
        return raw
    bounds = zip(rows.offsets[:-1], rows.offsets[1:], strict=True)
    return np.concatenate([model.decode(raw[a:b]) for a, b in bounds])


def segment_scores(probabilities: np.ndarray, rows: LabelledRows, threshold: float) -> dict[str, float]:
    """Weighted segment accuracy and main-class precision/recall/F1 (weight-0 rows ignored)."""
    keep = rows.weights > 0
    predicted = (probabilities[keep] >= threshold).astype(np.int64)
    truth, weights = rows.labels[keep], rows.weights[keep]
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, average="binary", pos_label=1, sample_weight=weights, zero_division=0
    )
    return {
        "segment_accuracy": float(accuracy_score(truth, predicted, sample_weight=weights)),
        "segment_main_precision": float(precision),
        "segment_main_recall": float(recall),
        "segment_main_f1": float(f1),
    }

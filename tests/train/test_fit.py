"""Fitting the two stages: the reviser learns from first-stage probabilities of unseen domains."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from storysplit.config import Config, load_config
from storysplit.features.context import SCALAR_WIDTH
from storysplit.features.revision import REVISION_FEATURES, revision_matrix
from storysplit.train import fit
from storysplit.train.fit import LabelledRows, fit_heads, out_of_fold_probabilities

DIM = 2
UNSEEN, SEEN = 0.25, 0.9


class DomainMemory:
    """A head that remembers the domains (column 0) it was fitted on and says so in its scores."""

    fits: ClassVar[list[DomainMemory]] = []

    def fit(self, features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray) -> DomainMemory:
        self.domains_ = set(features[:, 0].tolist())
        self.weights_ = sample_weight
        self.features_ = features
        DomainMemory.fits.append(self)
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        p = np.array([SEEN if d in self.domains_ else UNSEEN for d in features[:, 0].tolist()])
        return np.column_stack([1 - p, p])


@pytest.fixture()
def memory_heads(monkeypatch: pytest.MonkeyPatch) -> list[DomainMemory]:
    DomainMemory.fits = []
    monkeypatch.setattr(fit, "build_head", lambda config, seed: DomainMemory())
    return DomainMemory.fits


def _rows(domains: list[int], lengths: list[int]) -> LabelledRows:
    """One document per domain id, rows of `2 * DIM + SCALAR_WIDTH` columns, column 0 the domain."""
    n = sum(lengths)
    random = np.random.default_rng(0)
    features = random.normal(size=(n, 2 * DIM + SCALAR_WIDTH))
    features[:, 0] = np.repeat(domains, lengths)
    weights = np.ones(n, dtype=np.float32)
    weights[::4] = 0.0  # ambiguous rows: never fitted on, still scored
    return LabelledRows(
        features=features,
        labels=(random.random(n) < 0.5).astype(np.int64),
        weights=weights,
        groups=np.repeat([f"site{d}.example" for d in domains], lengths),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
    )


def _config(*overrides: str) -> Config:
    return load_config(None, ["classifier.calibration=none", *overrides])


def test_every_row_is_scored_by_a_head_that_never_saw_its_domain(memory_heads: list[DomainMemory]) -> None:
    rows = _rows([0, 1, 2, 3, 4, 5], [3, 5, 2, 4, 6, 3])
    probabilities = out_of_fold_probabilities(rows, _config("reviser.folds=3"))
    np.testing.assert_array_equal(probabilities, np.full(len(rows.labels), UNSEEN))
    assert len(memory_heads) == 3
    assert all((head.weights_ > 0).all() for head in memory_heads)
    # Together the folds' heads saw every domain: each domain is held out exactly once.
    held_out = [set(range(6)) - head.domains_ for head in memory_heads]
    assert sorted(d for held in held_out for d in held) == list(range(6))


def test_fewer_domains_than_folds_make_one_fold_per_domain(memory_heads: list[DomainMemory]) -> None:
    rows = _rows([0, 1], [4, 4])
    probabilities = out_of_fold_probabilities(rows, _config("reviser.folds=4"))
    assert len(memory_heads) == 2 and [h.domains_ for h in memory_heads] in ([{1}, {0}], [{0}, {1}])
    np.testing.assert_array_equal(probabilities, np.full(8, UNSEEN))


def test_the_reviser_is_fitted_on_out_of_fold_revision_rows(
    memory_heads: list[DomainMemory], monkeypatch: pytest.MonkeyPatch
) -> None:
    revisers: list[DomainMemory] = []

    def build_reviser(config: Any, seed: int) -> DomainMemory:
        revisers.append(DomainMemory())
        return revisers[-1]

    monkeypatch.setattr(fit, "build_reviser", build_reviser)
    rows = _rows([0, 1, 2, 3], [3, 5, 2, 4])
    heads = fit_heads(rows, _config("reviser.folds=2"))
    usable = rows.weights > 0
    first_stage = [head for head in memory_heads if head not in revisers]
    assert len(first_stage) == 3 and heads.head is first_stage[-1] and heads.head.domains_ == {0, 1, 2, 3}
    assert len(heads.head.weights_) == usable.sum() and (heads.head.weights_ > 0).all()
    expected = revision_matrix(rows.features, np.full(len(usable), UNSEEN), rows.offsets, SCALAR_WIDTH)
    assert heads.reviser is revisers[0]
    assert revisers[0].features_.shape == (usable.sum(), len(REVISION_FEATURES) + SCALAR_WIDTH)
    np.testing.assert_array_equal(revisers[0].features_, expected[usable])


def test_without_the_reviser_only_the_head_is_fitted(memory_heads: list[DomainMemory]) -> None:
    heads = fit_heads(_rows([0, 1, 2], [3, 3, 3]), _config("reviser.enabled=false"))
    assert heads.reviser is None and memory_heads == [heads.head]

"""Document-level decoding: a story is mostly one contiguous run of segments.

A two-state hidden Markov model (boilerplate, main) over the segment sequence. Emissions are the
head's calibrated probabilities turned into scaled likelihoods (p(y|x) / p(y)); transitions and
the initial distribution are counted from training documents. Forward–backward gives each
segment's posterior probability of `main`, so thresholding it still trades precision for recall,
unlike a hard Viterbi path. A lone teaser line inside a story, or a lone prose-like line inside a
headline list, is pulled towards its neighbours' label only as far as the evidence allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from storysplit.features.repeats import KeptTexts

_EPS = 1e-6


@dataclass(frozen=True)
class TransitionModel:
    """HMM parameters; state 0 is boilerplate, state 1 is main.

    Attributes:
        transition: (2, 2) row-stochastic matrix, `transition[a, b] = p(b | a)`.
        initial: (2,) distribution of the first segment's state.
        prior: (2,) class frequencies the head was trained on (to turn posteriors into likelihoods).
        emission_weight: exponent on the scaled likelihoods; < 1 trusts the head less.
    """

    transition: np.ndarray
    initial: np.ndarray
    prior: np.ndarray
    emission_weight: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "transition": self.transition.tolist(),
            "initial": self.initial.tolist(),
            "prior": self.prior.tolist(),
            "emission_weight": self.emission_weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TransitionModel:
        model = cls(
            transition=np.asarray(data["transition"], dtype=np.float64),
            initial=np.asarray(data["initial"], dtype=np.float64),
            prior=np.asarray(data["prior"], dtype=np.float64),
            emission_weight=float(data.get("emission_weight", 1.0)),  # type: ignore[arg-type]
        )
        if model.transition.shape != (2, 2) or model.initial.shape != (2,) or model.prior.shape != (2,):
            raise ValueError("transition model must have shapes (2, 2), (2,), (2,)")
        return model


def fit_transitions(
    label_sequences: Iterable[np.ndarray], smoothing: float = 1.0, emission_weight: float = 1.0
) -> TransitionModel:
    """Count transitions, first states and class frequencies from 0/1 label sequences."""
    counts = np.full((2, 2), smoothing)
    first = np.full(2, smoothing)
    totals = np.full(2, smoothing)
    for labels in label_sequences:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size == 0:
            continue
        first[labels[0]] += 1
        totals += np.bincount(labels, minlength=2)
        np.add.at(counts, (labels[:-1], labels[1:]), 1)
    return TransitionModel(
        transition=counts / counts.sum(axis=1, keepdims=True),
        initial=first / first.sum(),
        prior=totals / totals.sum(),
        emission_weight=emission_weight,
    )


def posterior_main(probabilities: np.ndarray, model: TransitionModel) -> np.ndarray:
    """Posterior p(main) of each segment given the whole document.

    Args:
        probabilities: (n,) the head's p(main) per segment, in document order.
        model: Fitted transition model.

    Returns:
        (n,) posterior probabilities of `main`.
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1 - _EPS)
    n = p.size
    if n == 0:
        return p
    log_emit = model.emission_weight * (np.log(np.column_stack([1 - p, p])) - np.log(model.prior))
    log_trans = np.log(model.transition)
    forward = np.empty((n, 2))
    forward[0] = np.log(model.initial) + log_emit[0]
    for t in range(1, n):
        forward[t] = log_emit[t] + np.logaddexp.reduce(forward[t - 1][:, None] + log_trans, axis=0)
    backward = np.zeros((n, 2))
    for t in range(n - 2, -1, -1):
        backward[t] = np.logaddexp.reduce(log_trans + (log_emit[t + 1] + backward[t + 1])[None, :], axis=1)
    joint = forward + backward
    joint -= np.logaddexp.reduce(joint, axis=1, keepdims=True)
    return np.exp(joint[:, 1])


def drop_repeats(
    keys: Sequence[str], probabilities: np.ndarray, threshold: float, min_words: int = 4
) -> np.ndarray:
    """Zero the probability of kept segments that repeat an earlier kept segment.

    Scrapers repeat paragraphs (a story's text again under "related", a pull quote, a second copy of
    the page); the first kept copy stays, later ones are boilerplate. A repeat is a segment whose
    normalised words equal, or with at least `min_words` words appear inside, an earlier kept segment.

    Args:
        keys: Per segment, its normalised text (lowercased words joined by single spaces).
        probabilities: (n,) p(main) after decoding.
        threshold: Keep threshold; only kept segments count as originals or as repeats.
        min_words: Shortest segment that counts as repeated when it is only contained in another.

    Returns:
        (n,) probabilities with repeats set to 0.
    """
    out = np.array(probabilities, dtype=np.float64, copy=True)
    kept = KeptTexts(min_words, sum(map(len, keys)))
    kept_set: set[str] = set()
    for i, key in enumerate(keys):
        if out[i] < threshold or not key:
            continue
        if key in kept_set or (key.count(" ") + 1 >= min_words and kept.contains(key)):
            out[i] = 0.0
        else:
            kept.add(key)
            kept_set.add(key)
    return out

from __future__ import annotations

import numpy as np

from storysplit.decoding import TransitionModel, fit_transitions, posterior_main


def _sticky() -> TransitionModel:
    return fit_transitions([np.array([0] * 5 + [1] * 20 + [0] * 10)] * 10)


def test_transitions_are_counted_from_label_sequences() -> None:
    model = fit_transitions([np.array([1, 1, 0]), np.array([0, 0])], smoothing=0.0)
    np.testing.assert_allclose(model.transition, [[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(model.initial, [0.5, 0.5])
    np.testing.assert_allclose(model.prior, [0.6, 0.4])


def test_a_lone_doubtful_segment_inside_a_story_is_pulled_towards_main() -> None:
    probabilities = np.array([0.1, 0.1, 0.9, 0.9, 0.4, 0.9, 0.9, 0.1, 0.1])
    posterior = posterior_main(probabilities, _sticky())
    assert posterior[4] > 0.5
    assert (posterior[[0, 1, 7, 8]] < 0.5).all()
    assert ((posterior >= 0) & (posterior <= 1)).all()


def test_confident_evidence_survives_decoding() -> None:
    probabilities = np.array([0.99, 0.01, 0.99])
    posterior = posterior_main(probabilities, fit_transitions([np.array([1, 0, 1])]))
    assert posterior[0] > 0.5 and posterior[1] < 0.5


def test_empty_document_and_round_trip() -> None:
    model = _sticky()
    assert posterior_main(np.array([]), model).shape == (0,)
    again = TransitionModel.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.transition, model.transition)

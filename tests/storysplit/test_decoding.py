from __future__ import annotations

import numpy as np

from storysplit.decoding import TransitionModel, drop_repeats, fit_transitions, posterior_main


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


def test_repeats_of_kept_segments_are_dropped_first_copy_stays() -> None:
    keys = [
        "the story begins here today",
        "menu",
        "the story begins here today",
        "menu",
        "listen to article the story begins here today and more",
        "begins here today",
    ]
    p = np.array([0.9, 0.2, 0.9, 0.2, 0.9, 0.9])
    out = drop_repeats(keys, p, threshold=0.5)
    np.testing.assert_allclose(out, [0.9, 0.2, 0.0, 0.2, 0.9, 0.9])


def test_a_repeat_whose_first_copy_was_dropped_is_kept() -> None:
    keys = ["a paragraph the model dropped first", "a paragraph the model dropped first"]
    out = drop_repeats(keys, np.array([0.1, 0.8]), threshold=0.5)
    np.testing.assert_allclose(out, [0.1, 0.8])


def test_contained_text_counts_only_from_min_words() -> None:
    keys = ["one two three four five six", "two three", "two three four five"]
    out = drop_repeats(keys, np.array([0.9, 0.9, 0.9]), threshold=0.5, min_words=4)
    np.testing.assert_allclose(out, [0.9, 0.9, 0.0])

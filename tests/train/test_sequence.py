"""The sequence labeller: scikit-learn's contract, page structure a row alone cannot show, and a numpy
runtime equal to torch's output."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from storysplit.errors import ModelLoadError
from storysplit.sequence_head import TOLERANCE, head_from_arrays, load_sequence_head, save_sequence_head
from storysplit.train.sequence import SequenceLabeller, check_same_probabilities

SMALL = {"hidden_size": 12, "layers": 1, "projection_size": 16, "verbose": False}


def _pages(count: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Pages whose rows are noise but for one marker row: rows after it are boilerplate.

    A row on its own says nothing about its label (the same noise before and after the marker), so
    only a model that reads the page in order can label it: what comes after the story.
    """
    random = np.random.default_rng(seed)
    documents, labels, regions = [], [], []
    for _ in range(count):
        n = int(random.integers(8, 40))
        end = int(random.integers(2, n - 2))
        rows = random.normal(size=(n, 6)).astype(np.float32)
        rows[:, 0] = 0.0
        rows[end, 0] = 5.0  # the marker: "34 responses to ..."
        label = (np.arange(n) < end).astype(np.int64)
        documents.append(rows)
        labels.append(label)
        regions.append(np.where(label == 1, 1, 3))  # story, then after
    return documents, labels, regions


def test_it_keeps_scikit_learns_contract() -> None:
    labeller = SequenceLabeller(**SMALL, epochs=1)
    assert clone(labeller).get_params() == labeller.get_params()
    documents, labels, _ = _pages(10, 0)
    assert labeller.fit(documents, labels) is labeller
    assert labeller.n_features_in_ == 6 and labeller.classes_.tolist() == [0, 1]
    probabilities = labeller.predict_proba(documents)
    assert probabilities.shape == (sum(map(len, documents)), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert labeller.predict(documents).tolist() == (probabilities[:, 1] >= 0.5).astype(int).tolist()
    assert labeller.predict_proba([]).shape == (0, 2)


def test_it_learns_what_comes_after_the_story_which_no_single_row_shows() -> None:
    documents, labels, regions = _pages(200, 1)
    labeller = SequenceLabeller(**SMALL, epochs=12, learning_rate=0.01, batch_rows=512)
    labeller.fit(documents, labels, regions=regions)
    test_documents, test_labels, test_regions = _pages(50, 2)
    predicted = labeller.predict(test_documents)
    accuracy = (predicted == np.concatenate(test_labels)).mean()
    assert accuracy > 0.95, accuracy
    region_accuracy = (
        labeller.predict_regions(test_documents).argmax(axis=1) == np.concatenate(test_regions)
    ).mean()
    assert region_accuracy > 0.95, region_accuracy
    assert labeller.loss_curve_[-1] < labeller.loss_curve_[0]


def test_zero_weight_rows_do_not_teach() -> None:
    """Each page twice, once with its labels flipped at weight 0 (ambiguous segments): only the
    weighted copy may teach, so the labeller still learns the pages, where counting the flipped
    copy would leave it at chance."""
    documents, labels, _ = _pages(150, 3)
    ones = [np.ones(len(label), dtype=np.float32) for label in labels]
    zeros = [np.zeros(len(label), dtype=np.float32) for label in labels]
    labeller = SequenceLabeller(**SMALL, epochs=12, learning_rate=0.01, batch_rows=512, region_weight=0.0)
    labeller.fit(documents + documents, labels + [1 - label for label in labels], sample_weight=ones + zeros)
    test_documents, test_labels, _ = _pages(40, 7)
    accuracy = (labeller.predict(test_documents) == np.concatenate(test_labels)).mean()
    assert accuracy > 0.9, accuracy


def test_fitting_twice_with_one_seed_gives_the_same_weights() -> None:
    documents, labels, regions = _pages(20, 4)
    first = SequenceLabeller(**SMALL, epochs=2).fit(documents, labels, regions=regions).to_arrays()
    second = SequenceLabeller(**SMALL, epochs=2).fit(documents, labels, regions=regions).to_arrays()
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_numpy_runtime_equals_torch(layers: int) -> None:
    """Documents of one row to long ones, in one batch: the recurrence runs them side by side."""
    random = np.random.default_rng(5)
    documents = [random.normal(size=(n, 6)).astype(np.float32) for n in (1, 2, 300, 17, 1, 64)]
    labels = [(d[:, 1] > 0).astype(np.int64) for d in documents]
    labeller = SequenceLabeller(**{**SMALL, "layers": layers}, epochs=3).fit(documents, labels)
    head = head_from_arrays(labeller.to_arrays())
    assert check_same_probabilities(labeller, head, documents) <= TOLERANCE
    np.testing.assert_allclose(
        head.predict_proba(documents)[:, 1], labeller.predict_proba(documents)[:, 1], atol=TOLERANCE
    )
    one_by_one = np.concatenate([head.predict_proba([d])[:, 1] for d in documents])
    np.testing.assert_allclose(one_by_one, head.predict_proba(documents)[:, 1], atol=1e-6)
    with_empty = head.predict_proba([documents[0], documents[0][:0], documents[2]])
    assert with_empty.shape == (301, 2)


def _page_mean_pages(count: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pages whose rows are all main or all boilerplate by the sign of one column's mean over the
    whole page: no row or window shows it, the page does (a page that is a list, not a story)."""
    random = np.random.default_rng(seed)
    documents, labels = [], []
    for _ in range(count):
        n = int(random.integers(30, 120))
        rows = random.normal(size=(n, 6)).astype(np.float32)
        rows[:, 0] += random.choice([-0.4, 0.4])
        documents.append(rows)
        labels.append(np.full(n, int(rows[:, 0].mean() > 0)))
    return documents, labels


def test_layers_above_the_first_read_the_whole_page() -> None:
    documents, labels = _page_mean_pages(300, 8)
    labeller = SequenceLabeller(**{**SMALL, "layers": 2}, epochs=8, learning_rate=0.01, batch_rows=1024)
    labeller.fit(documents, labels)
    test_documents, test_labels = _page_mean_pages(60, 9)
    accuracy = (labeller.predict(test_documents) == np.concatenate(test_labels)).mean()
    assert accuracy > 0.9, accuracy
    arrays = labeller.to_arrays()
    assert arrays["gru.1.forward.weight_ih"].shape == (3 * 12, 4 * 12)  # row state ; page mean
    with pytest.raises(ValueError, match=r"'gru\.1\.forward\.weight_ih' has shape"):
        head_from_arrays({**arrays, "gru.1.forward.weight_ih": arrays["gru.1.forward.weight_ih"][:, :24]})


def test_the_runtime_refuses_bad_rows_and_bad_arrays(tmp_path) -> None:
    documents, labels, _ = _pages(5, 6)
    arrays = SequenceLabeller(**SMALL, epochs=1).fit(documents, labels).to_arrays()
    head = head_from_arrays(arrays)
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        head.predict_proba([np.zeros((3, 5), np.float32)])
    with pytest.raises(ValueError, match="NaN or infinity"):
        head.predict_proba([np.full((3, 6), np.nan, np.float32)])
    with pytest.raises(ValueError, match="unexpected arrays"):
        head_from_arrays({**arrays, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'out\.bias' has shape"):
        head_from_arrays({**arrays, "out.bias": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="'scale' must be positive"):
        head_from_arrays({**arrays, "scale": -arrays["scale"]})
    path = tmp_path / "labeller.npz"
    save_sequence_head(arrays, path)
    np.testing.assert_array_equal(
        load_sequence_head(path).predict_proba(documents), head.predict_proba(documents)
    )
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="corrupt or not a sequence head"):
        load_sequence_head(path)


def test_documents_must_be_a_sequence_of_two_dimensional_arrays() -> None:
    labeller = SequenceLabeller(**SMALL, epochs=1)
    with pytest.raises(TypeError, match="sequence of documents"):
        labeller.fit(np.zeros((4, 6)), [np.zeros(4)])
    with pytest.raises(ValueError, match="one width"):
        labeller.fit([np.zeros((4, 6)), np.zeros((4, 5))], [np.zeros(4), np.zeros(4)])
    with pytest.raises(ValueError, match="one value per segment"):
        labeller.fit([np.zeros((4, 6))], [np.zeros(3)])

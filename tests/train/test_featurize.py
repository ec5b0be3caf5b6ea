"""Featurising a split: rows equal featurising on the spot; the rows cache key covers what they depend on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasets import Dataset

from storysplit.config import Config, load_config
from storysplit.features.batch import featurize_segmented
from storysplit.features.context import feature_names
from storysplit.features.encoders import HashingEncoder
from storysplit.features.segmentation import split_document
from storysplit.train import featurize
from storysplit.train.featurize import LabelledRows, featurize_split, project_spans, rows_cache_key


class RefusingEncoder(HashingEncoder):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("encoded although the rows were cached")


def _config(*overrides: str) -> Config:
    return load_config(None, ["encoder.model=hashing", *overrides])


def _split(seed_rows: list[dict[str, Any]]) -> Dataset:
    return Dataset.from_list(
        [
            {"text": r["text"], "spans": r["spans"], "domain": r["domain"], "renderer": r["renderer"]}
            for r in seed_rows
        ]
    )


def _edited(dataset: Dataset, column: str, edit: Any) -> Dataset:
    rows = dataset.to_list()
    rows[1][column] = edit(rows[1][column])
    return Dataset.from_list(rows)


def _assert_same_rows(got: LabelledRows, want: LabelledRows) -> None:
    for name in ("features", "labels", "weights", "regions", "offsets"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def test_rows_equal_featurising_the_documents_directly(seed_rows: list[dict[str, Any]]) -> None:
    config, encoder = _config(), HashingEncoder()
    rows = featurize_split(_split(seed_rows), encoder, config, None, "test")
    texts = [r["text"] for r in seed_rows]
    segments = [split_document(text, config.segmenter.max_chars) for text in texts]
    # Embeddings are kept as float16 (as in the store), so feed the direct path the same values.
    embeddings = encoder.encode([s.text for doc in segments for s in doc]).astype(np.float16)
    batch = featurize_segmented(
        texts, segments, embeddings.astype(np.float32), config.features.window, config.features.lead_segments
    )
    np.testing.assert_array_equal(rows.features, batch.features)
    np.testing.assert_array_equal(rows.offsets, batch.offsets)
    projected = [project_spans(r["spans"], s) for r, s in zip(seed_rows, segments, strict=True)]
    np.testing.assert_array_equal(rows.labels, np.concatenate([labels for labels, _, _ in projected]))
    np.testing.assert_array_equal(rows.weights, np.concatenate([weights for _, weights, _ in projected]))
    np.testing.assert_array_equal(rows.regions, np.concatenate([regions for _, _, regions in projected]))
    assert set(rows.regions.tolist()) == {1, 2, 3}  # story, inside, after: each seed starts with its headline


def test_cached_rows_are_reused_and_equal_fresh_ones(seed_rows: list[dict[str, Any]], tmp_path: Path) -> None:
    config = _config()
    fresh = featurize_split(_split(seed_rows), HashingEncoder(), config, None, "test")
    first = featurize_split(_split(seed_rows), HashingEncoder(), config, tmp_path, "test")
    assert len(list((tmp_path / "features").glob("*.npz"))) == 1
    # A second in-memory copy of the same rows hits the cache.
    again = featurize_split(_split(seed_rows), RefusingEncoder(), config, tmp_path, "test")
    _assert_same_rows(first, fresh)
    _assert_same_rows(again, fresh)


def test_changed_rows_are_featurised_again_with_stored_embeddings(
    seed_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    config = _config()
    featurize_split(_split(seed_rows), HashingEncoder(), config, tmp_path, "test")
    relabelled = _edited(_split(seed_rows), "spans", lambda spans: [{**s, "label": "main"} for s in spans])
    rows = featurize_split(relabelled, RefusingEncoder(), config, tmp_path, "test")  # embeddings stored
    assert len(list((tmp_path / "features").glob("*.npz"))) == 2
    assert rows.labels[rows.offsets[1] : rows.offsets[2]].all()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d, c: (_edited(d, "text", lambda t: t + " more"), c), id="text"),
        pytest.param(
            lambda d, c: (_edited(d, "spans", lambda s: [{**x, "weight": 0.5} for x in s]), c), id="spans"
        ),
        pytest.param(lambda d, c: (_edited(d, "domain", lambda x: "other.example"), c), id="domain"),
        pytest.param(lambda d, c: (_edited(d, "renderer", lambda x: "html_text"), c), id="renderer"),
        pytest.param(lambda d, c: (d.select([0, 2, 1, 3, 4]), c), id="row order"),
        pytest.param(lambda d, c: (d, _config("features.window=3")), id="features.window"),
        pytest.param(lambda d, c: (d, _config("segmenter.max_chars=500")), id="segmenter"),
        pytest.param(lambda d, c: (d, _config("encoder.max_seq_length=64")), id="encoder config"),
    ],
)
def test_the_key_changes_with_anything_the_rows_depend_on(
    seed_rows: list[dict[str, Any]], change: Any
) -> None:
    dataset, config = _split(seed_rows), _config()
    changed_dataset, changed_config = change(dataset, config)
    assert rows_cache_key(changed_dataset, HashingEncoder(), changed_config) != rows_cache_key(
        dataset, HashingEncoder(), config
    )


def test_the_key_changes_with_the_encoder_feature_version_and_feature_code(
    seed_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dataset, config = _split(seed_rows), _config()
    key = rows_cache_key(dataset, HashingEncoder(), config)
    assert rows_cache_key(dataset, HashingEncoder(128), config) != key
    monkeypatch.setattr(featurize, "FEATURE_VERSION", "changed")
    assert rows_cache_key(dataset, HashingEncoder(), config) != key
    monkeypatch.undo()
    edited = tmp_path / "shape.py"
    edited.write_text(Path(featurize.__file__).read_text() + "\n# an edit without a version bump\n")
    monkeypatch.setattr(
        featurize.importlib.import_module("storysplit.features.shape"), "__file__", str(edited)
    )
    assert rows_cache_key(dataset, HashingEncoder(), config) != key


def test_the_key_ignores_what_the_rows_do_not_depend_on(seed_rows: list[dict[str, Any]]) -> None:
    key = rows_cache_key(_split(seed_rows), HashingEncoder(), _config())
    unrelated = [
        "encoder.batch_size=7",
        "encoder.cache_size=0",
        "labeller.hidden_size=8",
        "labeller.epochs=9",
        "decision.threshold=0.7",
        "training.seed=1",
    ]
    assert rows_cache_key(_split(seed_rows), HashingEncoder(), _config(*unrelated)) == key
    extra = _split(seed_rows).add_column("language", ["x"] * len(seed_rows))
    assert rows_cache_key(extra, HashingEncoder(), _config()) == key


def test_pages_of_one_crawl_give_each_other_site_evidence_and_mixtures_get_none() -> None:
    """Three pages of a site rendered by one renderer share a menu line; their other renderings, a
    mixture and another site's page are other crawls."""
    menu = "Home | World | Sport | Weather"
    rows = [
        {"domain": "site.com", "renderer": "html_text", "text": f"{menu}\nStory number {i} about {w}."}
        for i, w in enumerate(["rain", "trains", "budgets"])
    ]
    rows += [
        {"domain": "site.com", "renderer": "lenient", "text": f"{menu}\nStory about rain."},
        {"domain": "site.com", "renderer": "mixture", "text": f"{menu}\nA composed story."},
        {"domain": "other.com", "renderer": "html_text", "text": f"{menu}\nOther story."},
    ]
    for row in rows:
        first = row["text"].split("\n")[0]
        row["spans"] = [
            {
                "start": 0,
                "end": len(first),
                "label": "boilerplate",
                "kind": "menu",
                "weight": 1.0,
                "region": "before",
            },
            {
                "start": len(first) + 1,
                "end": len(row["text"]),
                "label": "main",
                "kind": "body",
                "weight": 1.0,
                "region": "story",
            },
        ]
    features = featurize_split(Dataset.from_list(rows), HashingEncoder(), _config(), None, "test").features
    share = features[:, feature_names(HashingEncoder().dimension).index("site_line_share")]
    evidence = features[:, -1]
    np.testing.assert_array_equal(evidence, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(share, [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0])

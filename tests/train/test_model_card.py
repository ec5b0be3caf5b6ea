"""The model card: what a model was trained on, with each set's licence, travels in its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from storysplit.config import Config, load_config
from storysplit.model import StorySplitModel
from storysplit.train.corpus.sources import SOURCE_SETS, training_data_card
from storysplit.train.export import save_model

REPO = Path(__file__).resolve().parents[2]


def test_the_card_counts_documents_per_set_with_its_licence_in_listing_order() -> None:
    card = training_data_card(["dragnet", "wcxb", "dragnet", "agreement"])
    assert [entry["source"] for entry in card] == ["wcxb", "dragnet", "agreement"]
    assert card[0] == {
        "source": "wcxb",
        "documents": 1,
        "licence": "CC-BY-4.0",
        "permissive": True,
        "gold_origin": "hand",
    }
    assert card[1]["documents"] == 2 and card[1]["licence"] == "AGPL-3.0" and card[1]["permissive"] is False
    assert card[2]["permissive"] is False  # the user's own pages: their licence is theirs to know


def test_every_set_says_its_licence_and_the_permissive_config_trains_on_exactly_the_permissive_ones() -> None:
    assert all(source.licence for source in SOURCE_SETS)
    permissive = load_config(REPO / "configs" / "permissive.yaml")
    assert set(permissive.training.sources or ()) == {s.name for s in SOURCE_SETS if s.permissive}
    assert {s.name for s in SOURCE_SETS if not s.permissive} >= {"dragnet", "l3s-gn1", "cleaneval", "canola"}


def test_the_manifest_carries_the_card(
    tiny_model: StorySplitModel, tiny_config: Config, tmp_path: Path
) -> None:
    card = training_data_card(["wcxb", "canola"])
    folder = save_model(tiny_model, tmp_path / "model", tiny_config, {}, card)
    assert json.loads((folder / "manifest.json").read_text())["training_data"] == card


def test_the_shipped_model_was_trained_on_the_sets_the_default_config_trains_on() -> None:
    manifest = json.loads((REPO / "models" / "default" / "manifest.json").read_text(encoding="utf-8"))
    trained = {entry["source"] for entry in manifest["training_data"]}
    default = load_config(REPO / "configs" / "default.yaml").training
    assert trained == {s.name for s in SOURCE_SETS if default.trains_on(s.name)}
    assert "cleaneval" not in trained

from __future__ import annotations

from pathlib import Path

import pytest

from storysplit.config import ConfigError, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
TRAINING_CONFIGS = [p for p in CONFIGS if p.name != "floors.yaml"]


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda p: p.name)
def test_every_config_validates(path: Path) -> None:
    load_config(path)


def test_default_yaml_documents_every_key_with_a_comment() -> None:
    default = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"
    for line in default.read_text().splitlines():
        if line.startswith("  ") and ":" in line and not line.strip().startswith("#"):
            assert "#" in line, f"undocumented key: {line.strip()}"
    assert load_config(default) == load_config(None)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("labeller:\n  hiden_size: 64\n")
    with pytest.raises(ConfigError, match=r"labeller\.hiden_size: unknown key"):
        load_config(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("decision:\n  threshold: high\n")
    with pytest.raises(ConfigError, match=r"decision\.threshold"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("segmenter.max_chars=5", r"segmenter\.max_chars: must be at least 20, got 5"),
        ("segmenter.max_char=500", r"segmenter\.max_char: unknown key"),
        ("decision.threshold=1.5", r"decision\.threshold: must be between 0 and 1"),
        ("encoder.backend=tensorflow", r"encoder\.backend"),
        ("features.window=-1", r"features\.window: must be at least 0"),
    ],
)
def test_the_sections_inference_reads_name_the_key_of_a_bad_value(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_the_sections_inference_reads_are_frozen_and_typed_by_the_yaml() -> None:
    config = load_config(None, ["segmenter.max_chars=400", "decision.threshold=0.6"])
    assert config.segmenter.max_chars == 400 and config.decision.threshold == 0.6
    with pytest.raises(AttributeError):
        config.segmenter.max_chars = 3  # type: ignore[misc]


def test_overrides_keep_yaml_types_and_reject_garbage() -> None:
    config = load_config(
        None, ["training.seed=7", "corpus.renderers=[html_text]", "decision.drop_repeats=false"]
    )
    assert config.training.seed == 7 and config.corpus.renderers == ("html_text",)
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        load_config(None, ["no-equals-sign"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, ["nosuch.section=1"])


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("corpus: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(scalar)


def test_configs_are_frozen() -> None:
    config = load_config(None)
    with pytest.raises(ValueError):
        config.training.seed = 3  # type: ignore[misc]


def test_cleaneval_does_not_train_by_default_and_a_zero_weight_leaves_any_set_out() -> None:
    training = load_config(None).training
    assert not training.trains_on("cleaneval")
    assert training.trains_on("dragnet") and training.trains_on("agreement")  # the user's own pages too
    listed = load_config(None, ["training.sources=[wcxb, dragnet]", "training.source_weights={dragnet: 0}"])
    assert [s for s in ("wcxb", "dragnet", "cleaneval") if listed.training.trains_on(s)] == ["wcxb"]
    everything = load_config(None, ["training.source_weights={}"]).training
    assert everything.trains_on("cleaneval")

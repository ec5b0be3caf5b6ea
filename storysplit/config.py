"""The one place where configuration is validated into typed, frozen objects.

Every section rejects unknown keys and wrong types with an error that names the key, so a typo
in a YAML file fails loudly instead of silently training with a default. `configs/default.yaml`
documents every key; `load_config` reads a file and applies `--set key=value` overrides.
The `segmenter`/`encoder`/`features`/`decision` sections are `storysplit.sections`' dataclasses:
inference reads them from a model manifest without pydantic, and here pydantic fills them from YAML
through the same checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storysplit.errors import StorysplitError
from storysplit.sections import (
    DecisionConfig,
    EncoderConfig,
    FeatureConfig,
    SectionError,
    SegmenterConfig,
)


class ConfigError(StorysplitError):
    """A configuration file or override is invalid; the message names the key and the fix."""


class _Section(BaseModel):
    # Validators are built on first use: inference validates a few sections of a manifest, and
    # building every section's at import was a large share of its start-up (docs/speed.md).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CorpusConfig(_Section):
    """How the labelled corpus is built from `../shared/data` (see `train/corpus`)."""

    data_dir: Path = Path("../shared/data")
    seeds_dir: Path = Path("../shared/seeds")
    output_dir: Path = Path("data/corpus")
    renderers: tuple[Literal["html_text", "inscriptis", "dom_lines", "single_line", "lenient"], ...] = (
        "html_text",
        "inscriptis",
        "dom_lines",
        "single_line",
        "lenient",
    )
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    mixtures_per_story: int = Field(2, ge=0)
    max_pages: int | None = Field(None, ge=1)
    min_match_ratio: float = Field(0.8, gt=0.0, le=1.0)
    max_boilerplate_ratio: float = Field(0.2, ge=0.0, lt=1.0)
    ambiguous_weight: float = Field(0.0, ge=0.0, le=1.0)
    min_gold_recall: float = Field(0.5, ge=0.0, le=1.0)
    seed: int = 13
    num_proc: int = Field(2, ge=1)
    html_dirs: tuple[Path, ...] = ()
    sources: tuple[str, ...] | None = None


class LabellerConfig(_Section):
    """The page-level sequence labeller (`train.sequence.SequenceLabeller`) and how it is trained."""

    hidden_size: int = Field(96, ge=4)
    layers: int = Field(2, ge=1)
    projection_size: int = Field(256, ge=4)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    epochs: int = Field(3, ge=1)
    learning_rate: float = Field(2e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    batch_rows: int = Field(8192, ge=64)
    region_weight: float = Field(0.5, ge=0.0)


class TrainingConfig(_Section):
    """What the head is trained on and where the model goes."""

    seed: int = 13
    sources: tuple[str, ...] | None = None
    renderers: tuple[str, ...] | None = None
    max_train_documents: int | None = Field(None, ge=1)
    source_weights: dict[str, Annotated[float, Field(ge=0)]] = {"cleaneval": 0.0}
    """CleanEval weighs 0 (does not train): its hand-cleaned gold keeps forum posts and user comments
    as content, which the product drops, and held out, the other sets score higher without it."""
    source_balance: float = Field(0.5, ge=0.0, le=1.0)
    language_balance: float = Field(0.5, ge=0.0, le=1.0)
    output_dir: Path = Path("runs/models/default")

    def trains_on(self, source: str) -> bool:
        """Whether documents of `source` train: among `sources` (when set) and not weighted 0."""
        listed = self.sources is None or source in self.sources
        return listed and self.source_weights.get(source, 1.0) > 0


class TrackingConfig(_Section):
    """Where MLflow records runs: `uri` if set, else `$MLFLOW_TRACKING_URI`, else `./mlflow.db`."""

    uri: str | None = None
    experiment: str = "storysplit"
    log_model: bool = True


class Config(_Section):
    """A whole training run: data, features, labeller, decision and tracking."""

    corpus: CorpusConfig = CorpusConfig()
    segmenter: SegmenterConfig = SegmenterConfig()
    encoder: EncoderConfig = EncoderConfig()
    features: FeatureConfig = FeatureConfig()
    labeller: LabellerConfig = LabellerConfig()
    decision: DecisionConfig = DecisionConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply `key.sub=value` overrides.

    Raises:
        ConfigError: unreadable file, invalid YAML, unknown key, wrong type or bad override.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_yaml(Path(path))
    for override in overrides:
        _apply_override(raw, override)
    return config_from_dict(raw, source=str(path) if path else "defaults")


def config_from_dict(raw: dict[str, Any], source: str = "config") -> Config:
    """Validate a plain dict (e.g. a manifest's `config`) into a `Config`."""
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error)}") from None


def config_to_dict(config: Config) -> dict[str, Any]:
    """The resolved config as YAML/JSON-safe data (paths as strings, tuples as lists)."""
    return config.model_dump(mode="json")


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # only training and evaluation read configs; inference starts without it

    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML ({error.__class__.__name__}: {error})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections, got {type(data).__name__}")
    return data


def _apply_override(raw: dict[str, Any], override: str) -> None:
    """Set `a.b.c=value` in `raw`; the value is parsed as YAML so numbers and lists keep their type."""
    import yaml

    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} must look like section.key=value")
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError(f"override {override!r}: value is not valid YAML") from None


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming the dotted key, e.g. `classifier.kidn: unknown key`."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        raised = item.get("ctx", {}).get("error")
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            problems.append(f"{key}: unknown key (check the spelling against configs/default.yaml)")
        elif isinstance(raised, SectionError):  # a `storysplit.sections` check: its own key
            problems.append(f"{key}.{raised.key}: {raised.problem}")
        else:
            problems.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(problems)

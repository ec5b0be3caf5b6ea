"""Test-session settings (no network look-ups) and fixtures that are costly to build once."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One OpenMP/BLAS thread, as the labelling commands run: the tests' arrays are small, and on a busy
# machine torch's second thread spun while waiting, making the tiny model's training many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Tokenizers built by the static encoder go to a folder of this session, not the user's cache.
_CACHE = tempfile.mkdtemp(prefix="storysplit-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.setdefault("STORYSPLIT_CACHE", _CACHE)

from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

if TYPE_CHECKING:
    from storysplit.config import Config
    from storysplit.model import StorySplitModel

REPO = Path(__file__).resolve().parent.parent
SHARED_ENV = "STORYSPLIT_SHARED"
SHARED = Path(os.environ.get(SHARED_ENV) or REPO.parent / "shared")
"""The project's shared data beside the checkout: seeds/ (the hand-labelled documents) and data/
(the source sets). Tests that read it take the `seeds_dir` or `data_dir` fixture, which skips them
when it is missing; everything else runs without it."""
SEEDS_DIR = SHARED / "seeds"
DATA_DIR = SHARED / "data"


def needs_shared(path: Path) -> Path:
    """`path`, or the test that needs it skipped with what is missing."""
    if not path.exists():
        pytest.skip(f"needs the project's shared data at {path} (set {SHARED_ENV} to another shared/ folder)")
    return path


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return needs_shared(SEEDS_DIR / "gold.jsonl").parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return needs_shared(DATA_DIR)


@pytest.fixture(scope="session")
def seed_page(seeds_dir: Path) -> Path:
    """One seed document's text file."""
    return sorted(seeds_dir.glob("*.txt"))[0]


@pytest.fixture(scope="session")
def seed_rows(seeds_dir: Path) -> list[dict[str, Any]]:
    from storysplit.evaluation.seeds import load_seed_rows

    return load_seed_rows(seeds_dir, 1000)


@pytest.fixture(scope="session")
def tiny_config() -> Config:
    """The tiny model's config: hashing encoder, a small labeller trained briefly."""
    from storysplit.config import load_config

    return load_config(
        None,
        [
            "encoder.model=hashing",
            "labeller.hidden_size=16",
            "labeller.layers=1",
            "labeller.projection_size=32",
            "labeller.epochs=30",
            "labeller.learning_rate=0.01",
        ],
    )


@pytest.fixture(scope="session")
def tiny_model(tiny_config: Config, seed_rows: list[dict[str, Any]]) -> StorySplitModel:
    """An in-memory model fitted on the seeds with the hashing encoder (fast)."""
    from storysplit.features.batch import featurize_documents
    from storysplit.features.encoders import build_encoder
    from storysplit.train.featurize import LabelledRows, project_spans
    from storysplit.train.fit import fit_model

    encoder = build_encoder("hashing")
    batch = featurize_documents([r["text"] for r in seed_rows], encoder, 1000, 2, 3)
    projected = [project_spans(r["spans"], s) for r, s in zip(seed_rows, batch.segments, strict=True)]
    rows = LabelledRows(
        features=batch.features,
        labels=np.concatenate([labels for labels, _, _ in projected]),
        weights=np.concatenate([weights for _, weights, _ in projected]),
        regions=np.concatenate([regions for _, _, regions in projected]),
        offsets=batch.offsets,
    )
    return fit_model(rows, encoder, tiny_config, verbose=False)


@pytest.fixture(scope="session")
def tiny_model_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: StorySplitModel, tiny_config: Config
) -> Path:
    """`tiny_model` saved as a real model folder (the labeller's arrays, signed manifest)."""
    from storysplit.train.export import save_model

    return save_model(tiny_model, tmp_path_factory.mktemp("model") / "tiny", tiny_config, {"seeds.fit": 1.0})


@pytest.fixture(scope="session")
def gate_corpus(seeds_dir: Path, data_dir: Path) -> Path:
    """The quality gate's corpus (configs/gate.yaml), built once into data/corpus-gate (cached there)."""
    from storysplit.config import load_config
    from storysplit.train.corpus.build import load_or_build_corpus

    output = REPO / "data" / "corpus-gate"
    config = load_config(
        REPO / "configs" / "gate.yaml",
        [
            f"corpus.output_dir={output}",
            f"corpus.data_dir={data_dir}",
            f"corpus.seeds_dir={seeds_dir}",
        ],
    )
    load_or_build_corpus(config, progress=False)
    return output

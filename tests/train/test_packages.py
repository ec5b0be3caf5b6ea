"""The package lists come from the installed metadata and say what pyproject.toml says."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from storysplit.train import packages

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
STALE = "the installed storysplit metadata differs from pyproject.toml: pip install -e ."


def _declared(extra: str | None) -> list[str]:
    """pyproject.toml's names for the core (None) or an extra, the extras it names expanded."""
    names: list[str] = []
    for line in PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]:
        requirement = Requirement(line)
        if requirement.name == "storysplit":
            names += [name for nested in sorted(requirement.extras) for name in _declared(nested)]
        else:
            names.append(requirement.name)
    return names


def test_the_requirements_are_pyprojects_core_then_each_extras() -> None:
    core = _declared(None)
    assert packages.requirements() == tuple(core), STALE
    for extra in PROJECT["optional-dependencies"]:
        assert packages.requirements(extra) == tuple(dict.fromkeys([*core, *_declared(extra)])), STALE


def test_serving_installs_torch_only_for_a_transformer_encoder() -> None:
    core, transformer = _declared(None), _declared("transformer")
    assert packages.served(transformer_encoder=False) == tuple(core)
    assert packages.served(transformer_encoder=True) == (*core, *transformer, "torch")
    assert not {"torch", "sentence-transformers", "scikit-learn"} & set(core)
    assert {"onnxruntime", "sentencepiece"} <= set(core)  # ONNX and static encoders: core only


def test_models_and_runs_record_what_shapes_their_numbers() -> None:
    core = _declared(None)
    assert packages.recorded() == ("storysplit", *core, *_declared("transformer"), "torch")
    training = set(packages.training())
    assert {"storysplit", "torch", *core, *_declared("train")} == training
    assert {"scikit-learn", "sentence-transformers", "datasets", "mlflow", "model2vec"} <= training

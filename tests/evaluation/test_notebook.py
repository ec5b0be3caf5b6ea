"""The error-analysis notebook runs top to bottom on a tiny sample and is stored without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "01-error-analysis.ipynb"


def test_notebook_is_saved_with_outputs_cleared() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


def test_make_setup_installs_what_opens_and_runs_the_notebook() -> None:
    """The dev extra (installed by `make setup`) brings a front-end, the notebook's kernel and its imports."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from jupyter_client.kernelspec import KernelSpecManager
    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = {Requirement(line).name for line in project["optional-dependencies"]["dev"]}
    assert {"notebook", "ipykernel", "nbmake", "pandas"} <= dev
    kernel = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    assert kernel in KernelSpecManager().find_kernel_specs()


@pytest.mark.slow
def test_notebook_runs_on_a_tiny_sample(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, seeds_dir: Path
) -> None:
    import nbformat
    from nbclient import NotebookClient

    for name, value in {
        "STORYSPLIT_ROOT": str(REPO),
        "STORYSPLIT_MODEL": str(tiny_model_dir),
        "STORYSPLIT_EVAL_DATA": "seeds",
        "STORYSPLIT_EVAL_SAMPLE": "3",
        "STORYSPLIT_seeds_dir": str(seeds_dir),
        "STORYSPLIT_SHOW": "1",
    }.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = json.dumps([c.get("outputs", []) for c in notebook.cells if c.cell_type == "code"])
    assert "token_f1" in outputs
    assert "#fbe3a6" in outputs or "#f8d0d0" in outputs or "#d9f2d9" in outputs

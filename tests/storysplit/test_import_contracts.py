"""The import contracts of `make lint` (pyproject `[tool.importlinter]`) hold, and catch what they promise to.

Each broken case runs `lint-imports` on a copy of the packages with one deliberate bad import, so the
contracts are shown to fail, not only to pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("storysplit", "features", "train", "evaluation", "jobs")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is a dev dependency: pip install -e '.[dev]'"
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `root` (and no other copy of them)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied (symlinks as symlinks, so storysplit.features resolves)."""
    for name in PACKAGES:
        shutil.copytree(
            REPO / name, tmp_path / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " broken" in result.stdout and "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("storysplit/labels.py", "import storysplit.train.fit", "Layers: text -> features"),
        ("features/words.py", "import mlflow", "never imports train, mlflow or datasets"),
        ("storysplit/output_records.py", "import datasets", "never imports train, mlflow or datasets"),
        ("evaluation/metrics.py", "from storysplit.train import fit", "Layers: text -> features"),
        (
            "storysplit/server.py",
            "from storysplit.segment_cli import TEXT_SUFFIXES",
            "Layers: text -> features",
        ),
        (
            "jobs/datatrove_step.py",
            "from storysplit.jobs.clean import DEFAULT_TIMEOUT",
            "Nothing imports a command",
        ),
        ("jobs/job.py", "from storysplit.jobs.local import run_local_job", "No import cycles"),
    ],
)
def test_a_bad_import_breaks_its_contract(tree: Path, module: str, bad_import: str, contract: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{bad_import}  # deliberate\n", encoding="utf-8")
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout[-3000:]
    broken = [line for line in result.stdout.splitlines() if line.rstrip().endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout[-3000:]


def test_the_forbidden_contract_lists_every_module_of_the_inference_package() -> None:
    """A new module in storysplit/ must join the list, or it could import the training stack unchecked."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (forbidden,) = [c for c in config["contracts"] if c["type"] == "forbidden"]
    inference = {f"storysplit.{path.stem}" for path in (REPO / "storysplit").glob("*.py")} - {
        "storysplit.__init__"
    }
    assert set(forbidden["source_modules"]) == inference | {"storysplit.features"}

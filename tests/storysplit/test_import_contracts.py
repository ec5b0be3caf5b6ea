"""What `make lint` does not check about its import contracts (pyproject `[tool.importlinter]`).

`make lint` shows that the tree keeps every contract. Here: that each contract breaks on the import
it forbids (one `lint-imports` run on the package assembled as installed, `tools/package_tree.py`,
with one deliberate bad import per case), and that the inference contract's module list is whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.package_tree import assemble

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
tomllib = pytest.importorskip("tomllib")  # Python 3.11+
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
    "contracts"
]
NAMED = {contract["type"]: contract["name"] for contract in CONTRACTS}

# (file, the import added to it, the contract it breaks, what the report says of it there)
BAD_IMPORTS = [
    (
        "storysplit/labels.py",
        "import storysplit.train.fit",
        NAMED["layers"],
        "storysplit.labels -> storysplit.train.fit",
    ),
    (
        "storysplit/features/words.py",
        "import mlflow",
        NAMED["forbidden"],
        "storysplit.features.words -> mlflow",
    ),
    (
        "storysplit/output_records.py",
        "import datasets",
        NAMED["forbidden"],
        "storysplit.output_records -> datasets",
    ),
    (
        "storysplit/evaluation/metrics.py",
        "from storysplit.train import fit",
        NAMED["layers"],
        "storysplit.evaluation.metrics -> storysplit.train.fit",
    ),
    (
        "storysplit/server.py",
        "from storysplit.segment_cli import TEXT_SUFFIXES",
        NAMED["layers"],
        "storysplit.server -> storysplit.segment_cli",
    ),
    (
        "storysplit/jobs/datatrove_step.py",
        "from storysplit.jobs.clean import DEFAULT_TIMEOUT",
        NAMED["protected"],
        "storysplit.jobs.datatrove_step -> storysplit.jobs.clean",
    ),
    (
        "storysplit/jobs/job.py",
        "from storysplit.jobs.local import run_local_job",
        NAMED["acyclic_siblings"],
        "in storysplit.jobs.",
    ),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`lint-imports` on the package assembled as installed (storysplit.features in storysplit/)
    holding every bad import of `BAD_IMPORTS`."""
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is a dev dependency: pip install -e '.[dev]'")
    root = assemble(tmp_path_factory.mktemp("tree"))
    for module, bad_import, _, _ in BAD_IMPORTS:
        path = root / module
        path.write_text(
            path.read_text(encoding="utf-8") + f"\n{bad_import}  # deliberate\n", encoding="utf-8"
        )
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(REPO / "pyproject.toml")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout


def _section(report: str, contract: str) -> str:
    """The report's account of a broken contract: from its heading to the next contract's."""
    broken = report.partition("\nBroken contracts\n")[2]
    start = broken.index(f"\n{contract}\n")
    ends = [broken.find(f"\n{other['name']}\n", start + 1) for other in CONTRACTS]
    return broken[start : min([end for end in ends if end > start], default=len(broken))]


@pytest.mark.parametrize(
    ("module", "bad_import", "contract", "reported"), BAD_IMPORTS, ids=[case[0] for case in BAD_IMPORTS]
)
def test_a_bad_import_breaks_its_contract(
    report: str, module: str, bad_import: str, contract: str, reported: str
) -> None:
    assert reported in _section(report, contract), report[-4000:]


def test_the_forbidden_contract_lists_every_module_of_the_inference_package() -> None:
    """A new module in storysplit/ must join the list, or it could import the training stack unchecked."""
    (forbidden,) = [c for c in CONTRACTS if c["type"] == "forbidden"]
    inference = {f"storysplit.{path.stem}" for path in (REPO / "storysplit").glob("*.py")} - {
        "storysplit.__init__"
    }
    assert set(forbidden["source_modules"]) == inference | {"storysplit.features"}

"""The package layout pyproject declares: every code folder is a subpackage of storysplit, and the
assembled tree that mypy and lint-imports read (`tools/package_tree.py`) is the installed package."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.package_tree import PACKAGE, as_checkout_paths, assemble, package_folders

REPO = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _code_packages() -> set[str]:
    """Every package the mapped folders hold (a folder with `__init__.py`), by its import name."""
    found = set()
    for name, folder in package_folders().items():
        for init in folder.rglob("__init__.py"):
            found.add(".".join([name, *init.parent.relative_to(folder).parts]))
    return found


def test_pyproject_lists_every_package_of_the_mapped_folders_and_the_models() -> None:
    """A subpackage missing from `packages` would be missing from the wheel, and only from it."""
    assert set(SETUPTOOLS["packages"]) == _code_packages() | {f"{PACKAGE}.models"}
    assert all(name == PACKAGE or name.startswith(f"{PACKAGE}.") for name in package_folders())


def test_no_code_folder_holds_a_symlink() -> None:
    """A checkout works where the file system has no symlinks (Windows)."""
    for folder in {REPO / PACKAGE, *package_folders().values()}:
        assert not [path for path in folder.rglob("*") if path.is_symlink()]


def test_the_assembled_tree_is_the_package_as_installed(tmp_path: Path) -> None:
    root = assemble(tmp_path / "tree")
    assert (root / "storysplit" / "__init__.py").is_file()
    assert (root / "storysplit" / "train" / "corpus" / "build.py").read_bytes() == (
        REPO / "train" / "corpus" / "build.py"
    ).read_bytes()
    assert (root / "storysplit" / "features" / "encoders.py").is_file()
    assert not list(root.rglob("*.npz")) and not list(root.rglob("__pycache__"))


def test_reports_name_the_checkouts_files() -> None:
    report = (
        "storysplit/train/corpus/build.py:3: error: x\n"
        "storysplit/features/words.py:1: note: y\n"
        "storysplit/model.py:2: error: z\n"
    )
    assert as_checkout_paths(report) == (
        "train/corpus/build.py:3: error: x\nfeatures/words.py:1: note: y\nstorysplit/model.py:2: error: z\n"
    )

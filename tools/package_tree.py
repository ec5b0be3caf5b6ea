"""The storysplit package as a wheel installs it, assembled from the checkout, for tools that walk folders.

pyproject maps the top-level code folders into the package (`storysplit.train` is train/, ...,
`[tool.setuptools.package-dir]`): the wheel and an editable install resolve them through setuptools,
but mypy and import-linter find a package's modules by walking its folder, where those folders are
not. So `make lint` runs them on a copy of the package's Python files assembled here from that
mapping (`build/package-tree/`, git-ignored), with the repository's pyproject as their config, and
their reports name the checkout's files again (`train/run.py`, not `storysplit/train/run.py`).

    python tools/package_tree.py mypy [ARGS]            # type-check the package
    python tools/package_tree.py lint-imports [ARGS]    # the import contracts
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mypy's own TOML reader
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "build" / "package-tree"
PACKAGE = "storysplit"
TOOLS = {
    "mypy": ["--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(REPO / ".mypy_cache")],
    "lint-imports": [str(REPO / "pyproject.toml")],
}


def package_folders(repo: Path = REPO) -> dict[str, Path]:
    """Each package pyproject maps to a folder of the checkout (`storysplit.train` -> train/)."""
    setuptools = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return {name: repo / folder for name, folder in setuptools["package-dir"].items()}


def assemble(target: Path, repo: Path = REPO) -> Path:
    """The package's Python files laid out as installed, under `target` (emptied first); returns
    `target`. Modification times are kept, so mypy's cache stays valid between runs."""
    shutil.rmtree(target, ignore_errors=True)
    for name, folder in package_folders(repo).items():
        for source in folder.rglob("*.py"):
            copy = target.joinpath(*name.split("."), source.relative_to(folder))
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    return target


def as_checkout_paths(report: str, repo: Path = REPO) -> str:
    """`report` with the assembled files' paths (`storysplit/train/run.py`) as the checkout's."""
    report = report.replace(f"{TREE}{os.sep}", "")
    folders = sorted(package_folders(repo).items(), key=lambda item: -len(item[0]))
    for name, folder in folders:
        installed = "/".join(name.split(".")) + "/"
        report = report.replace(installed, folder.relative_to(repo).as_posix() + "/")
    return report


def run(tool: str, args: list[str]) -> int:
    """`tool` (mypy or lint-imports, from this Python's environment) on the assembled package."""
    assemble(TREE)
    executable = shutil.which(tool, path=str(Path(sys.executable).parent)) or tool
    result = subprocess.run(
        [executable, *TOOLS[tool], *args],
        cwd=TREE,  # lint-imports puts the working folder first on sys.path: the assembled package
        env={**os.environ, "PYTHONPATH": str(TREE)},
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(as_checkout_paths(result.stdout))
    sys.stderr.write(as_checkout_paths(result.stderr))
    return result.returncode


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TOOLS:
        sys.exit(f"usage: python tools/package_tree.py {{{','.join(TOOLS)}}} [ARGS]")
    sys.exit(run(sys.argv[1], sys.argv[2:]))

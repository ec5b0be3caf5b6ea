"""What ships inside the package: the model and encoder (found through `importlib.resources`), its version.

They are package data under `storysplit/models/`: in a checkout a symlink to the repository's
`models/` folder, in an installed wheel a folder holding only the default model and its encoder
(`[tool.setuptools.package-data]`). So the default never depends on the working folder, and a
checkout and an install find it the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("storysplit")))
MODELS_DIR = PACKAGE_DIR / "models"
DEFAULT_MODEL = MODELS_DIR / "default"


def bundled_encoder(name: str) -> Path:
    """The shipped encoder folder called `name` (e.g. `e5-static`); it may not exist."""
    return MODELS_DIR / "encoders" / name


def package_version() -> str:
    """The installed package's version, from its metadata (what `pip show storysplit` says)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storysplit")
    except PackageNotFoundError:
        return "unknown (not installed; run from a source tree)"

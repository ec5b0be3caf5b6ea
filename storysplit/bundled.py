"""What ships inside the package: the model and encoder (found through `importlib.resources`), its version.

In an installed wheel they are package data under `storysplit/models/`, holding only the default
model and its encoder (`[tool.setuptools.package-data]`); in a checkout (an editable install, or
the source tree on the path) they are the repository's `models/` folder beside the package, which
pyproject maps to `storysplit.models`. So the default never depends on the working folder, and a
checkout and an install find it from any folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("storysplit")))
MODELS_FOLDER = "models"
"""The folder of shipped models and encoders, in the package and in the checkout; configs and
manifests name shipped folders below it (`models/encoders/e5-static`)."""


def _models_dir() -> Path:
    installed = PACKAGE_DIR / MODELS_FOLDER
    return installed if installed.is_dir() else PACKAGE_DIR.parent / MODELS_FOLDER


MODELS_DIR = _models_dir()
DEFAULT_MODEL = MODELS_DIR / "default"


def bundled_encoder(name: str) -> Path:
    """The shipped encoder folder called `name` (e.g. `e5-static`); it may not exist."""
    return MODELS_DIR / "encoders" / name


def shipped_path(path: str) -> Path | None:
    """The shipped file or folder that the relative `path` names from the checkout's root
    (`models/encoders/e5-static`), wherever the package is; None if `path` is not below `models/`."""
    parts = Path(path).parts
    if Path(path).is_absolute() or len(parts) < 2 or parts[0] != MODELS_FOLDER:
        return None
    return MODELS_DIR.joinpath(*parts[1:])


def package_version() -> str:
    """The installed package's version, from its metadata (what `pip show storysplit` says)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storysplit")
    except PackageNotFoundError:
        return "unknown (not installed; run from a source tree)"

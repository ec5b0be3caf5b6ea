"""`storysplit export-heads MODEL_DIR...`: add numpy heads to model folders that have only skops heads.

Training writes both (`storysplit.artifact.save_artifact`); this converts folders saved by an
older storysplit (schema version 1) or re-derives the `.npz` heads of a current one from its
`.skops` files. The skops files are loaded with their type allow-list, each numpy head is checked
against its estimator before it is written, and the manifest is re-signed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from storysplit.artifact import SCHEMA_VERSION, add_numpy_heads, load_skops_head, read_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit export-heads", description=__doc__)
    parser.add_argument("folders", nargs="+", type=Path, help="model folders to convert in place")
    args = parser.parse_args(argv)
    for folder in args.folders:
        export_heads(folder)
        print(f"{folder}: numpy heads written, manifest re-signed")
    return 0


def export_heads(folder: Path) -> Path:
    """Write `head.npz` (and `reviser.npz`) from the folder's skops heads; returns the folder.

    Raises:
        ModelLoadError: the folder fails its checks (checksums, unlisted files, untrusted types).
        TypeError: a head this storysplit has no numpy predictor for.
    """
    manifest = read_manifest(folder, schema_versions=(1, SCHEMA_VERSION))
    names = ["head"] + (["reviser"] if manifest.get("reviser") else [])
    heads = {name: load_skops_head(folder, name) for name in names}
    return add_numpy_heads(folder, heads, manifest)

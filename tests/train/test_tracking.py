from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from datasets import Dataset, load_from_disk

from storysplit.train.tracking import (
    ONNX_PACKAGES,
    SERVED_PACKAGES,
    TRANSFORMER_PACKAGES,
    content_fingerprint,
    served_packages,
)

REPO = Path(__file__).resolve().parents[2]

ROWS = [
    {"id": "a", "text": "Story\r\nMenu", "spans": [{"start": 0, "end": 5, "weight": 0.5}]},
    {"id": "b", "text": "مرحبا 😀", "spans": []},
]


def test_content_fingerprint_follows_the_rows_not_how_they_were_loaded(tmp_path: Path) -> None:
    built = Dataset.from_list(ROWS)
    built.save_to_disk(str(tmp_path / "saved"), num_shards=2)
    loaded = load_from_disk(str(tmp_path / "saved"))
    assert content_fingerprint(loaded) == content_fingerprint(built)
    changed = Dataset.from_list([ROWS[0], {**ROWS[1], "text": "مرحبا 😀!"}])
    reordered = Dataset.from_list(ROWS[::-1])
    values = {content_fingerprint(d) for d in (built, changed, reordered, built.select([0]))}
    assert len(values) == 4


def test_a_served_model_requires_torch_only_with_a_transformer_encoder(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    assert served_packages(REPO / "models" / "default") == SERVED_PACKAGES  # static encoder
    assert served_packages(tiny_model_dir) == SERVED_PACKAGES  # hashing encoder
    for name, model, packages in (
        ("onnx", "models/encoders/minilm-onnx-int8", ONNX_PACKAGES),
        ("transformer", "all-MiniLM-L6-v2", TRANSFORMER_PACKAGES),
    ):
        folder = shutil.copytree(tiny_model_dir, tmp_path / name)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["encoder"]["config"]["model"] = model
        if name == "onnx":
            manifest["encoder"]["config"]["backend"] = "onnx"
        (folder / "manifest.json").write_text(json.dumps(manifest))
        assert served_packages(folder) == SERVED_PACKAGES + packages
    assert "torch" not in SERVED_PACKAGES and "scikit-learn" not in SERVED_PACKAGES


TRACKED_RUN = """
from pathlib import Path
from storysplit.config import load_config
from storysplit.train.tracking import tracked_run
import mlflow
config = load_config(None, ["tracking.uri=sqlite:///mlflow.db"])
with tracked_run(config, None):
    mlflow.log_metric("token_f1", 0.5)
assert Path("mlflow.db").is_file()
"""


def test_a_tracked_run_writes_nothing_under_the_home_folder(tmp_path: Path) -> None:
    """MLflow's telemetry would write ~/.config/mlflow/telemetry.json; off unless asked for."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "XDG_CONFIG_HOME", "CI")
        and not name.startswith(("PYTEST", "MLFLOW_"))
    }
    env.update(HOME=str(home), PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", TRACKED_RUN], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []

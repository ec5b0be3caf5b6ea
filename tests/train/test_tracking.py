from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from datasets import Dataset, load_from_disk

from storysplit import load_model
from storysplit.bundled import DEFAULT_MODEL
from storysplit.train.tracking import (
    ONNX_PACKAGES,
    SERVED_PACKAGES,
    TRANSFORMER_PACKAGES,
    content_fingerprint,
    log_pyfunc_model,
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


PAGE = "Home\nThe council approved the budget on Tuesday after a long debate about school funding.\n"
# No PYTHONPATH: the logged code is what runs. The venv's bin/ on PATH: `mlflow models serve` runs uvicorn.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
CLEAN_ENV["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="module")
def logged_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model logged as a pyfunc, then downloaded away from the tracking store."""
    import mlflow

    tmp = tmp_path_factory.mktemp("logged")
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.create_experiment("shipped", artifact_location=str(tmp / "artifacts"))  # not ./mlruns
    with mlflow.start_run(experiment_id=experiment):
        uri = log_pyfunc_model(DEFAULT_MODEL, [PAGE], 0.5)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp / "downloaded")))


@pytest.mark.slow
def test_the_logged_pyfunc_carries_its_encoder_and_code_and_loads_from_any_folder(
    logged_default: Path, tmp_path: Path
) -> None:
    assert not (logged_default / "code" / "storysplit" / "models").exists()  # no 50 MB of data as code
    script = (
        "import json, sys, mlflow.pyfunc\n"
        f"pyfunc = mlflow.pyfunc.load_model({str(logged_default)!r})\n"
        "encoder = pyfunc.unwrap_python_model().model.encoder.encoder\n"
        "import storysplit\n"
        f"print(json.dumps([pyfunc.predict([{PAGE!r}]), encoder.model_path, storysplit.__file__]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    predictions, encoder_path, package = json.loads(result.stdout.splitlines()[-1])
    assert predictions == [load_model().extract(PAGE)]
    assert Path(encoder_path).is_relative_to(logged_default) and Path(package).is_relative_to(logged_default)


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_the_main_text(logged_default: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [
        "mlflow",
        "models",
        "serve",
        "-m",
        str(logged_default),
        "--env-manager",
        "local",
        "-p",
        str(port),
    ]
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=tmp_path,
        env=CLEAN_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the scoring server runs in a child process: stop the whole group
    )
    body = json.dumps({"inputs": [PAGE]}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"}
    )
    try:
        deadline = time.monotonic() + 240  # importing mlflow takes a minute on a loaded 2-core box
        while True:
            assert server.poll() is None, f"mlflow models serve exited with code {server.returncode}"
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    answer = json.loads(response.read())
                break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline, "mlflow models serve did not answer within 240 s"
                time.sleep(1)
        assert answer == {"predictions": [load_model().extract(PAGE)]}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

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
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from datasets import Dataset, load_from_disk
from packaging.requirements import Requirement
from pydantic import ValidationError

from storysplit import load_model
from storysplit.bundled import DEFAULT_MODEL
from storysplit.config import load_config
from storysplit.documents import DEFAULT_MAX_BYTES
from storysplit.schemas import SegmentRequest
from storysplit.train import packages
from storysplit.train.pyfunc_model import StorySplitPyfunc, checked_documents
from storysplit.train.tracking import (
    CODE_SUBPACKAGES,
    content_fingerprint,
    log_pyfunc_model,
    serve_command,
    served_packages,
    tracking_uri,
)
from tests.fresh_interpreter import printed_last
from tools.package_tree import package_folders

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
    plain, transformer = packages.served(transformer_encoder=False), packages.served(transformer_encoder=True)
    assert served_packages(tiny_model_dir) == plain  # hashing encoder
    for name, model, expected in (
        ("static", "models/encoders/e5-static", plain),
        ("onnx", "models/encoders/minilm-onnx-int8", plain),
        ("transformer", "all-MiniLM-L6-v2", transformer),
    ):
        folder = shutil.copytree(tiny_model_dir, tmp_path / name)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["encoder"]["config"]["model"] = model
        if name == "onnx":
            manifest["encoder"]["config"]["backend"] = "onnx"
        (folder / "manifest.json").write_text(json.dumps(manifest))
        assert served_packages(folder) == expected


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


@pytest.mark.slow
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
    predictions, encoder_path, package = printed_last(script, env=CLEAN_ENV, cwd=tmp_path)
    assert predictions == [load_model().extract(PAGE)]
    assert Path(encoder_path).is_relative_to(logged_default) and Path(package).is_relative_to(logged_default)


@dataclass(frozen=True)
class Logged:
    """The tiny model logged as a pyfunc: its tracking store, model URI and what MLflow warned."""

    tracking_uri: str
    model_uri: str
    warnings: list[str]


@pytest.fixture(scope="module")
def logged_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Logged:
    """`tiny_model_dir` logged and loaded back, recording every warning both steps raise."""
    import mlflow

    tmp = tmp_path_factory.mktemp("logged-tiny")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("tiny", artifact_location=str(tmp / "artifacts"))  # not ./mlruns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mlflow.start_run(experiment_id=experiment):
            model_uri = log_pyfunc_model(tiny_model_dir, [PAGE], 0.5)
        mlflow.pyfunc.load_model(model_uri)
    return Logged(uri, model_uri, [str(warning.message) for warning in caught])


@pytest.mark.slow
def test_logging_and_loading_the_pyfunc_raise_no_type_hint_warning(logged_tiny: Logged) -> None:
    """`predict`'s type hints are ones MLflow supports, so it neither warns about them nor asks for them."""
    assert [message for message in logged_tiny.warnings if "type hint" in message.lower()] == []


@pytest.mark.slow
def test_the_logged_model_pins_the_core_requirements(logged_tiny: Logged) -> None:
    """What `pip install -r` of the logged model installs: storysplit's core requirements, pinned."""
    import mlflow

    mlflow.set_tracking_uri(logged_tiny.tracking_uri)
    lines = Path(mlflow.pyfunc.get_model_dependencies(logged_tiny.model_uri)).read_text().split()
    pinned = {Requirement(line).name: str(Requirement(line).specifier) for line in lines}
    assert set(packages.served(transformer_encoder=False)) <= set(pinned)
    assert pinned["numpy"] == f"=={version('numpy')}" and "torch" not in pinned


@pytest.mark.slow
def test_the_logged_signature_takes_a_list_of_texts_and_the_threshold(logged_tiny: Logged) -> None:
    import mlflow

    signature = mlflow.models.get_model_info(logged_tiny.model_uri).signature
    assert signature.inputs.to_dict() == [{"type": "string", "required": True}]
    assert signature.params.to_dict() == [
        {"name": "threshold", "type": "double", "default": 0.5, "shape": None}
    ]


def test_the_logged_code_gathers_every_subpackage_the_checkout_keeps_in_its_own_folder() -> None:
    mapped = set(package_folders()) - {"storysplit", "storysplit.models"}
    assert {f"storysplit.{name}" for name in CODE_SUBPACKAGES} == mapped


@pytest.mark.slow
def test_the_logged_code_is_the_whole_package_without_the_shipped_models(
    logged_tiny: Logged, tmp_path: Path
) -> None:
    """Loading the logged model from another folder runs the logged code only, subpackages included."""
    import mlflow

    mlflow.set_tracking_uri(logged_tiny.tracking_uri)
    logged = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=logged_tiny.model_uri, dst_path=str(tmp_path))
    )
    code = logged / "code" / "storysplit"
    assert all((code / name / "__init__.py").is_file() for name in CODE_SUBPACKAGES)
    assert (code / "train" / "corpus" / "__init__.py").is_file()
    assert not (code / "models").exists() and not list(code.rglob("__pycache__"))
    script = (
        "import json, sys, mlflow.pyfunc\n"
        f"mlflow.pyfunc.load_model({str(logged)!r}).predict([{PAGE!r}])\n"
        "ours = [m for name, m in sys.modules.items() if name.startswith('storysplit')]\n"
        "print(json.dumps([getattr(m, '__file__', None) for m in ours]))\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files = [Path(file) for file in printed_last(script, env=CLEAN_ENV, cwd=elsewhere) if file]
    assert any(file.is_relative_to(code / "features") for file in files)
    assert [file for file in files if not file.is_relative_to(code)] == []


@pytest.fixture(scope="module")
def pyfunc(tiny_model_dir: Path) -> StorySplitPyfunc:
    """The pyfunc class itself, with the tiny model loaded (as `load_context` does)."""
    wrapper = StorySplitPyfunc()
    wrapper.model = load_model(tiny_model_dir)
    return wrapper


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (5, "Expected list, but got int"),
        ([PAGE, 5], "Expected type str, but got int"),
        ([PAGE, "a\x00b"], "^document 1: text holds NUL characters"),
        (["\ud800 text"], "^document 0: text holds a lone surrogate"),
        ([" \n"], "^document 0: document is empty"),
    ],
)
def test_the_pyfunc_refuses_what_is_not_a_usable_text(
    pyfunc: StorySplitPyfunc, model_input: Any, message: str
) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=message):
        pyfunc.predict(None, model_input)


@pytest.mark.parametrize("text", ["", " \n", "a\x00b", "\ud800 text", "x" * (DEFAULT_MAX_BYTES + 1)])
def test_the_pyfunc_and_the_server_refuse_the_same_texts(text: str) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(ValidationError):
        SegmentRequest(text=text)
    with pytest.raises(MlflowException, match=r"^document 0: "):
        checked_documents([text])


def test_documents_of_another_type_are_named_by_their_index() -> None:
    """What MLflow's own validation lets through (a direct call of the function) is still refused."""
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=r"^document 1: expected a string, got bytes$"):
        checked_documents([PAGE, b"bytes"])


def test_the_default_tracking_uri_is_the_working_directorys_database_by_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking_uri(load_config(None, []))
    assert uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert uri.startswith("sqlite:////") and Path(uri.removeprefix("sqlite:///")).is_absolute()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///runs/env.db")
    assert tracking_uri(load_config(None, [])) == f"sqlite:///{tmp_path.resolve() / 'runs' / 'env.db'}"
    for given in ("sqlite:////srv/mlflow.db", "http://127.0.0.1:5000", "databricks"):
        assert tracking_uri(load_config(None, [f"tracking.uri={given}"])) == given


@pytest.mark.slow
def test_the_printed_serve_command_serves_the_model_from_any_folder_without_the_venv_on_path(
    logged_tiny: Logged, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """What training prints (`serve_command`) runs as it is in a shell whose PATH lacks the venv
    (`mlflow models serve` runs `uvicorn` from PATH), loads `models:/...` through the absolute
    tracking URI from another folder, and answers a document the pyfunc refuses with a 400."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = f"{serve_command(logged_tiny.model_uri, logged_tiny.tracking_uri)} -p {port}"
    env = {**CLEAN_ENV, "PATH": "/usr/bin:/bin"}
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the scoring server runs in a child process: stop the whole group
    )
    try:
        answer = _invoke(server, port, {"inputs": [PAGE]}, deadline=time.monotonic() + 240)
        assert answer == (200, {"predictions": [load_model(tiny_model_dir).extract(PAGE)]})
        status, refusal = _invoke(server, port, {"inputs": [PAGE, "a\x00b"]}, time.monotonic() + 60)
        assert status == 400 and "document 1: text holds NUL characters" in refusal["message"]
        assert list(tmp_path.iterdir()) == []  # no stray mlflow.db or mlruns/ in the working folder
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _invoke(server: subprocess.Popen[bytes], port: int, body: Any, deadline: float) -> tuple[int, Any]:
    """The scoring server's status and JSON answer to `body`, waiting for it to start until `deadline`."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    while True:
        assert server.poll() is None, f"mlflow models serve exited with code {server.returncode}"
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except (ConnectionError, urllib.error.URLError):
            assert time.monotonic() < deadline, "mlflow models serve did not answer in time"
            time.sleep(1)

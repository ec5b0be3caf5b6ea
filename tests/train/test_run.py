"""End-to-end training on the smoke config, tracked in MLflow, and the logged pyfunc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storysplit import load_model
from storysplit.config import load_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # trains on the smoke corpus, tracked in MLflow


def _smoke_overrides(tmp: Path, uri: str) -> list[str]:
    return [
        f"tracking.uri={uri}",
        f"training.output_dir={tmp / 'model'}",
        f"corpus.output_dir={tmp / 'corpus'}",
    ]


def _artifacts_in(folder: Path, uri: str, experiment: str) -> None:
    """Create the run's experiment with its artifacts under `folder` (by default MLflow puts a
    SQLite store's artifacts in ./mlruns, which would be the checkout)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment(experiment, artifact_location=str(folder / "artifacts"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import mlflow

    from storysplit.train.run import train

    tmp = tmp_path_factory.mktemp("smoke")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    config = load_config(REPO / "configs" / "smoke.yaml", _smoke_overrides(tmp, uri))
    _artifacts_in(tmp, uri, config.tracking.experiment)
    model_dir = train(config, REPO / "configs" / "smoke.yaml", cache_dir=None)
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[config.tracking.experiment], output_format="list")
    return {"model_dir": model_dir, "uri": uri, "run": runs[0], "config": config}


def test_run_logs_config_dataset_metrics_and_model(trained: dict[str, Any]) -> None:
    import mlflow

    run = trained["run"]
    assert run.data.params["encoder.model"] == "hashing"
    assert "validation.segment_accuracy_micro" in run.data.metrics
    assert "seeds.segment_main_f1_micro" in run.data.metrics
    assert {d.dataset.name for d in run.inputs.dataset_inputs} >= {"storysplit-corpus-train"}
    artifacts = {
        a.path for a in mlflow.MlflowClient(trained["uri"]).list_artifacts(run.info.run_id, "config")
    }
    assert "config/resolved.yaml" in artifacts


def test_run_records_commit_package_versions_and_data_fingerprints(trained: dict[str, Any]) -> None:
    from importlib.metadata import version

    from storysplit.train.corpus.build import saved_fingerprint

    tags = trained["run"].data.tags
    commit = tags["git_commit"].removesuffix("-dirty")
    assert subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO).returncode == 0
    for package in ("torch", "sentence-transformers", "scikit-learn", "numpy", "datasets", "mlflow"):
        assert tags[f"version.{package}"] == version(package), package
    corpus = saved_fingerprint(trained["config"].corpus.output_dir)
    assert len(corpus) == 64 and tags["data.corpus_fingerprint"] == corpus
    digests = {d.dataset.name: d.dataset.digest for d in trained["run"].inputs.dataset_inputs}
    for split in ("train", "validation", "seeds"):
        assert tags[f"data.{split}.fingerprint"][:16] == digests[f"storysplit-corpus-{split}"]


def test_pyfunc_predictions_equal_direct_inference(trained: dict[str, Any], seed_rows) -> None:
    import mlflow

    mlflow.set_tracking_uri(trained["uri"])
    models = mlflow.search_logged_models(
        experiment_ids=[trained["run"].info.experiment_id], output_format="list"
    )
    pyfunc = mlflow.pyfunc.load_model(f"models:/{models[0].model_id}")
    texts = [r["text"] for r in seed_rows]
    model = load_model(trained["model_dir"])
    assert pyfunc.predict(texts) == model.extract_many(texts)
    strict = pyfunc.predict(texts, params={"threshold": 0.9})
    assert strict == model.extract_many(texts, threshold=0.9) != model.extract_many(texts)


def test_rerun_reproduces_metrics(trained: dict[str, Any], tmp_path: Path, seed_rows) -> None:
    import mlflow

    from storysplit.train.run import train

    uri = f"sqlite:///{tmp_path / 'again.db'}"
    config = load_config(
        REPO / "configs" / "smoke.yaml",
        [*_smoke_overrides(tmp_path, uri), f"corpus.output_dir={trained['config'].corpus.output_dir}"],
    )
    _artifacts_in(tmp_path, uri, config.tracking.experiment)
    again = load_model(train(config, None, cache_dir=None))
    first = load_model(trained["model_dir"])
    timings = {key for key in first.manifest["metrics"] if key.endswith("seconds")}
    assert set(again.manifest["metrics"]) == set(first.manifest["metrics"])
    scores = {"segment_accuracy_micro", "segment_main_precision_micro", "segment_main_recall_micro"}
    expected = {"train_segments"} | {
        f"{split}.{name}" for split in ("validation", "seeds") for name in scores
    }
    assert expected <= set(first.manifest["metrics"]) - timings
    for key, value in first.manifest["metrics"].items():
        if key not in timings:
            assert again.manifest["metrics"][key] == pytest.approx(value, abs=1e-6), key
    texts = [r["text"] for r in seed_rows]
    for a, b in zip(first.predict_proba(texts), again.predict_proba(texts), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    mlflow.set_tracking_uri(uri)
    rerun = mlflow.search_runs(experiment_names=[config.tracking.experiment], output_format="list")[0]
    for tag, value in trained["run"].data.tags.items():
        if tag.startswith("data."):
            assert rerun.data.tags[tag] == value, tag


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_smoke_config_against_a_real_mlflow_server(tmp_path: Path, trained: dict[str, Any]) -> None:
    from storysplit.train.run import train

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    try:
        deadline = time.monotonic() + 180  # importing mlflow takes over a minute on a loaded 2-core box
        while time.monotonic() < deadline:
            assert server.poll() is None, f"mlflow server exited with code {server.returncode}"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start within 180 s")
        uri = f"http://127.0.0.1:{port}"
        config = load_config(
            REPO / "configs" / "smoke.yaml",
            [*_smoke_overrides(tmp_path, uri), f"corpus.output_dir={trained['config'].corpus.output_dir}"],
        )
        model_dir = train(config, None, cache_dir=None)
        import mlflow

        mlflow.set_tracking_uri(uri)
        runs = mlflow.search_runs(experiment_names=[config.tracking.experiment], output_format="list")
        assert len(runs) == 1 and runs[0].info.status == "FINISHED"
        assert np.isfinite(runs[0].data.metrics["validation.segment_accuracy_micro"])
        assert (model_dir / "manifest.json").is_file()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_leave_one_source_out_end_to_end(trained: dict[str, Any], tmp_path: Path) -> None:
    """One fold on the smoke corpus: the report, the per-document records of every method, and a
    comparison with an earlier run's records."""
    from storysplit.train import loso

    config = trained["config"]
    argv = [
        "--config",
        str(REPO / "configs" / "smoke.yaml"),
        "--set",
        f"corpus.output_dir={config.corpus.output_dir}",
        "--source",
        "wcxb",
        "--no-html",
        "--no-cache",
    ]
    saved = tmp_path / "folds"
    assert loso.main([*argv, "--output", str(tmp_path / "first"), "--save-models", str(saved)]) == 0
    records = loso.read_fold_records(tmp_path / "first")
    methods = {record["method"] for record in records}
    assert methods >= {
        "model",
        "model_without_sites",
        "model_learned_sites",
        "model_site_rule",
        "oracle",
        "region_oracle",
        "keep_all",
    }
    assert {record["fold"] for record in records} == {"wcxb"}
    assert all("boilerplate_words" in r for r in records if r["method"] == "model")
    assert (
        loso.main([*argv, "--output", str(tmp_path / "second"), "--compare-with", str(tmp_path / "first")])
        == 0
    )
    report = (tmp_path / "second" / "report.md").read_text(encoding="utf-8")
    assert f"## Compared with {tmp_path / 'first'}" in report and "| wcxb |" in report

    def model_f1(folder: Path) -> dict[str, float]:
        return {r["id"]: r["token_f1"] for r in loso.read_fold_records(folder) if r["method"] == "model"}

    # The saved fold model, scored again without training: the same decision gives the same
    # scores, another decision (set on the command line) other ones.
    assert loso.main([*argv, "--output", str(tmp_path / "again"), "--models", str(saved)]) == 0
    assert model_f1(tmp_path / "again") == pytest.approx(model_f1(tmp_path / "first"), abs=1e-9)
    strict = ["--set", "decision.threshold=0.999", "--set", "decision.fallback=false"]
    assert loso.main([*argv, "--output", str(tmp_path / "strict"), "--models", str(saved), *strict]) == 0
    assert model_f1(tmp_path / "strict") != pytest.approx(model_f1(tmp_path / "first"), abs=1e-9)

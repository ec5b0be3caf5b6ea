"""Attach a written report to the active MLflow run, when there is one.

MLflow is never imported here: a run can only be active if training (`train.tracking`) imported
it already, and importing it just to ask would cost seconds and, with telemetry on, write to the
home folder. Inference code never imports this module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from storysplit.evaluation.report import METRICS_FILE, headline_metrics

ARTIFACT_PATH = "evaluation"


def log_report_to_mlflow(report_dir: Path) -> bool:
    """Log `report_dir` as artifacts and its headline metrics to the active MLflow run.

    Returns:
        True if a run was active and received the report, False if there was none (nothing logged).
    """
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return False
    record = json.loads((Path(report_dir) / METRICS_FILE).read_text(encoding="utf-8"))
    mlflow.log_metrics(headline_metrics(record))
    mlflow.log_artifacts(str(report_dir), artifact_path=ARTIFACT_PATH)
    return True

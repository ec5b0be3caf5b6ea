"""MLflow pyfunc adapter (models-from-code): a thin shell whose `load_context` calls `load_model`.

MLflow is an adapter around our own artifact, not its format: the logged model carries the
storysplit model folder as an artifact and this file as its code.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel, PythonModelContext

from storysplit.model import StorySplitModel, load_model


class StorySplitPyfunc(PythonModel):
    """Serves `extract`: a list of documents in, their main text out."""

    model: StorySplitModel

    def load_context(self, context: PythonModelContext) -> None:
        self.model = load_model(context.artifacts["model_dir"])

    def predict(
        self, context: PythonModelContext, model_input: list[str], params: dict[str, Any] | None = None
    ) -> list[str]:
        """Main text of each document; `params={"threshold": t}` trades precision for recall."""
        threshold = (params or {}).get("threshold")
        return self.model.extract_many(model_input, None if threshold is None else float(threshold))


mlflow.models.set_model(StorySplitPyfunc())

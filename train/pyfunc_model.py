"""MLflow pyfunc adapter (models-from-code): a thin shell whose `load_context` calls `load_model`.

MLflow is an adapter around our own artifact, not its format: the logged model carries the
storysplit model folder, with its encoder in `encoder/`, as an artifact, and this file and the
storysplit package as its code (`train.tracking.log_pyfunc_model`).
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

    def predict(  # type hints on the input would replace the logged signature, params and all
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """Main text of each document; `params={"threshold": t}` trades precision for recall."""
        threshold = (params or {}).get("threshold")
        return self.model.extract_many(
            _documents(model_input), None if threshold is None else float(threshold)
        )


def _documents(model_input: Any) -> list[Any]:
    """The documents of a pyfunc input: MLflow hands over a list, a numpy array or a DataFrame."""
    if hasattr(model_input, "iloc"):  # a DataFrame (its first column) or a Series
        column = model_input.iloc[:, 0] if getattr(model_input, "ndim", 1) == 2 else model_input
        return list(column.tolist())
    if hasattr(model_input, "tolist"):
        return list(model_input.tolist())
    return list(model_input)


mlflow.models.set_model(StorySplitPyfunc())

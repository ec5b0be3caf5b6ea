"""MLflow pyfunc adapter (models-from-code): a thin shell whose `load_context` calls `load_model`.

MLflow is an adapter around our own artifact, not its format: the logged model carries the
storysplit model folder, with its encoder in `encoder/`, as an artifact, and this file and the
storysplit package as its code (`train.tracking.log_pyfunc_model`).

`predict`'s type hints are MLflow's input contract: MLflow infers the logged signature from them
(a list of strings in, one out), turns a DataFrame's column into that list and refuses what is not
a list of strings before `predict` runs. `predict` then refuses what `storysplit segment` and
`storysplit serve` refuse (`storysplit.documents.check_text`), naming the document.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel, PythonModelContext

from storysplit.documents import check_text
from storysplit.errors import InputError
from storysplit.model import StorySplitModel, load_model


class StorySplitPyfunc(PythonModel):
    """Serves `extract`: a list of documents in, their main text out."""

    model: StorySplitModel

    def load_context(self, context: PythonModelContext) -> None:
        self.model = load_model(context.artifacts["model_dir"])

    def predict(
        self, context: PythonModelContext, model_input: list[str], params: dict[str, Any] | None = None
    ) -> list[str]:
        """Main text of each document; `params={"threshold": t}` trades precision for recall.

        Raises:
            MlflowException: a document is not a string or is text the CLI and server refuse
                (empty, NUL characters, a lone surrogate, too long); the HTTP scoring server
                answers it with a 400 and the message.
        """
        threshold = (params or {}).get("threshold")
        documents = checked_documents(model_input)
        return self.model.extract_many(documents, None if threshold is None else float(threshold))


def checked_documents(model_input: list[Any]) -> list[str]:
    """The documents, each a usable text, or an `MlflowException` naming the first that is not."""
    for index, document in enumerate(model_input):
        name = f"document {index}"
        if not isinstance(document, str):
            raise MlflowException.invalid_parameter_value(
                f"{name}: expected a string, got {type(document).__name__}"
            )
        try:
            check_text(document, name)
        except InputError as error:
            raise MlflowException.invalid_parameter_value(str(error)) from None
    return list(model_input)


mlflow.models.set_model(StorySplitPyfunc())

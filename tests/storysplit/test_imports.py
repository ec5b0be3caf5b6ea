"""The default model's inference path stays light: no torch, sentence-transformers, skops or scikit-learn.

Those imports cost seconds per process before the first page (docs/speed.md, Start-up); each
check runs in a fresh interpreter, since this test session has imported all of them already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = sorted((REPO.parent / "shared" / "seeds").glob("*.txt"))[0]
HEAVY = ("torch", "sentence_transformers", "transformers", "skops", "sklearn", "mlflow", "datasets", "train")

SEGMENT_ONE_PAGE = f"""
import contextlib, io, json, sys
from storysplit.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["segment", {str(SEED)!r}])
assert code == 0 and len(out.getvalue()) > 100, (code, out.getvalue()[:200])
print(json.dumps(sorted(sys.modules)))
"""

LOAD_AND_SERVE = """
import json, sys
from storysplit import load_model
import storysplit.server
model = load_model("models/default")
assert model.extract("Headline\\nA story paragraph that reads like prose, long enough to keep.")
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("code", [SEGMENT_ONE_PAGE, LOAD_AND_SERVE], ids=["storysplit-segment", "load_model"])
def test_default_inference_imports_no_heavy_library(code: str) -> None:
    modules = _modules_after(code)
    assert "storysplit.numpy_heads" in modules and "features.static_encoder" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_check_sees_a_heavy_import() -> None:
    """The subprocess check is not vacuous: a scikit-learn head (skops) does pull scikit-learn in."""
    modules = _modules_after(
        "import json, sys\nfrom storysplit.artifact import load_skops_head\n"
        "load_skops_head('models/default', 'head')\nprint(json.dumps(sorted(sys.modules)))"
    )
    assert {"skops", "sklearn"} <= {m.split(".")[0] for m in modules}

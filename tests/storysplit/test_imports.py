"""The default model's inference path stays light: no torch, sentence-transformers or scikit-learn.

Those imports cost seconds per process before the first page (docs/speed.md, Start-up); each
check runs in a fresh interpreter, since this test session has imported all of them already.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
SEED = sorted((REPO.parent / "shared" / "seeds").glob("*.txt"))[0]
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "sklearn",
    "mlflow",
    "datasets",
    "train",
    "onnxruntime",
)

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


def _printed_last(code: str, env: dict[str, str] | None = None) -> Any:
    """Run `code` in a fresh interpreter from the checkout; the JSON of its last printed line."""
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def _modules_after(code: str) -> set[str]:
    return set(_printed_last(code))


@pytest.mark.parametrize("code", [SEGMENT_ONE_PAGE, LOAD_AND_SERVE], ids=["storysplit-segment", "load_model"])
def test_default_inference_imports_no_heavy_library(code: str) -> None:
    modules = _modules_after(code)
    assert "storysplit.sequence_head" in modules and "storysplit.features.static_encoder" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_check_sees_a_heavy_import() -> None:
    """The subprocess check is not vacuous: the training labeller does pull torch and scikit-learn in."""
    modules = _modules_after(
        "import json, sys\nimport storysplit.train.sequence\nprint(json.dumps(sorted(sys.modules)))"
    )
    assert {"torch", "sklearn"} <= {m.split(".")[0] for m in modules}


# Imported when present and not needed: numpy.f2py (through scipy) tries charset_normalizer.
OPTIONAL_IMPORTS = {"charset_normalizer"}


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` install, without extras: what `pip install storysplit` brings."""
    seen: set[str] = set()
    todo = [_normal(name) for name in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in needs:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_normal(requirement.name))
    return seen


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_inference_imports_only_what_the_plain_install_brings() -> None:
    """Every library `storysplit segment` imports is a core dependency or one of theirs, not an extra's."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = [Requirement(line).name for line in project["dependencies"]]
    installed = _closure(core)
    assert not {"torch", "sentence-transformers", "scikit-learn"} & installed
    assert {"sentence-transformers"} <= {
        Requirement(r).name for r in project["optional-dependencies"]["transformer"]
    }
    owners = packages_distributions()
    ours = {"storysplit", "features"}
    at_start = _modules_after("import json, sys; print(json.dumps(sorted(sys.modules)))")  # site's hooks
    imported = {m.split(".")[0] for m in _modules_after(SEGMENT_ONE_PAGE) - at_start}
    imported -= set(sys.stdlib_module_names) | ours
    missing = {
        module: owners[module]
        for module in imported - OPTIONAL_IMPORTS
        if module in owners and not {_normal(d) for d in owners[module]} & installed
    }
    assert missing == {}
    assert "numpy" in imported and "tokenizers" in imported  # the check sees third-party imports


SEGMENT_THREADS = f"""
import contextlib, io, json, os, sys
import storysplit.cli
assert "numpy" not in sys.modules  # so the variables below still reach numpy's BLAS
with contextlib.redirect_stdout(io.StringIO()):
    storysplit.cli.main(["segment", {str(SEED)!r}])
print(json.dumps({{name: os.environ.get(name) for name in storysplit.cli.THREAD_VARIABLES}}))
"""


@pytest.mark.parametrize("user_value", [None, "2"])
def test_segment_runs_one_blas_thread_unless_told(user_value: str | None) -> None:
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {name: value for name, value in os.environ.items() if name not in names}
    if user_value:
        env["OPENBLAS_NUM_THREADS"] = user_value
    assert _printed_last(SEGMENT_THREADS, env) == {
        "OPENBLAS_NUM_THREADS": user_value or "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
